/**
 * Accumulators on the wasm kernels: the products of a layer with an `accumulator` summed with
 * every partial sum rounded to the accumulator's format, by the same float64 operations as
 * `matmulRounded` (layers/_matmul.ts) with the format's own `round`: the same sums, faster. f16,
 * bf16 and f32 round by their parameters (a correct rounding to nearest even that overflows to
 * infinity); every minifloat by its own encoder, which gives the code its `write` gives (see
 * layers/wasm/minifloat_codec.ts), and that code's value; a stochastic one draws one number from
 * its stream for every partial sum, in the reference's order.
 *
 * @module
 */
import type { RoundingStream, Storage } from "../storage/storage.ts";
import type { KernelPath } from "../kernel_path.ts";
import type { MatmulDims } from "../_matmul.ts";
import { heap, requireKernels, withRegions } from "./kernels.ts";
import { minifloatCodec } from "./minifloat_codec.ts";

/**
 * A format as `matmul_rounded` rounds to it: a binary format by its parameters, or a minifloat
 * by its encoder and its values.
 */
export type AccumulatorFormat = BinaryAccumulator | MinifloatAccumulator;

/** A binary format rounded to nearest even, overflowing to infinity. */
interface BinaryAccumulator {
  /** Fraction bits of a normal value. */
  fractionBits: number;
  /** Exponent of the smallest normal binade. */
  emin: number;
  /** The largest finite value; past it a sum rounds to infinity. */
  maxFinite: number;
}

/** A minifloat: its encoder (see kernels.as), every code's value, its stream if stochastic. */
interface MinifloatAccumulator {
  codec: ArrayBuffer;
  values: Float64Array;
  stream?: RoundingStream;
}

/** The accumulators the kernels hold by their parameters, by the name of their storage. */
const ACCUMULATORS = new Map<string, BinaryAccumulator>([
  ["f16", { fractionBits: 10, emin: -14, maxFinite: 65504 }],
  ["f16-polyfill", { fractionBits: 10, emin: -14, maxFinite: 65504 }],
  ["bf16", { fractionBits: 7, emin: -126, maxFinite: (2 - 2 ** -7) * 2 ** 127 }],
  ["f32", { fractionBits: 23, emin: -126, maxFinite: (2 - 2 ** -23) * 2 ** 127 }],
]);

/** Minifloat accumulators met so far, with their tables: built once per storage. A cache. */
const MINIFLOATS = new WeakMap<Storage, AccumulatorFormat | null>();

/**
 * How a layer on kernel path `path` sums with `accumulator` on the kernels, or undefined when
 * it runs the TypeScript code (another path, or an accumulator the kernels do not hold: neither
 * a minifloat nor f16, bf16 or f32).
 */
export function wasmAccumulator(
  path: KernelPath,
  accumulator: Storage,
): AccumulatorFormat | undefined {
  if (path !== "wasm") return undefined;
  const binary = ACCUMULATORS.get(accumulator.name);
  if (binary) return binary;
  let known = MINIFLOATS.get(accumulator);
  if (known === undefined) {
    const codec = minifloatCodec(accumulator);
    const { stream } = accumulator;
    known = codec
      ? {
        codec: codec.encode,
        values: Float64Array.from(codec.decode),
        ...(stream ? { stream } : {}),
      }
      : null;
    MINIFLOATS.set(accumulator, known);
  }
  return known ?? undefined;
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
    // One of the two is given: the kernel reads the other's zeros as "none".
    const binary = "codec" in format ? undefined : format;
    const minifloat = "codec" in format ? placeMinifloat(format, reserve) : undefined;
    const stream = "codec" in format ? format.stream : undefined;
    const random = stream ? reserve(n * k * 4) : 0;
    // Row by row: a stochastic accumulator draws a row's numbers (one per partial sum, in the
    // reference's order) just before it is summed.
    for (let i = 0; i < m; i++) {
      stream?.draw?.(new Uint32Array(heap(), random, n * k));
      requireKernels().matmul_rounded(
        at + i * n * 8,
        pa + i * aRow * 8,
        pb,
        1,
        n,
        k,
        aRow,
        aDepth,
        bDepth,
        bCol,
        dims.accumulate ? 1 : 0,
        binary?.fractionBits ?? 0,
        binary?.emin ?? 0,
        binary?.maxFinite ?? 0,
        minifloat?.codec ?? 0,
        minifloat?.values ?? 0,
        random,
      );
    }
    out.set(new Float64Array(heap(), at, m * n));
  });
}

/** A minifloat accumulator's encoder and values in the memory. */
function placeMinifloat(
  format: { codec: ArrayBuffer; values: Float64Array },
  reserve: (bytes: number) => number,
): { codec: number; values: number } {
  const codec = reserve(format.codec.byteLength);
  const values = reserve(format.values.byteLength);
  new Uint8Array(heap(), codec, format.codec.byteLength).set(new Uint8Array(format.codec));
  new Float64Array(heap(), values, format.values.length).set(format.values);
  return { codec, values };
}
