/**
 * ⌊log2 a⌋ exactly. `Math.log2` alone is not enough: just below a power of two 2^k with k of
 * 3 or more, the logarithm is so close to k that it rounds to k.
 *
 * @module
 */

/**
 * ⌊log2 a⌋ exactly, for a finite a > 0.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { floorLog2 } from "./_log2.ts";
 * assert.equal(floorLog2(8), 3);
 * assert.equal(Math.floor(Math.log2(2 ** 100 * (1 - 2 ** -53))), 100);
 * assert.equal(floorLog2(2 ** 100 * (1 - 2 ** -53)), 99);
 * assert.equal(floorLog2(Number.MIN_VALUE), -1074);
 * ```
 */
export function floorLog2(a: number): number {
  const log = Math.log2(a);
  const e = Math.floor(log);
  // Math.log2 is faithful: only a logarithm that came out whole can have been rounded up into
  // the next binade (and a power's own is exact), so only then is the power computed.
  return log === e && 2 ** e > a ? e - 1 : e;
}
