/**
 * How far a tensor computed in a narrow format is from its float64 reference.
 *
 * @module
 */
import type { Storage } from "../layers/storage/storage.ts";
import { ErrorSums } from "./_error_sums.ts";
import { floorLog2, pow2 } from "../layers/storage/_log2.ts";

/** Error of a candidate tensor against its reference, element by element. */
export interface ErrorMetrics {
  /** Largest absolute difference. */
  maxAbs: number;
  /** ‖candidate − reference‖₂ / ‖reference‖₂ (0 when both are zero). */
  relL2: number;
  /** Signal-to-quantisation-noise ratio, 10·log10(‖reference‖² / ‖candidate − reference‖²), in dB; Infinity when exact. */
  sqnrDb: number;
  /** Cosine of the angle between candidate and reference (1 when both are zero). */
  cosine: number;
  /**
   * Largest difference in units in the last place of `format` at the reference value: 0.5 is
   * one correct rounding, more means error carried in from earlier. Elements whose reference is
   * exactly 0 are left out (any error there is infinitely many ulps of nothing; `maxAbs` shows
   * it).
   */
  maxUlp: number;
}

/**
 * The spacing of `format`'s values at `x`: 2^(e − (p − 1)) for |x| in [2^e, 2^(e+1)), the
 * subnormal spacing below the smallest normal, the spacing at the largest finite value above it.
 *
 * @example
 * ```ts
 * import { bf16, f16 } from "@halfprec/halfprec";
 * import { ulp } from "@halfprec/halfprec/analysis";
 * import assert from "node:assert/strict";
 * assert.equal(ulp(f16, 1), 2 ** -10);
 * assert.equal(ulp(f16, 0), 2 ** -24);
 * assert.equal(ulp(bf16, 3), 2 ** -6);
 * ```
 */
export function ulp(format: Storage, x: number): number {
  const { significandBits, minNormal, maxFinite } = format.limits;
  const magnitude = Math.min(Math.max(Math.abs(x), minNormal), maxFinite);
  return pow2(floorLog2(magnitude) - (significandBits - 1));
}

/**
 * The error metrics of `candidate` against `reference` (same length), with ulps counted in
 * `format`.
 *
 * @example
 * ```ts
 * import { f16 } from "@halfprec/halfprec";
 * import { errorMetrics } from "@halfprec/halfprec/analysis";
 * import assert from "node:assert/strict";
 * const m = errorMetrics(new Float64Array([1, 2]), new Float64Array([1, 2 + 2 ** -9]), f16);
 * assert.equal(m.maxAbs, 2 ** -9);
 * assert.equal(m.maxUlp, 1); // the spacing at 2 is 2^-9
 * assert.ok(m.cosine > 0.999999 && m.sqnrDb > 60);
 * ```
 */
export function errorMetrics(
  reference: Float64Array,
  candidate: Float64Array,
  format: Storage,
): ErrorMetrics {
  return new ErrorSums().add(reference, candidate, format).metrics();
}
