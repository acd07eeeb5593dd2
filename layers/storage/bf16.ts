/**
 * bfloat16 storage: float32's exponent range with 8 significant bits, held as 16-bit codes.
 *
 * @module
 */
import type { Storage } from "./storage.ts";
import { tableRead } from "./_table.ts";
import { checkRun } from "./_bounds.ts";

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** The quiet NaN code; every NaN is stored as it, so NaN stays NaN. */
const BF16_NAN = 0x7fc0;

/**
 * The bfloat16 code nearest to `x`, ties to even, overflow to ±Infinity.
 *
 * The value goes through float32 first (a bfloat16 code is the top half of a float32). Rounding
 * twice can go wrong in one case only: when the float32 rounding lands exactly on a bfloat16
 * tie that `x` itself was not on. Then the direction float32 rounded in tells which side of the
 * tie `x` is on.
 *
 * @example
 * ```ts
 * import { bf16Code } from "@halfprec/halfprec/formats";
 * import assert from "node:assert/strict";
 * assert.equal(bf16Code(1), 0x3f80);
 * assert.equal(bf16Code(-Infinity), 0xff80);
 * assert.equal(bf16Code(1 + 2 ** -8), 0x3f80); // a tie: to the even code
 * ```
 */
export function bf16Code(x: number): number {
  if (x !== x) return BF16_NAN;
  scratchF32[0] = x;
  const bits = scratchU32[0];
  if ((bits & 0xffff) === 0x8000 && scratchF32[0] !== x) {
    const roundedAway = Math.abs(scratchF32[0]) > Math.abs(x);
    return roundedAway ? bits >>> 16 : (bits >>> 16) + 1;
  }
  return (bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16;
}

/** Every code's value: the code is the top 16 bits of a float32. */
const BF16_VALUES = new Float64Array(65536);
for (let code = 0; code < 65536; code++) {
  scratchU32[0] = code << 16;
  BF16_VALUES[code] = scratchF32[0];
}

/**
 * The value of a bfloat16 code.
 *
 * @example
 * ```ts
 * import { bf16Value } from "@halfprec/halfprec/formats";
 * import assert from "node:assert/strict";
 * assert.equal(bf16Value(0x3f80), 1);
 * assert.equal(bf16Value(0x7f7f), 3.3895313892515355e38); // the largest finite bfloat16
 * ```
 */
export function bf16Value(code: number): number {
  return BF16_VALUES[code & 0xffff];
}

/**
 * bfloat16 held as 16-bit codes in a `Uint16Array`, rounded to nearest, ties to even; NaN
 * stays NaN, overflow goes to ±Infinity, subnormals are kept.
 *
 * @example
 * ```ts
 * import { bf16 } from "@halfprec/halfprec";
 * import assert from "node:assert/strict";
 * assert.equal(bf16.round(1 / 3), 0.333984375);
 * assert.equal(bf16.bytesPerElement, 2);
 * ```
 */
export const bf16: Storage = {
  name: "bf16",
  dtype: "BF16",
  limits: {
    significandBits: 8,
    minNormal: 2 ** -126,
    minSubnormal: 2 ** -133,
    maxFinite: (2 - 2 ** -7) * 2 ** 127,
  },
  bytesPerElement: 2,
  alloc: (length) => new Uint16Array(length),
  round: (x) => BF16_VALUES[bf16Code(x)],
  read: tableRead(BF16_VALUES, Uint16Array),
  write(src, srcOffset, dst, dstOffset, length) {
    checkRun("narrow from", src, srcOffset, length);
    checkRun("write", dst, dstOffset, length);
    for (let i = 0; i < length; i++) dst[dstOffset + i] = bf16Code(src[srcOffset + i]);
  },
};
