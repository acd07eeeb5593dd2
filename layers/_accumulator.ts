/**
 * The accumulator of a layer that sums products (conv, affine), checked where a layer or a
 * layer configuration names one.
 *
 * @module
 */
import type { Storage } from "./storage/storage.ts";
import { scaledSchemeOf } from "./storage/scaled.ts";

/**
 * Why `accumulator` cannot round a partial sum, or undefined when it can. A scaled or block
 * format takes its scale from a block or a whole tensor, so a single sum has no rounding of its
 * own (its `round` is its float32 carrier's, which would pass float32 sums off as the format's).
 */
export function accumulatorProblem(accumulator: Storage): string | undefined {
  return scaledSchemeOf(accumulator)
    ? `${accumulator.name} is a scaled format, whose scale comes from a block or a tensor, not ` +
      "from one sum; expected f16, bf16, f32, f64 or a minifloat"
    : undefined;
}

/** `accumulator`, or a RangeError naming `layer` when it cannot round a partial sum. */
export function checkedAccumulator(
  accumulator: Storage | undefined,
  layer: string,
): Storage | undefined {
  const problem = accumulator && accumulatorProblem(accumulator);
  if (problem) throw new RangeError(`Cannot make ${layer}: accumulator ${problem}`);
  return accumulator;
}
