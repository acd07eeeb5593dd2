/**
 * Test values with every special case of a storage format.
 *
 * @module
 */
import type { Storage } from "../mod.ts";
import { ulp } from "../analysis/metrics.ts";
import { randomValues } from "./_gradcheck.ts";

/**
 * `length` values of `storage`, every third one special (signed zeros, infinities, NaN,
 * subnormals), the rest random.
 *
 * @example
 * ```ts ignore
 * const x = Tensor.from(f16, [70], specialValues(f16, 70, 1));
 * ```
 */
export function specialValues(storage: Storage, length: number, seed: number): Float64Array {
  const specials = [0, -0, Infinity, -Infinity, NaN, 2 ** -24, -(2 ** -24), 65504, -65504, 5, 5];
  return randomValues(length, seed).map((v, i) =>
    i % 3 === 0 ? specials[(i / 3) % specials.length] : storage.round(v * 4)
  );
}

/**
 * `length` doubles that decide how a float64 value is rounded to `storage`: its values, the
 * midpoints above them (ties, to nearest), doubles a hair either side of those (which rounding to
 * float32 first would move onto the tie), and doubles of every exponent; both signs.
 *
 * @example
 * ```ts ignore
 * const x = Tensor.from(f64, [70], doubleValues(f16, 70, 1));
 * ```
 */
export function doubleValues(storage: Storage, length: number, seed: number): Float64Array {
  return randomValues(length, seed).map((v, i) => {
    const value = storage.round(v * 2 ** ((i >> 2) % 24 - 12));
    const tie = value + ulp(storage, value) / 2;
    const anySize = v * 2 ** ((i * 97) % 2097 - 1074);
    return [value, tie, tie * (1 + 2 ** -40), tie * (1 - 2 ** -40), anySize][i % 5];
  });
}
