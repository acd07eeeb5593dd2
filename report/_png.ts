/**
 * Greyscale and RGB images as PNG data URLs, so that a report shows thumbnails without a canvas
 * or a network. The pixels are few (thumbnails of small images), so the image data is stored
 * uncompressed (deflate "stored" blocks): a PNG any browser opens, with no compressor needed.
 *
 * @module
 */
import { toBase64 } from "./_base64.ts";

const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/**
 * A `data:image/png` URL of a `width` x `height` 8-bit image, row by row: one byte per pixel
 * (`channels` 1, greyscale) or three (`channels` 3, RGB, interleaved).
 */
export function pngDataUrl(
  pixels: Uint8Array,
  width: number,
  height: number,
  channels: 1 | 3 = 1,
): string {
  const row = width * channels;
  if (pixels.length !== row * height) {
    throw new RangeError(
      `Cannot encode a PNG: ${pixels.length} bytes, expected ${width}x${height}x${channels} = ${
        row * height
      }`,
    );
  }
  // Each row is prefixed by its filter type, 0 (none).
  const raw = new Uint8Array(height * (row + 1));
  for (let y = 0; y < height; y++) {
    raw.set(pixels.subarray(y * row, (y + 1) * row), y * (row + 1) + 1);
  }
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  // 8-bit depth, greyscale (0) or RGB (2), deflate, adaptive filter, no interlace.
  header.set([8, channels === 3 ? 2 : 0, 0, 0, 0], 8);
  const png = concat([
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", zlibStored(raw)),
    chunk("IEND", new Uint8Array()),
  ]);
  return `data:image/png;base64,${toBase64(png)}`;
}

/** A zlib stream of `data` in stored (uncompressed) deflate blocks of at most 65,535 bytes. */
function zlibStored(data: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [new Uint8Array([0x78, 0x01])];
  for (let start = 0; start < data.length || start === 0; start += 0xffff) {
    const block = data.subarray(start, start + 0xffff);
    const last = start + 0xffff >= data.length ? 1 : 0;
    const head = new Uint8Array([last, block.length & 0xff, block.length >> 8, 0, 0]);
    head[3] = ~head[1] & 0xff;
    head[4] = ~head[2] & 0xff;
    parts.push(head, block);
  }
  let a = 1, b = 0;
  for (const byte of data) {
    a = (a + byte) % 65521;
    b = (b + a) % 65521;
  }
  parts.push(bigEndian((b << 16 | a) >>> 0));
  return concat(parts);
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const typed = concat([new TextEncoder().encode(type), data]);
  let crc = 0xffffffff;
  for (const byte of typed) crc = CRC_TABLE[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  return concat([bigEndian(data.length), typed, bigEndian((crc ^ 0xffffffff) >>> 0)]);
}

function bigEndian(n: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, n);
  return bytes;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
