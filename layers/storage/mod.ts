/**
 * Storage formats: the number formats a tensor can be held in.
 *
 * @example
 * ```ts
 * import { bf16, f16, storageByName } from "@halfprec/halfprec";
 * import assert from "node:assert/strict";
 * assert.equal(storageByName("f16"), f16);
 * assert.equal(bf16.round(1.00390625), 1); // 1 + 2^-8 is a tie: to even
 * ```
 *
 * @module
 */
export type { Storage, StorageArray } from "./storage.ts";
export { f64 } from "./f64.ts";
export { f32 } from "./f32.ts";
export { f16 } from "./f16.ts";
export { f16Polyfill } from "./f16_polyfill.ts";
export { bf16, bf16Code, bf16Value } from "./bf16.ts";
export { storageByName, STORAGES } from "./formats.ts";
