/**
 * The tables through which the GEMM kernels read B (see layers/wasm/kernels.as): element (d, j)
 * of B is at a byte offset of `rows[d] + columns[j]` from B's base, so that one pair of tables
 * describes a row-major matrix, a padded image read as its own im2col matrix, or images stored
 * channels-last.
 *
 * @module
 */

/** Row and column tables of one product. */
export interface GemmTables {
  /** Byte offset of each row of B (each depth step). */
  rows: Int32Array;
  /** Byte offset of each column of B (each column of C). */
  columns: Int32Array;
}

/**
 * Tables for a row-major B (`depth` x `columns`, row stride `ldb` elements of `bytes` each):
 * the weights of affine, the im2col matrix of conv.
 */
export function rowMajorTables(
  depth: number,
  columns: number,
  ldb: number,
  bytes: number,
): GemmTables {
  return {
    rows: Int32Array.from({ length: depth }, (_, d) => d * ldb * bytes),
    columns: Int32Array.from({ length: columns }, (_, j) => j * bytes),
  };
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
 * the image shifted by c*hp*wp + ky*wp + kx elements, and output (oy, ox) starts at input
 * (oy, ox).
 */
export function convTables(conv: PaddedConv, bytes: number): GemmTables {
  const { channels, hp, wp, kh, kw, oh, ow } = conv;
  const rows = new Int32Array(channels * kh * kw);
  let d = 0;
  for (let c = 0; c < channels; c++) {
    for (let ky = 0; ky < kh; ky++) {
      for (let kx = 0; kx < kw; kx++) rows[d++] = ((c * hp + ky) * wp + kx) * bytes;
    }
  }
  const columns = new Int32Array(oh * ow);
  for (let oy = 0, j = 0; oy < oh; oy++) {
    for (let ox = 0; ox < ow; ox++) columns[j++] = (oy * wp + ox) * bytes;
  }
  return { rows, columns };
}

/**
 * Tables for a convolution's weight gradient over `images` images at once, dW (outC, kh, kw,
 * C) = dy (outC, images·P) · B (images·P, kh·kw·C), with B read from the padded images stored
 * channels-last one after the other (images x hp x wp x C): row (i, oy, ox) of B starts at
 * pixel (oy·sh, ox·sw) of image i, and for kernel row ky the taps (kx, c) are kw·C consecutive
 * elements from there.
 */
export function channelsLastTables(
  conv: PaddedConv,
  options: { sh: number; sw: number; images: number },
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
  const columns = new Int32Array(kh * run);
  for (let ky = 0, j = 0; ky < kh; ky++) {
    for (let t = 0; t < run; t++) columns[j++] = (ky * wp * channels + t) * bytes;
  }
  return { rows, columns };
}
