/**
 * The error bound of the wasm kernels' sums: float32 accumulation (float64 for f64 storage)
 * of exactly widened values, then one rounding to the storage format.
 *
 * @module
 */
import assert from "node:assert/strict";
import { bf16, f16, f16Polyfill, f64, type Storage } from "../mod.ts";

/** Unit roundoff of the arithmetic the wasm path uses for `storage`. */
function unitRoundoff(storage: Storage): number {
  return storage === f64 ? 2 ** -53 : 2 ** -24;
}

/** Half the spacing of `storage`'s values around `v`: the error of rounding a float32 to it. */
function halfSpacing(storage: Storage, v: number): number {
  const bits = storage === bf16 ? 8 : storage === f16 || storage === f16Polyfill ? 11 : 0;
  if (bits === 0) return 0; // f32 and f64: the accumulator's own last rounding is the result
  const minExponent = bits === 11 ? -14 : -126;
  const exponent = Math.max(Math.floor(Math.log2(Math.max(v, 2 ** minExponent))), minExponent);
  return 2 ** (exponent - bits);
}

/**
 * Asserts that every `got[i]` is within (depth + 2) unit roundoffs of `magnitude[i]` (the same
 * sum over absolute values: Higham's bound for a recursive sum of `depth` products) plus half
 * a step of `storage` of `exact[i]`; returns the worst error as a fraction of its bound.
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
    const bound = accumulation + halfSpacing(storage, Math.abs(exact[i]) + accumulation);
    const err = Math.abs(got[i] - exact[i]);
    worst = Math.max(worst, bound === 0 ? (err === 0 ? 0 : Infinity) : err / bound);
    assert.ok(err <= bound, `${label} element ${i}: ${got[i]} vs ${exact[i]}`);
  }
  return worst;
}
