/**
 * The matrix multiply at the heart of conv and affine, in float64.
 *
 * `out` = A · B with A packed into panels of eight rows, each panel laid out depth-major
 * (`panel[d * 8 + r]`), and B as columns that keep only their non-zero entries. The kernel
 * takes one column of B and one panel of A, keeps the eight sums in local variables
 * (registers, once the JIT is done) and walks the column's non-zero entries once, in order:
 * per entry, one value of B, its depth, and the eight values of A at that depth.
 *
 * Skipping B's zeros skips terms a·0 = ±0, which leave a float64 sum started at +0 unchanged:
 * the result has the same bits as the full dot product, as long as A is finite (∞·0 and NaN·0
 * are NaN, so then nothing is skipped). Activations after ReLU are mostly zeros: in
 * DeepConvNet on MNIST with the book's weights, 74-82 % of the entries of every convolution's
 * patches are zero, and its forward pass takes half the CPU time it took with a dense 4x4 tile
 * of A and B (`deno task perf`). A dense B costs 10 loads per 8 multiply-adds against 8 per 16
 * for that tile; backward passes, whose B is mostly sparse too, did not get slower.
 *
 * @module
 */
import type { Storage } from "./storage/storage.ts";
import type { Scratch } from "./_scratch.ts";

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

/** Rows of A per panel: the kernel's eight sums. */
export const PANEL = 8;

/**
 * The columns of a depth x columns matrix, each keeping its non-zero entries in order:
 * column j keeps `counts[j]`, the i-th at depth `depths[j * depth + i]` with value
 * `values[j * depth + i]`.
 */
export interface SparseColumns {
  /** The kept entries' values. */
  values: Float64Array;
  /** The kept entries' depths. */
  depths: Int32Array;
  /** How many entries each column keeps. */
  counts: Int32Array;
}

/** Columns for `columns` x `depth` in the work arrays `name` of `work`. */
export function sparseColumns(
  work: Scratch,
  name: string,
  columns: number,
  depth: number,
): SparseColumns {
  return {
    values: work.floats(`${name} values`, columns * depth),
    depths: work.indices(`${name} depths`, columns * depth),
    counts: work.indices(`${name} counts`, columns),
  };
}

/** The length of `rows` x `depth` values packed into panels: whole panels, the last padded. */
export function packedLength(rows: number, depth: number): number {
  return Math.ceil(rows / PANEL) * PANEL * depth;
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
  work: Scratch,
): void {
  const { m, n, k } = dims;
  const packedA = work.floats("matmul A", packedLength(m, k));
  const columns = sparseColumns(work, "matmul B", n, k);
  // Element (i, d) of A sits at a[i * rowStride + d * depthStride]; likewise B read as n x k.
  if (dims.transA) packRows(a, m, k, 1, m, packedA);
  else packRows(a, m, k, k, 1, packedA);
  if (dims.transB) packColumns(b, n, k, k, 1, columns, allFinite(a));
  else packColumns(b, n, k, 1, n, columns, allFinite(a));
  multiplySparse(out, packedA, columns, dims);
}

/** Whether every value is finite, which lets the zeros of B be skipped. */
export function allFinite(values: Float64Array): boolean {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return false;
  return true;
}

/**
 * Packs `rows` x `depth` elements into zero-padded panels of eight rows, each laid out
 * depth-major: element (row, d), read from `src[row * rowStride + d * depthStride]`, goes to
 * `dst[floor(row / 8) * 8 * depth + d * 8 + row % 8]`.
 */
export function packRows(
  src: Float64Array,
  rows: number,
  depth: number,
  rowStride: number,
  depthStride: number,
  dst: Float64Array,
): void {
  for (let p = 0; p < Math.ceil(rows / PANEL); p++) {
    const base = p * PANEL * depth;
    for (let r = 0; r < PANEL; r++) {
      const row = p * PANEL + r;
      if (row >= rows) {
        for (let d = 0; d < depth; d++) dst[base + d * PANEL + r] = 0;
        continue;
      }
      // Seek to the row once; then step through its depth.
      let s = row * rowStride;
      for (let d = 0; d < depth; d++, s += depthStride) dst[base + d * PANEL + r] = src[s];
    }
  }
}

/**
 * Packs `columns` x `depth` elements, element (j, d) read from
 * `src[j * columnStride + d * depthStride]`, into `dst`, dropping zeros when `skipZeros`.
 */
export function packColumns(
  src: Float64Array,
  columns: number,
  depth: number,
  columnStride: number,
  depthStride: number,
  dst: SparseColumns,
  skipZeros: boolean,
): void {
  const { values, depths, counts } = dst;
  const keepAll = skipZeros ? 0 : 1;
  for (let j = 0; j < columns; j++) {
    let kept = j * depth;
    for (let d = 0, s = j * columnStride; d < depth; d++, s += depthStride) {
      // Written always, kept unless zero: no branch to mispredict on random zeros.
      values[kept] = src[s];
      depths[kept] = d;
      kept += Number(src[s] !== 0) | keepAll;
    }
    counts[j] = kept - j * depth;
  }
}

/**
 * `out` (m x n) = A · B, or += with `accumulate`, from A's m rows packed by
 * {@linkcode packRows} and B's n columns: the product {@linkcode matmul} computes, for callers
 * that pack an operand once for many products or write it packed to begin with.
 */
export function multiplySparse(
  out: Float64Array,
  pa: Float64Array,
  b: SparseColumns,
  dims: MatmulDims,
): void {
  const { m, n, k } = dims;
  const { values, depths, counts } = b;
  const accumulate = dims.accumulate === true;
  for (let j = 0; j < n; j++) {
    const end = j * k + counts[j];
    for (let p = 0; p < Math.ceil(m / PANEL); p++) {
      const panel = p * PANEL * k;
      let c0 = 0, c1 = 0, c2 = 0, c3 = 0, c4 = 0, c5 = 0, c6 = 0, c7 = 0;
      for (let t = j * k; t < end; t++) {
        const v = values[t];
        const ia = panel + depths[t] * 8; // the panel's eight values at this entry's depth
        c0 += pa[ia] * v, c1 += pa[ia + 1] * v, c2 += pa[ia + 2] * v, c3 += pa[ia + 3] * v;
        c4 += pa[ia + 4] * v, c5 += pa[ia + 5] * v, c6 += pa[ia + 6] * v, c7 += pa[ia + 7] * v;
      }
      sums[0] = c0, sums[1] = c1, sums[2] = c2, sums[3] = c3;
      sums[4] = c4, sums[5] = c5, sums[6] = c6, sums[7] = c7;
      // Rows past m are the panel's zero padding: not stored.
      for (let r = 0, i = p * PANEL; r < PANEL && i < m; r++, i++) {
        out[i * n + j] = accumulate ? out[i * n + j] + sums[r] : sums[r];
      }
    }
  }
}

const sums = new Float64Array(PANEL);

/**
 * {@linkcode matmul}, or {@linkcode matmulRounded} with `accumulator`'s rounding when one is
 * given: the product a layer with an accumulator option computes.
 */
export function multiply(
  out: Float64Array,
  a: Float64Array,
  b: Float64Array,
  dims: MatmulDims,
  work: Scratch,
  accumulator?: Storage,
): void {
  if (accumulator) matmulRounded(out, a, b, dims, accumulator.round);
  else matmul(out, a, b, dims, work);
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
