/**
 * ⌊log2 a⌋ read from a double's exponent field and 2^k from a table, both exact. `Math.log2` alone
 * is not enough: just below a power of two 2^k with k of 3 or more, the logarithm is so close to k
 * that it rounds to k. And both are fast: `Math.log2` and `2 ** k` take about 20 ns each in
 * Deno 2.9, the field and the table 1 to 3 ns, and the error metrics need both for most elements
 * of every layer, MX rounding for every element.
 *
 * @module
 */

import { DOUBLE_SPECIALS, highWord } from "./_double_bits.ts";

// Every power of two a double holds, from 2^-1074 up. (Writing a power's exponent field into a
// scratch double and reading it back took 7 ns: a 64-bit load of two 32-bit stores waits for them.)
const POWERS = Float64Array.from({ length: 2098 }, (_, i) => 2 ** (i - 1074));

/**
 * ⌊log2 a⌋ exactly, for a finite a > 0; for any other a, what `Math.log2` gives (-Infinity for 0,
 * Infinity for Infinity, NaN for NaN or a negative a).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { floorLog2 } from "./_log2.ts";
 * assert.equal(floorLog2(8), 3);
 * assert.equal(Math.floor(Math.log2(2 ** 100 * (1 - 2 ** -53))), 100);
 * assert.equal(floorLog2(2 ** 100 * (1 - 2 ** -53)), 99);
 * assert.equal(floorLog2(Number.MIN_VALUE), -1074);
 * assert.ok(Number.isNaN(floorLog2(NaN)));
 * ```
 */
export function floorLog2(a: number): number {
  const field = (highWord(a) >>> 20) & DOUBLE_SPECIALS;
  if (a > 0 && field !== 0 && field !== DOUBLE_SPECIALS) return field - 1023;
  // A subnormal's field is 0: scale it into the normals by a power of two, which is exact.
  if (a > 0 && a < Infinity) return floorLog2(a * 2 ** 64) - 64;
  return Math.floor(Math.log2(a));
}

/**
 * 2^k exactly, for an integer k (0 below 2^-1074, Infinity above 2^1023); for any other k, `2 ** k`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pow2 } from "./_log2.ts";
 * assert.equal(pow2(-24), 2 ** -24);
 * assert.equal(pow2(1023), 2 ** 1023);
 * assert.equal(pow2(-1074), Number.MIN_VALUE);
 * ```
 */
export function pow2(k: number): number {
  // A typed array has no element at an index out of its range or not an integer.
  return POWERS[k + 1074] ?? 2 ** k;
}
