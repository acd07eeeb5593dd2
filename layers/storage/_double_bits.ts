/**
 * A double's high 32 bits (sign, exponent field and the top 20 fraction bits), read through one
 * scratch double: what the minifloat encoder and `floorLog2` look at.
 *
 * @module
 */

// One double and its two 32-bit words, little-endian as everywhere in halfprec (the high word
// second). Scratch only: each call writes it before reading it. (A DataView, which would fix the
// byte order, takes three times as long.)
const scratch = new Float64Array(1);
const words = new Uint32Array(scratch.buffer);

/** The exponent field of +Infinity and NaN in a double. */
export const DOUBLE_SPECIALS = 0x7ff;

/**
 * The high 32 bits of `x` as a double, unsigned: the sign bit, the 11-bit exponent field, then
 * the top 20 bits of the fraction.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { highWord } from "./_double_bits.ts";
 * assert.equal(highWord(1), 0x3ff00000);
 * assert.equal(highWord(-2), 0xc0000000);
 * ```
 */
export function highWord(x: number): number {
  scratch[0] = x;
  return words[1];
}
