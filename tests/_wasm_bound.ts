/**
 * The error bound of the wasm kernels' sums: float32 accumulation (float64 for f64 storage and
 * minifloats with values outside float32) of exactly widened values, then one rounding to the storage format.
 *
 * @module
 */
import assert from "node:assert/strict";
import { f32, f64, type Storage } from "../mod.ts";
import { minifloatCodec } from "../layers/wasm/minifloat_codec.ts";

/** Unit roundoff of the arithmetic the wasm path uses for `storage`. */
function unitRoundoff(storage: Storage): number {
  return storage === f64 || minifloatCodec(storage)?.float64 ? 2 ** -53 : 2 ** -24;
}

/**
 * The error of rounding a float32 near `v` to `storage`: half its spacing there when it rounds
 * to nearest, the whole spacing when it rounds in one direction or stochastically; 0 for f32 and f64, where the
 * accumulator's own last rounding is the result.
 */
function roundingError(storage: Storage, v: number): number {
  if (storage === f64 || storage === f32) return 0;
  const { significandBits, minNormal } = storage.limits;
  const ulp = 2 ** (1 - significandBits);
  const nearest = !storage.stream &&
    storage.round(1 + 0.75 * ulp) > 1 && storage.round(-1 - 0.75 * ulp) < -1;
  const minExponent = Math.log2(minNormal);
  const exponent = Math.max(Math.floor(Math.log2(Math.max(v, minNormal))), minExponent);
  return 2 ** (exponent + 1 - significandBits) / (nearest ? 2 : 1);
}

/**
 * Asserts that every `got[i]` is within (depth + 2) unit roundoffs of `magnitude[i]` (the same
 * sum over absolute values: Higham's bound for a recursive sum of `depth` products) plus half
 * a step of `storage` (a whole step when it rounds in one direction) of `exact[i]`; returns the worst error as a fraction of its bound.
 *
 * @example
 * ```ts ignore
 * const worst = assertWithinBound(f16, { got, exact, magnitude }, 75, "conv f16 dx");
 * ```
 */
export function assertWithinBound(
  storage: Storage,
  values: { got: Float64Array; exact: Float64Array; magnitude: Float64Array },
  depth: number,
  label: string,
): number {
  const { got, exact, magnitude } = values;
  const u = unitRoundoff(storage);
  let worst = 0;
  for (let i = 0; i < exact.length; i++) {
    const accumulation = (depth + 2) * u * magnitude[i];
    const bound = accumulation + roundingError(storage, Math.abs(exact[i]) + accumulation);
    // Past the format's range: a sum within the bound of exact may overflow (to ±Infinity, or
    // NaN in a format without infinities).
    const overflows = Math.abs(exact[i]) + bound > storage.limits.maxFinite;
    const signed = got[i] !== got[i] || Math.sign(got[i]) === Math.sign(exact[i]);
    if (!Number.isFinite(got[i]) && overflows && signed) continue;
    const err = Math.abs(got[i] - exact[i]);
    worst = Math.max(worst, bound === 0 ? (err === 0 ? 0 : Infinity) : err / bound);
    assert.ok(err <= bound, `${label} element ${i}: ${got[i]} vs ${exact[i]}`);
  }
  return worst;
}
