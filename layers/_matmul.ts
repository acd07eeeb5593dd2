/**
 * The matrix multiply at the heart of conv and affine, in float64.
 *
 * Both operands are first packed into panels of four rows, each panel laid out depth-major
 * (`panel[d * 4 + r]`), so the kernel reads both with unit stride whatever the transposes.
 * The kernel keeps a 4x4 tile of the output in 16 local variables (registers, once the JIT is
 * done) and walks the shared dimension once per tile: 8 loads for 16 multiply-adds. The B
 * panel (at most 4 x depth doubles, 32 KiB for depth 1024) stays in L1 while every A panel
 * streams past it.
 *
 * @module
 */
import type { Storage } from "./storage/storage.ts";

/** Sizes and layout of one product; see {@linkcode matmul}. */
export interface MatmulDims {
  /** Rows of the output. */
  m: number;
  /** Columns of the output. */
  n: number;
  /** The shared (summed) dimension. */
  k: number;
  /** `a` is stored k x m instead of m x k. */
  transA?: boolean;
  /** `b` is stored n x k instead of k x n. */
  transB?: boolean;
  /** Add to `out` instead of overwriting it. */
  accumulate?: boolean;
}

let packedA = new Float64Array(0);
let packedB = new Float64Array(0);
const tile = new Float64Array(16);

/**
 * `out` (m x n, row-major) = `a` (m x k) · `b` (k x n), or += with `accumulate`.
 * Arithmetic is float64 throughout; every product and sum is rounded to float64 only.
 */
export function matmul(
  out: Float64Array,
  a: Float64Array,
  b: Float64Array,
  dims: MatmulDims,
): void {
  const { m, n, k } = dims;
  const panelsA = Math.ceil(m / 4);
  const panelsB = Math.ceil(n / 4);
  if (packedA.length < panelsA * 4 * k) packedA = new Float64Array(panelsA * 4 * k);
  if (packedB.length < panelsB * 4 * k) packedB = new Float64Array(panelsB * 4 * k);
  // Element (i, d) of A sits at a[i * rowStride + d * depthStride]; likewise B read as n x k.
  if (dims.transA) pack(a, m, k, 1, m, packedA);
  else pack(a, m, k, k, 1, packedA);
  if (dims.transB) pack(b, n, k, k, 1, packedB);
  else pack(b, n, k, 1, n, packedB);
  const pa = packedA;
  const pb = packedB;
  const accumulate = dims.accumulate === true;
  for (let jp = 0; jp < panelsB; jp++) {
    const bStart = jp * 4 * k;
    for (let ip = 0; ip < panelsA; ip++) {
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
      for (let d = 0, ia = ip * 4 * k, ib = bStart; d < k; d++, ia += 4, ib += 4) {
        const a0 = pa[ia], a1 = pa[ia + 1], a2 = pa[ia + 2], a3 = pa[ia + 3];
        const b0 = pb[ib], b1 = pb[ib + 1], b2 = pb[ib + 2], b3 = pb[ib + 3];
        c00 += a0 * b0, c01 += a0 * b1, c02 += a0 * b2, c03 += a0 * b3;
        c10 += a1 * b0, c11 += a1 * b1, c12 += a1 * b2, c13 += a1 * b3;
        c20 += a2 * b0, c21 += a2 * b1, c22 += a2 * b2, c23 += a2 * b3;
        c30 += a3 * b0, c31 += a3 * b1, c32 += a3 * b2, c33 += a3 * b3;
      }
      tile[0] = c00, tile[1] = c01, tile[2] = c02, tile[3] = c03;
      tile[4] = c10, tile[5] = c11, tile[6] = c12, tile[7] = c13;
      tile[8] = c20, tile[9] = c21, tile[10] = c22, tile[11] = c23;
      tile[12] = c30, tile[13] = c31, tile[14] = c32, tile[15] = c33;
      storeTile(out, ip * 4, jp * 4, m, n, accumulate);
    }
  }
}

/** Packs `rows` x `depth` elements into zero-padded panels of four rows. */
function pack(
  src: Float64Array,
  rows: number,
  depth: number,
  rowStride: number,
  depthStride: number,
  dst: Float64Array,
): void {
  const panels = Math.ceil(rows / 4);
  for (let p = 0; p < panels; p++) {
    const base = p * 4 * depth;
    for (let r = 0; r < 4; r++) {
      const row = p * 4 + r;
      if (row >= rows) {
        for (let d = 0; d < depth; d++) dst[base + d * 4 + r] = 0;
        continue;
      }
      // Seek to the row once; then step through its depth.
      let s = row * rowStride;
      for (let d = 0; d < depth; d++, s += depthStride) dst[base + d * 4 + r] = src[s];
    }
  }
}

/** Writes the part of the 4x4 tile at (row0, col0) that lies inside the m x n output. */
function storeTile(
  out: Float64Array,
  row0: number,
  col0: number,
  m: number,
  n: number,
  accumulate: boolean,
): void {
  const rows = Math.min(4, m - row0);
  const cols = Math.min(4, n - col0);
  for (let r = 0; r < rows; r++) {
    const o = (row0 + r) * n + col0;
    for (let c = 0; c < cols; c++) {
      out[o + c] = accumulate ? out[o + c] + tile[r * 4 + c] : tile[r * 4 + c];
    }
  }
}

/**
 * {@linkcode matmul}, or {@linkcode matmulRounded} with `accumulator`'s rounding when one is
 * given: the product a layer with an accumulator option computes.
 */
export function multiply(
  out: Float64Array,
  a: Float64Array,
  b: Float64Array,
  dims: MatmulDims,
  accumulator?: Storage,
): void {
  if (accumulator) matmulRounded(out, a, b, dims, accumulator.round);
  else matmul(out, a, b, dims);
}

/**
 * As {@linkcode matmul}, but every step of every dot product is a multiply-add rounded by
 * `round`: s = round(s + a·b), from s = 0 (or from `out` with `accumulate`). The product of
 * two values of a format up to 26 significant bits is exact in float64, so each step is one
 * fused multiply-add rounded once, as accumulators of that width do. Plain loops: this is the
 * instrument for studying accumulation precision, not a fast path.
 */
export function matmulRounded(
  out: Float64Array,
  a: Float64Array,
  b: Float64Array,
  dims: MatmulDims,
  round: (x: number) => number,
): void {
  const { m, n, k } = dims;
  // Element (i, d) of A and (d, j) of B, whatever the layouts.
  const [aRow, aDepth] = dims.transA ? [1, m] : [k, 1];
  const [bDepth, bCol] = dims.transB ? [1, k] : [n, 1];
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = dims.accumulate ? out[i * n + j] : 0;
      for (let d = 0, ia = i * aRow, ib = j * bCol; d < k; d++, ia += aDepth, ib += bDepth) {
        s = round(s + a[ia] * b[ib]);
      }
      out[i * n + j] = s;
    }
  }
}

/** The rounding of a float64 sum: none. */
export function identity(x: number): number {
  return x;
}
