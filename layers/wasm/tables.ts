/**
 * The tables through which the GEMM kernels read B (see layers/wasm/kernels.as): a byte offset
 * per row of B (`rows`), and per strip of output columns two halves of one vector each, every
 * half with its base offset in bytes, its first column in C and its column count (`strips`,
 * six numbers each).
 *
 * @module
 */

/** Row and strip tables of one product. */
export interface GemmTables {
  /** Byte offset of each row of B (each depth step) from a half's base. */
  rows: Int32Array;
  /** Per strip, for each of its two halves: base byte offset, first column of C, count. */
  strips: Int32Array;
}

/** One half of a strip: where its B columns start (bytes), its first column of C, its count. */
type Half = [base: number, column: number, count: number];

/**
 * Pairs consecutive halves into strips; an odd last half gets an empty partner reading its
 * own base (the kernel always loads both).
 */
function pairHalves(halves: readonly Half[]): Int32Array {
  const strips = new Int32Array(Math.ceil(halves.length / 2) * 6);
  for (let h = 0; h < halves.length; h += 2) {
    const first = halves[h];
    strips.set([...first, ...(halves[h + 1] ?? [first[0], first[1], 0])], h * 3);
  }
  return strips;
}

/**
 * Tables for a row-major B (`depth` x `columns`, row stride `ldb` elements of `bytes` each) in
 * halves of `half` columns: the weights of affine, the im2col matrix of conv.
 */
export function rowMajorTables(
  depth: number,
  columns: number,
  ldb: number,
  half: number,
  bytes: number,
): GemmTables {
  const rows = Int32Array.from({ length: depth }, (_, d) => d * ldb * bytes);
  const halves: Half[] = [];
  for (let col = 0; col < columns; col += half) {
    halves.push([col * bytes, col, Math.min(half, columns - col)]);
  }
  return { rows, strips: pairHalves(halves) };
}

/** The shape of a stride-1 convolution over an image padded to `hp` x `wp`. */
export interface PaddedConv {
  /** Input channels. */
  channels: number;
  /** Padded height. */
  hp: number;
  /** Padded width. */
  wp: number;
  /** Kernel height and width. */
  kh: number;
  kw: number;
  /** Output height. */
  oh: number;
  /** Output width. */
  ow: number;
}

/**
 * Tables for a stride-1 convolution read straight from the padded image: tap (c, ky, kx) is
 * the image shifted by c*hp*wp + ky*wp + kx elements, and a half covers up to `half` outputs
 * of one output row, starting at input (oy, ox0). Halves pair across output rows, so no lane
 * is wasted when a row's width is a multiple of `half`.
 */
export function convTables(conv: PaddedConv, half: number, bytes: number): GemmTables {
  const { channels, hp, wp, kh, kw, oh, ow } = conv;
  const rows = new Int32Array(channels * kh * kw);
  let d = 0;
  for (let c = 0; c < channels; c++) {
    for (let ky = 0; ky < kh; ky++) {
      for (let kx = 0; kx < kw; kx++) rows[d++] = ((c * hp + ky) * wp + kx) * bytes;
    }
  }
  const halves: Half[] = [];
  for (let oy = 0; oy < oh; oy++) {
    for (let ox = 0; ox < ow; ox += half) {
      halves.push([(oy * wp + ox) * bytes, oy * ow + ox, Math.min(half, ow - ox)]);
    }
  }
  return { rows, strips: pairHalves(halves) };
}

/**
 * Tables for a convolution's weight gradient over `images` images at once, dW (outC, kh, kw,
 * C) = dy (outC, images·P) · B (images·P, kh·kw·C), with B read from the padded images stored
 * channels-last one after the other (images x hp x wp x C): row (i, oy, ox) of B starts at
 * pixel (oy·sh, ox·sw) of image i. For one kernel row ky, the taps (kx, c) are kw·C consecutive
 * elements there, so halves cover up to `half` of them, even across pixels (a 3x3 kernel over
 * one channel takes 3 halves, not 9).
 */
export function channelsLastTables(
  conv: PaddedConv,
  options: { sh: number; sw: number; images: number },
  half: number,
  bytes: number,
): GemmTables {
  const { channels, hp, wp, kh, kw, oh, ow } = conv;
  const { sh, sw, images } = options;
  const rows = new Int32Array(images * oh * ow);
  for (let i = 0, d = 0; i < images; i++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++, d++) {
        rows[d] = (i * hp * wp + oy * sh * wp + ox * sw) * channels * bytes;
      }
    }
  }
  const run = kw * channels;
  const halves: Half[] = [];
  for (let ky = 0; ky < kh; ky++) {
    for (let j = 0; j < run; j += half) {
      halves.push([(ky * wp * channels + j) * bytes, ky * run + j, Math.min(half, run - j)]);
    }
  }
  return { rows, strips: pairHalves(halves) };
}
