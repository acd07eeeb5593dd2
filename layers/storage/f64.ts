/**
 * float64 storage: the reference every other format is measured against.
 *
 * @module
 */
import type { Storage } from "./storage.ts";
import { nativeStorage } from "./_native.ts";

/**
 * IEEE 754 binary64 in a `Float64Array`. Rounding is the identity.
 *
 * @example
 * ```ts
 * import { f64 } from "@halfprec/halfprec";
 * import assert from "node:assert/strict";
 * assert.equal(f64.round(0.1), 0.1);
 * assert.equal(f64.bytesPerElement, 8);
 * ```
 */
export const f64: Storage = nativeStorage("f64", "F64", Float64Array, (x) => x, {
  significandBits: 53,
  minNormal: 2 ** -1022,
  minSubnormal: 2 ** -1074,
  maxFinite: Number.MAX_VALUE,
});
