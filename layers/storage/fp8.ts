/**
 * fp8: the two 8-bit formats of the OCP 8-bit Floating Point Specification (OFP8 1.0), held
 * as byte codes.
 *
 * Both round to nearest, ties to even, and keep subnormals. Where the specification leaves a
 * choice, overflow, they do not saturate: a value beyond the largest finite one after
 * rounding (and an infinity) becomes ±Infinity in E5M2 and NaN in E4M3, which has no
 * infinities. That is the specification's non-saturating mode and what PyTorch's cast to
 * `float8_e4m3fn` does, and it is the choice that shows a loss rather than hides it: halfprec
 * asks where precision is lost, and a value silently clipped to 448 is lost without a trace,
 * while a NaN reaches the output. It also matches f16 and bf16, which overflow to ±Infinity.
 * The saturating variants, as used by training recipes that scale tensors into range, are
 * `e4m3-sat` and `e5m2-sat` (by `storageByName`, or `minifloat` with `saturate: true`).
 *
 * @module
 */
import type { Storage } from "./storage.ts";
import { minifloat } from "./minifloat.ts";

/**
 * OCP E4M3: 1 sign, 4 exponent (bias 7) and 3 fraction bits; no infinities, NaN is S.1111.111,
 * so the largest finite value is S.1111.110 = ±448. Smallest normal 2^-6, smallest subnormal
 * 2^-9. Beyond ±448 after rounding (from 464 on), and for ±Infinity, the code is NaN.
 *
 * @example
 * ```ts
 * import { e4m3 } from "@halfprec/halfprec";
 * import assert from "node:assert/strict";
 * assert.equal(e4m3.dtype, "F8_E4M3");
 * assert.equal(e4m3.bytesPerElement, 1);
 * assert.equal(e4m3.round(0.1), 0.1015625);
 * assert.equal(e4m3.round(464), 448); // a tie: to even
 * assert.ok(Number.isNaN(e4m3.round(500)));
 * assert.equal(e4m3.round(2 ** -9), 2 ** -9);
 * ```
 */
export const e4m3: Storage = minifloat({ exponentBits: 4, mantissaBits: 3, specials: "fn" });

/**
 * OCP E5M2: 1 sign, 5 exponent (bias 15) and 2 fraction bits, laid out like IEEE 754 binary16
 * cut short: ±Infinity is S.11111.00, NaN S.11111.{01,10,11}, the largest finite value
 * S.11110.11 = ±57344. Smallest normal 2^-14, smallest subnormal 2^-16. Beyond ±57344 after
 * rounding (from 61440 on), the value is ±Infinity.
 *
 * @example
 * ```ts
 * import { e5m2 } from "@halfprec/halfprec";
 * import assert from "node:assert/strict";
 * assert.equal(e5m2.dtype, "F8_E5M2");
 * assert.equal(e5m2.round(0.1), 0.09375);
 * assert.equal(e5m2.round(57344), 57344);
 * assert.equal(e5m2.round(61440), Infinity);
 * assert.equal(e5m2.round(2 ** -16), 2 ** -16);
 * ```
 */
export const e5m2: Storage = minifloat({ exponentBits: 5, mantissaBits: 2 });
