/**
 * Test values with every special case of a storage format.
 *
 * @module
 */
import type { Storage } from "../mod.ts";
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
