/**
 * Accumulators of f16, bf16 and f32 width on the wasm kernels: the products of a layer with an
 * `accumulator` summed with every partial sum rounded to the accumulator's format, by the same
 * float64 operations as `matmulRounded` (layers/_matmul.ts) with the format's own `round`, a
 * correct rounding to nearest even that overflows to infinity: the same sums, faster.
 *
 * @module
 */
import type { Storage } from "../storage/storage.ts";
import type { KernelPath } from "../kernel_path.ts";
import type { MatmulDims } from "../_matmul.ts";
import { heap, requireKernels, withRegions } from "./kernels.ts";

/** A binary format as `matmul_rounded` rounds to it. */
export interface AccumulatorFormat {
  /** Fraction bits of a normal value. */
  fractionBits: number;
  /** Exponent of the smallest normal binade. */
  emin: number;
  /** The largest finite value; past it a sum rounds to infinity. */
  maxFinite: number;
}

/** The accumulators the kernels hold, by the name of their storage. */
const ACCUMULATORS = new Map<string, AccumulatorFormat>([
  ["f16", { fractionBits: 10, emin: -14, maxFinite: 65504 }],
  ["f16-polyfill", { fractionBits: 10, emin: -14, maxFinite: 65504 }],
  ["bf16", { fractionBits: 7, emin: -126, maxFinite: (2 - 2 ** -7) * 2 ** 127 }],
  ["f32", { fractionBits: 23, emin: -126, maxFinite: (2 - 2 ** -23) * 2 ** 127 }],
]);

/**
 * How a layer on kernel path `path` sums with `accumulator` on the kernels, or undefined when
 * it runs the TypeScript code (another path, or an accumulator the kernels do not hold).
 */
export function wasmAccumulator(
  path: KernelPath,
  accumulator: Storage,
): AccumulatorFormat | undefined {
  return path === "wasm" ? ACCUMULATORS.get(accumulator.name) : undefined;
}

/**
 * `out` = `a` · `b` as `matmulRounded(out, a, b, dims, accumulator.round)` computes it, every
 * partial sum rounded to `format`, on the kernels.
 */
export function matmulRoundedWasm(
  out: Float64Array,
  a: Float64Array,
  b: Float64Array,
  dims: MatmulDims,
  format: AccumulatorFormat,
): void {
  const { m, n, k } = dims;
  const [aRow, aDepth] = dims.transA ? [1, m] : [k, 1];
  const [bDepth, bCol] = dims.transB ? [1, k] : [n, 1];
  withRegions((reserve) => {
    const at = reserve(m * n * 8);
    const pa = reserve(m * k * 8);
    const pb = reserve(k * n * 8);
    new Float64Array(heap(), pa, m * k).set(a.subarray(0, m * k));
    new Float64Array(heap(), pb, k * n).set(b.subarray(0, k * n));
    if (dims.accumulate) new Float64Array(heap(), at, m * n).set(out.subarray(0, m * n));
    const { fractionBits, emin, maxFinite } = format;
    requireKernels().matmul_rounded(
      at,
      pa,
      pb,
      m,
      n,
      k,
      aRow,
      aDepth,
      bDepth,
      bCol,
      dims.accumulate ? 1 : 0,
      fractionBits,
      emin,
      maxFinite,
    );
    out.set(new Float64Array(heap(), at, m * n));
  });
}
