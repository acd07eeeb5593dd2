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
 * B's panels keep only the depths where one of their four columns is non-zero: the other
 * depths add a·0 = ±0 to every sum of the tile, which leaves a float64 sum started at +0
 * unchanged, so skipping them gives the same bits, as long as A is finite (∞·0 and NaN·0 are
 * NaN). Activations after ReLU are mostly zeros: in DeepConvNet on MNIST, 45-70 % of the
 * depths of a convolution's patch panels are all zero.
 *
 * @module
 */
import type { Storage } from "./storage/storage.ts";
import { scratch, scratchIndices } from "./_scratch.ts";

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

/**
 * A rows x depth matrix in panels of four rows. Panel p keeps `counts[p]` of its depths, in
 * order: the i-th has index `depths[p * depth + i]` and its four values (rows 4p to 4p + 3;
 * past the last row, anything: the product discards those) at `values[p * 4 * depth + i * 4]`.
 */
export interface Panels {
  /** The kept depths' values, four per depth. */
  values: Float64Array;
  /** The kept depths' indices. */
  depths: Int32Array;
  /** How many depths each panel keeps. */
  counts: Int32Array;
}

/** Panels for `rows` x `depth` in the work arrays `name` (see `scratch`), contents undefined. */
export function panels(name: string, rows: number, depth: number): Panels {
  const count = Math.ceil(rows / 4);
  return {
    values: scratch(`${name} values`, count * 4 * depth),
    depths: scratchIndices(`${name} depths`, count * depth),
    counts: scratchIndices(`${name} counts`, count),
  };
}

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
  const packedA = panels("matmul A", m, k);
  const packedB = panels("matmul B", n, k);
  // Element (i, d) of A sits at a[i * rowStride + d * depthStride]; likewise B read as n x k.
  if (dims.transA) pack(a, m, k, 1, m, packedA, false);
  else pack(a, m, k, k, 1, packedA, false);
  if (dims.transB) pack(b, n, k, k, 1, packedB, allFinite(a));
  else pack(b, n, k, 1, n, packedB, allFinite(a));
  multiplyPanels(out, packedA.values, packedB, dims);
}

/** Whether every value is finite, which lets B's zero depths be skipped. */
export function allFinite(values: Float64Array): boolean {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return false;
  return true;
}

/**
 * Packs `rows` x `depth` elements into `dst`; element (row, d) is read from
 * `src[row * rowStride + d * depthStride]`. With `skipZeros`, a panel drops the depths where
 * its four rows are all zero.
 */
export function pack(
  src: Float64Array,
  rows: number,
  depth: number,
  rowStride: number,
  depthStride: number,
  dst: Panels,
  skipZeros: boolean,
): void {
  const { values, depths, counts } = dst;
  const quad = [0, 0, 0, 0];
  for (let p = 0; p < Math.ceil(rows / 4); p++) {
    let kept = 0;
    for (let d = 0; d < depth; d++) {
      for (let r = 0; r < 4; r++) {
        const row = p * 4 + r;
        quad[r] = row < rows ? src[row * rowStride + d * depthStride] : 0;
      }
      if (skipZeros && quad[0] === 0 && quad[1] === 0 && quad[2] === 0 && quad[3] === 0) continue;
      const at = p * 4 * depth + kept * 4;
      values[at] = quad[0], values[at + 1] = quad[1];
      values[at + 2] = quad[2], values[at + 3] = quad[3];
      depths[p * depth + kept++] = d;
    }
    counts[p] = kept;
  }
}

/**
 * `out` (m x n) = A · B, or += with `accumulate`, from A's m rows packed in full (the values of
 * {@linkcode Panels} that keep every depth) and B's n columns as panels: the product
 * {@linkcode matmul} computes, for callers that pack an operand once for many products or
 * write it in panels to begin with.
 */
export function multiplyPanels(
  out: Float64Array,
  pa: Float64Array,
  b: Panels,
  dims: MatmulDims,
): void {
  const { m, n, k } = dims;
  const { values: pb, depths, counts } = b;
  const accumulate = dims.accumulate === true;
  for (let jp = 0; jp < Math.ceil(n / 4); jp++) {
    const end = jp * k + counts[jp];
    for (let ip = 0; ip < Math.ceil(m / 4); ip++) {
      const aStart = ip * 4 * k;
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
      for (let t = jp * k, ib = jp * 4 * k; t < end; t++, ib += 4) {
        const ia = aStart + depths[t] * 4; // A's panel at B's t-th kept depth
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

const tile = new Float64Array(16);

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
