/**
 * The bounds check every read and write starts with.
 *
 * @module
 */
import type { StorageArray } from "./storage.ts";

/**
 * Throws a `RangeError` unless `array` holds elements `offset` to `offset + length`. Typed
 * arrays would clamp, drop or read neighbouring bytes instead: a silent wrong answer.
 */
export function checkRun(
  what: string,
  array: { readonly length: number } | StorageArray,
  offset: number,
  length: number,
): void {
  if (!(offset >= 0 && length >= 0 && offset + length <= array.length)) {
    throw new RangeError(
      `Cannot ${what} elements ${offset} to ${offset + length}: the array has ${array.length}`,
    );
  }
}
