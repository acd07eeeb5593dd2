/**
 * float16 storage on the runtime's native `Float16Array`.
 *
 * @module
 */
import type { FormatLimits, Storage } from "./storage.ts";
import { nativeStorage } from "./_native.ts";
import { tableRead } from "./_table.ts";

/**
 * Range and resolution of IEEE binary16, shared by {@linkcode f16} and the polyfill.
 *
 * @example
 * ```ts
 * import { F16_LIMITS } from "@halfprec/halfprec/formats";
 * import assert from "node:assert/strict";
 * assert.equal(F16_LIMITS.maxFinite, 65504);
 * ```
 */
export const F16_LIMITS: FormatLimits = {
  significandBits: 11,
  minNormal: 2 ** -14,
  minSubnormal: 2 ** -24,
  maxFinite: 65504,
};

/**
 * Every code's value, as the native `Float16Array` decodes it. Its bulk conversion to float64
 * (`Float64Array.prototype.set`) takes about twice as long as a lookup by code (Deno 2.9).
 */
const F16_VALUES = Float64Array.from(
  new Float16Array(Uint16Array.from({ length: 65536 }, (_, code) => code).buffer),
);

/**
 * IEEE 754 binary16 in the runtime's native `Float16Array` (Deno 2.9, recent browsers), rounded
 * by `Math.f16round`, widened through a table of every code's value. Largest finite value
 * 65504, smallest subnormal 2^-24.
 *
 * Use {@linkcode f16Polyfill} on runtimes without a native `Float16Array`; the two hold
 * identical values.
 *
 * @example
 * ```ts
 * import { f16 } from "@halfprec/halfprec";
 * import assert from "node:assert/strict";
 * assert.equal(f16.round(65520), Infinity); // halfway above 65504 rounds to even: overflow
 * assert.equal(f16.round(2 ** -25), 0); // halfway to the smallest subnormal: ties to even, 0
 * assert.equal(f16.bytesPerElement, 2);
 * ```
 */
export const f16: Storage = {
  ...nativeStorage("f16", "F16", Float16Array, Math.f16round, F16_LIMITS),
  read: tableRead(F16_VALUES, Uint16Array),
};
