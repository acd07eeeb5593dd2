/**
 * Range counters: how many values of a tensor a format cannot hold as they are — overflow,
 * underflow to zero, or landing among the subnormals — predicted from float64 values, or
 * observed in values a run actually stored.
 *
 * @module
 */
import type { Storage } from "../layers/storage/storage.ts";
import { ulp } from "./metrics.ts";

/** Counts of the values that leave a format's normal range. */
export interface RangeCounts {
  /** Values counted. */
  total: number;
  /** Finite values that became ±Infinity or NaN, or were clipped to the largest finite value. */
  overflow: number;
  /** Nonzero values below the smallest normal that became zero. */
  underflow: number;
  /** Nonzero values held as subnormals (below the smallest normal, above zero). */
  subnormal: number;
}

/** The float64 range of a tensor: what a format must cover. */
export interface ValueRange {
  /** Smallest nonzero magnitude (Infinity when every value is zero). */
  minNonzero: number;
  /** Largest magnitude. */
  maxAbs: number;
}

/**
 * What storing the float64 `values` in `format` would do, predicted from the format's
 * thresholds without running anything in it.
 *
 * @example
 * ```ts
 * import { f16 } from "@halfprec/halfprec";
 * import { predictRange } from "@halfprec/halfprec/analysis";
 * import assert from "node:assert/strict";
 * const counts = predictRange(new Float64Array([1, 1e5, 1e-9, 1e-6, 0]), f16);
 * assert.deepEqual(counts, { total: 5, overflow: 1, underflow: 1, subnormal: 1 });
 * ```
 */
export function predictRange(values: Float64Array, format: Storage): RangeCounts {
  // A stream's draws are observable (a later rounding takes the next one): round every value.
  if (format.stream) return observeRange(values, values.map(format.round), format);
  // A deterministic rounding is monotone and keeps the format's own values, minNormal and
  // maxFinite / 2 among them: a magnitude between the two stays between them, so it cannot
  // overflow, underflow or land among the subnormals, and zero stays zero. Only the rest need
  // rounding.
  const { minNormal, maxFinite } = format.limits;
  const safe = maxFinite / 2;
  const edges: number[] = [];
  // Indexed loops: `for…of` over a typed array runs several times slower (Deno 2.9).
  for (let i = 0; i < values.length; i++) {
    const a = Math.abs(values[i]);
    if (a !== 0 && !(a >= minNormal && a <= safe)) edges.push(values[i]);
  }
  const reference = Float64Array.from(edges);
  return { ...observeRange(reference, reference.map(format.round), format), total: values.length };
}

/**
 * What a run that stored `stored` in `format` did to values whose float64 reference is
 * `reference` (same length): in a real network the two come from the float64 run and the run
 * in the format, so errors carried from earlier layers count too.
 *
 * @example
 * ```ts
 * import { f16 } from "@halfprec/halfprec";
 * import { observeRange } from "@halfprec/halfprec/analysis";
 * import assert from "node:assert/strict";
 * const counts = observeRange(new Float64Array([1e5, 1e-6]), new Float64Array([Infinity, 0]), f16);
 * assert.deepEqual(counts, { total: 2, overflow: 1, underflow: 1, subnormal: 0 });
 * ```
 */
export function observeRange(
  reference: Float64Array,
  stored: Float64Array,
  format: Storage,
): RangeCounts {
  const { minNormal, maxFinite } = format.limits;
  // A value rounded to the largest finite one by more than half its spacing was clipped.
  const clipped = ulp(format, maxFinite) / 2;
  const counts: RangeCounts = { total: reference.length, overflow: 0, underflow: 0, subnormal: 0 };
  for (let i = 0; i < reference.length; i++) {
    const r = reference[i], s = stored[i];
    if (!Number.isFinite(r)) continue;
    if (!Number.isFinite(s) || (Math.abs(s) === maxFinite && Math.abs(r - s) > clipped)) {
      counts.overflow++;
    } else if (s === 0 && r !== 0 && Math.abs(r) < minNormal) {
      // A larger value that became 0 was not too small for the format: a ReLU input that
      // changed sign. Only small ones count as underflow.
      counts.underflow++;
    } else if (s !== 0 && Math.abs(s) < minNormal) counts.subnormal++;
  }
  return counts;
}

/**
 * The smallest nonzero and the largest magnitude among `values`.
 *
 * @example
 * ```ts
 * import { valueRange } from "@halfprec/halfprec/analysis";
 * import assert from "node:assert/strict";
 * assert.deepEqual(valueRange(new Float64Array([0, -3, 0.5])), { minNonzero: 0.5, maxAbs: 3 });
 * ```
 */
export function valueRange(values: Float64Array): ValueRange {
  let minNonzero = Infinity, maxAbs = 0;
  for (let i = 0; i < values.length; i++) {
    const a = Math.abs(values[i]);
    if (a > maxAbs) maxAbs = a;
    if (a !== 0 && a < minNonzero) minNonzero = a;
  }
  return { minNonzero, maxAbs };
}

/**
 * The counts of several tensors together.
 *
 * @example
 * ```ts
 * import { sumRanges } from "@halfprec/halfprec/analysis";
 * import assert from "node:assert/strict";
 * const a = { total: 5, overflow: 1, underflow: 0, subnormal: 2 };
 * assert.deepEqual(sumRanges([a, a]), { total: 10, overflow: 2, underflow: 0, subnormal: 4 });
 * ```
 */
export function sumRanges(counts: readonly RangeCounts[]): RangeCounts {
  const sum: RangeCounts = { total: 0, overflow: 0, underflow: 0, subnormal: 0 };
  for (const c of counts) {
    sum.total += c.total;
    sum.overflow += c.overflow;
    sum.underflow += c.underflow;
    sum.subnormal += c.subnormal;
  }
  return sum;
}
