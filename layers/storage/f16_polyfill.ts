/**
 * float16 storage on the `Float16Array` of `@petamoriken/float16`, for runtimes without a
 * native one.
 *
 * @module
 */
import { f16round, Float16Array as PolyfillFloat16Array } from "@petamoriken/float16";
import type { Storage } from "./storage.ts";
import { F16_LIMITS } from "./f16.ts";
import { tableRead } from "./_table.ts";
import { checkRun } from "./_bounds.ts";

/**
 * Every code's value, as the polyfill decodes it. Reading element by element through the
 * polyfill's Proxy costs about 180 ns; a lookup by code, about 1 ns (measured in Deno 2.9).
 */
const POLYFILL_VALUES = Float64Array.from(
  new PolyfillFloat16Array(Uint16Array.from({ length: 65536 }, (_, code) => code).buffer),
);

/**
 * IEEE 754 binary16 in the polyfill's `Float16Array`, rounded by the polyfill's `f16round`.
 *
 * Writes go through the polyfill's own bulk `set` (which rounds); reads view the same bytes as
 * codes and decode them with a table the polyfill filled. Values are identical to
 * {@linkcode f16}'s.
 *
 * @example
 * ```ts
 * import { f16Polyfill } from "@halfprec/halfprec/formats";
 * import assert from "node:assert/strict";
 * assert.equal(f16Polyfill.round(0.1), 0.0999755859375);
 * assert.equal(f16Polyfill.name, "f16-polyfill");
 * ```
 */
export const f16Polyfill: Storage = {
  name: "f16-polyfill",
  dtype: "F16",
  limits: F16_LIMITS,
  bytesPerElement: 2,
  alloc: (length) => new PolyfillFloat16Array(length),
  round: f16round,
  read: tableRead(POLYFILL_VALUES, Uint16Array),
  write(src, srcOffset, dst, dstOffset, length) {
    checkRun("narrow from", src, srcOffset, length);
    checkRun("write", dst, dstOffset, length);
    (dst as PolyfillFloat16Array).set(src.subarray(srcOffset, srcOffset + length), dstOffset);
  },
};
