/**
 * float32 storage.
 *
 * @module
 */
import type { Storage } from "./storage.ts";
import { nativeStorage } from "./_native.ts";

/**
 * IEEE 754 binary32 in a `Float32Array`, rounded by `Math.fround`.
 *
 * @example
 * ```ts
 * import { f32 } from "@halfprec/halfprec";
 * import assert from "node:assert/strict";
 * assert.equal(f32.round(0.1), 0.10000000149011612);
 * assert.equal(f32.bytesPerElement, 4);
 * ```
 */
export const f32: Storage = nativeStorage("f32", "F32", Float32Array, Math.fround, {
  significandBits: 24,
  minNormal: 2 ** -126,
  minSubnormal: 2 ** -149,
  maxFinite: (2 - 2 ** -23) * 2 ** 127,
});
