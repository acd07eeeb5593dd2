/**
 * The storage formats halfprec knows, by name.
 *
 * @module
 */
import type { Storage } from "./storage.ts";
import { f64 } from "./f64.ts";
import { f32 } from "./f32.ts";
import { f16 } from "./f16.ts";
import { f16Polyfill } from "./f16_polyfill.ts";
import { bf16 } from "./bf16.ts";

/**
 * Every built-in storage format, widest first.
 *
 * @example
 * ```ts
 * import { STORAGES } from "@halfprec/halfprec";
 * import assert from "node:assert/strict";
 * assert.deepEqual(STORAGES.map((s) => s.name), ["f64", "f32", "f16", "f16-polyfill", "bf16"]);
 * ```
 */
export const STORAGES: readonly Storage[] = [f64, f32, f16, f16Polyfill, bf16];

/**
 * The storage format called `name`.
 *
 * @throws {RangeError} When no format has that name; the message lists the known ones.
 *
 * @example
 * ```ts
 * import { storageByName } from "@halfprec/halfprec";
 * import assert from "node:assert/strict";
 * assert.equal(storageByName("bf16").bytesPerElement, 2);
 * assert.throws(() => storageByName("f8"), RangeError);
 * ```
 */
export function storageByName(name: string): Storage {
  const storage = STORAGES.find((s) => s.name === name);
  if (!storage) {
    const known = STORAGES.map((s) => s.name).join(", ");
    throw new RangeError(`Unknown storage format "${name}": expected one of ${known}`);
  }
  return storage;
}
