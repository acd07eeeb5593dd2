/**
 * IDX files (the format MNIST ships in), usually gzipped: a big-endian magic number
 * `0x000008NN` (unsigned bytes, NN dimensions), one big-endian 32-bit size per dimension, then
 * the bytes.
 *
 * @example Unzip and read an IDX file
 * ```ts
 * import { gunzip, parseIdx } from "@halfprec/halfprec/data";
 * import assert from "node:assert/strict";
 *
 * const idx = new Uint8Array([0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 1]);
 * const zipped = new Blob([idx]).stream().pipeThrough(new CompressionStream("gzip"));
 * const gz = new Uint8Array(await new Response(zipped).arrayBuffer());
 * const { shape, data } = parseIdx(await gunzip(gz, "labels.gz"), "labels.gz");
 * assert.deepEqual(shape, [3]);
 * assert.deepEqual([...data], [7, 2, 1]);
 * ```
 *
 * @module
 */
import { Gunzip } from "fflate";
import { DataError } from "./data_error.ts";
import { escapeText } from "./_quote.ts";

/**
 * The contents of an IDX file of unsigned bytes.
 *
 * @example
 * ```ts
 * import type { IdxData } from "@halfprec/halfprec/data";
 * import assert from "node:assert/strict";
 * const labels: IdxData = { shape: [2], data: new Uint8Array([5, 0]) };
 * assert.equal(labels.data.length, labels.shape[0]);
 * ```
 */
export interface IdxData {
  /** The size of each dimension, outermost first. */
  shape: number[];
  /** The elements in row-major order. */
  data: Uint8Array;
}

/** The IDX data type code for unsigned bytes, the only one MNIST uses. */
const UNSIGNED_BYTE = 0x08;

/** Options of {@linkcode gunzip}. */
export interface GunzipOptions {
  /**
   * The most bytes the output may hold: decompression stops there with a `DataError`, so a
   * small file that inflates to gigabytes (a "gzip bomb") costs no more than this.
   * @default {Infinity}
   */
  maxBytes?: number;
}

/**
 * The bytes of the gzip file `bytes`, decompressed by the platform's `DecompressionStream`
 * (which checks each member's CRC and length). A file of several members, as `cat a.gz b.gz`
 * makes and gzip itself reads, gives their contents one after the other.
 *
 * @param bytes A gzip file.
 * @param source The file name or path, for error messages.
 * @param options `maxBytes`: the longest output accepted.
 * @returns The decompressed bytes.
 * @throws {DataError} When `bytes` is not complete, valid gzip data, or inflates past
 * `maxBytes`.
 *
 * @example
 * ```ts
 * import { DataError, gunzip } from "@halfprec/halfprec/data";
 * import assert from "node:assert/strict";
 * await assert.rejects(gunzip(new Uint8Array([1, 2, 3]), "x.gz"), DataError);
 * ```
 */
export async function gunzip(
  bytes: Uint8Array,
  source: string,
  options?: GunzipOptions,
): Promise<Uint8Array> {
  const maxBytes = options?.maxBytes ?? Infinity;
  try {
    return await inflate(bytes, source, maxBytes);
  } catch (error) {
    if (error instanceof DataError) throw error;
    // The platform stops at the end of the first member; find the others and read each.
    const members = memberOffsets(bytes);
    if (members.length < 2) throw notGzip(source, error);
    const parts: Uint8Array[] = [];
    let length = 0;
    for (const [i, start] of members.entries()) {
      const member = bytes.subarray(start, members[i + 1] ?? bytes.length);
      const part = await inflate(member, source, maxBytes - length).catch((e) => {
        throw e instanceof DataError ? e : notGzip(source, e);
      });
      parts.push(part);
      length += part.length;
    }
    return concat(parts, length);
  }
}

/**
 * The first `count` decompressed bytes of the gzip file `bytes` (fewer when it holds fewer),
 * decompressing no further: enough to read a header before deciding how much to accept.
 */
async function gunzipHead(bytes: Uint8Array, source: string, count: number): Promise<Uint8Array> {
  try {
    return (await inflate(bytes, source, Infinity, count)).subarray(0, count);
  } catch (error) {
    if (error instanceof DataError) throw error;
    // A head is enough: a later member cannot change it, only the first one's bytes.
    const members = memberOffsets(bytes);
    if (members.length < 2) throw notGzip(source, error);
    return (await gunzip(bytes, source, {})).subarray(0, count);
  }
}

/** The decompressed stream, read chunk by chunk and stopped past `maxBytes` or at `stopAt`. */
async function inflate(
  bytes: Uint8Array,
  source: string,
  maxBytes: number,
  stopAt = Infinity,
): Promise<Uint8Array> {
  const reader = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(new DecompressionStream("gzip")).getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
    chunks.push(chunk.value);
    length += chunk.value.length;
    if (length > maxBytes) {
      await reader.cancel();
      throw new DataError(source, {
        field: "gzip stream",
        expected: `at most ${maxBytes} bytes once decompressed`,
        found: "more",
      });
    }
    if (length >= stopAt) {
      await reader.cancel();
      break;
    }
  }
  return concat(chunks, length);
}

/**
 * Where each member of a gzip file begins, found by inflating it with fflate, which reads
 * past the end of the first member (it checks no CRC: the platform does that afterwards).
 */
function memberOffsets(bytes: Uint8Array): number[] {
  // fflate reports the members after the first.
  const offsets: number[] = [0];
  const stream = new Gunzip(() => {});
  stream.onmember = (offset) => void offsets.push(offset);
  try {
    stream.push(bytes, true);
  } catch {
    return [0];
  }
  return offsets;
}

function notGzip(source: string, error: unknown): DataError {
  return new DataError(source, {
    field: "gzip stream",
    expected: "valid gzip data",
    found: `data that does not decompress (${escapeText((error as Error).message)})`,
  }, { cause: error });
}

function concat(chunks: Uint8Array[], length: number): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  const whole = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) whole.set(chunk, at), at += chunk.length;
  return whole;
}

/** Deflate's best ratio is 1032:1, so no gzip file inflates to more than this many bytes. */
function mostFrom(compressed: number): number {
  return 1032 * compressed + 1024;
}

/**
 * The IDX file in the gzip file `bytes`, decompressed no further than its header promises:
 * the header is read first, a promise larger than the compressed size can hold is refused,
 * and output past the promised size is refused without being decompressed.
 *
 * @param bytes A gzipped IDX file.
 * @param source The file name or path, for error messages.
 * @returns The shape and the elements.
 * @throws {DataError} As {@linkcode gunzip} and {@linkcode parseIdx}, and when the header
 * promises more bytes than the file can hold.
 *
 * @example
 * ```ts
 * import { gunzipIdx } from "@halfprec/halfprec/data";
 * import assert from "node:assert/strict";
 *
 * const idx = new Uint8Array([0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 1]);
 * const zipped = new Blob([idx]).stream().pipeThrough(new CompressionStream("gzip"));
 * const gz = new Uint8Array(await new Response(zipped).arrayBuffer());
 * assert.deepEqual((await gunzipIdx(gz, "labels.gz")).shape, [3]);
 * ```
 */
export async function gunzipIdx(bytes: Uint8Array, source: string): Promise<IdxData> {
  const head = await gunzipHead(bytes, source, 4 + 4 * 255);
  const dimensions = head.length >= 4 ? head[3] : 0;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const sizes = Array.from(
    { length: Math.min(dimensions, Math.max(0, Math.floor((head.length - 4) / 4))) },
    (_, i) => view.getUint32(4 + 4 * i),
  );
  const promised = 4 + 4 * dimensions + sizes.reduce((a, b) => a * b, 1);
  if (promised > mostFrom(bytes.length)) {
    throw new DataError(source, {
      field: "dimensions",
      expected: `at most ${
        mostFrom(bytes.length)
      } bytes, what ${bytes.length} gzipped bytes can hold`,
      found: `[${sizes.join(", ")}], ${promised} bytes`,
    });
  }
  return parseIdx(await gunzip(bytes, source, { maxBytes: promised }), source);
}

/**
 * The shape and elements of the (already decompressed) unsigned-byte IDX file `bytes`.
 *
 * @param bytes The whole file, not gzipped.
 * @param source The file name or path, for error messages.
 * @returns The shape and the elements; `data` is a view into `bytes`, not a copy.
 * @throws {DataError} When the magic number is wrong, the elements are not unsigned bytes, or the
 * file is shorter or longer than its dimensions say.
 *
 * @example
 * ```ts
 * import { DataError, parseIdx } from "@halfprec/halfprec/data";
 * import assert from "node:assert/strict";
 *
 * const file = new Uint8Array([0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 1, 10, 20]);
 * assert.deepEqual(parseIdx(file, "x.idx").shape, [2, 1]);
 * assert.throws(() => parseIdx(file.subarray(0, 13), "x.idx"), DataError);
 * ```
 */
export function parseIdx(bytes: Uint8Array, source: string): IdxData {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 4 || view.getUint16(0) !== 0) {
    throw new DataError(source, {
      field: "magic number",
      expected: "0x000008NN (NN the number of dimensions)",
      found: bytes.length < 4 ? `a ${bytes.length}-byte file` : hex(view.getUint32(0), 8),
    });
  }
  if (bytes[2] !== UNSIGNED_BYTE) {
    throw new DataError(source, {
      field: "data type code",
      expected: `${hex(UNSIGNED_BYTE, 2)} (unsigned byte)`,
      found: hex(bytes[2], 2),
    });
  }
  const dataStart = 4 + 4 * bytes[3];
  if (bytes.length < dataStart) {
    throw new DataError(source, {
      field: "dimensions",
      expected: `${bytes[3]} sizes of 4 bytes`,
      found: `${bytes.length - 4} bytes`,
    });
  }
  const shape = Array.from({ length: bytes[3] }, (_, i) => view.getUint32(4 + 4 * i));
  const size = shape.reduce((a, b) => a * b, 1);
  if (bytes.length - dataStart !== size) {
    throw new DataError(source, {
      field: "data",
      expected: `${size} bytes from the dimensions [${shape.join(", ")}]`,
      found: `${bytes.length - dataStart} bytes`,
    });
  }
  return { shape, data: bytes.subarray(dataStart) };
}

function hex(n: number, digits: number): string {
  return `0x${n.toString(16).padStart(digits, "0")}`;
}
