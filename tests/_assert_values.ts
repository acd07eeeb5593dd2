/**
 * Comparing many rounded values at once, with failure messages that name the first wrong
 * input; the stored codes of a coded storage; and the bounds checks every storage owes.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Storage, StorageArray } from "../layers/storage/mod.ts";
import { doubleBits } from "./_reference_round.ts";

/** A number as a failure message needs it: exact, with -0 told apart and its bit pattern. */
export function show(x: number): string {
  const digits = Object.is(x, -0) ? "-0" : String(x);
  return `${digits} (bits 0x${doubleBits(x).toString(16).padStart(16, "0")})`;
}

/** A code as a failure message shows it, in at least `digits` hex digits. */
export function showCode(code: number, digits = 2): string {
  return `code 0x${code.toString(16).padStart(digits, "0")}`;
}

/**
 * Asserts `actual[i]` is `expected[i]` by `Object.is` (so -0 differs from 0 and NaN equals
 * NaN). On failure it names the first mismatching input and both values, and how many
 * mismatched in all, because "not equal" on a million-element array says nothing useful.
 */
export function assertSameValues(
  label: string,
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  input: (index: number) => string,
): void {
  assert.equal(actual.length, expected.length, `${label}: wrong number of results`);
  let first = -1;
  let mismatches = 0;
  for (let i = 0; i < expected.length; i++) {
    if (!Object.is(actual[i], expected[i])) {
      if (first < 0) first = i;
      mismatches++;
    }
  }
  if (first >= 0) {
    assert.fail(
      `${label}: ${mismatches} of ${expected.length} wrong; first: ${input(first)} gave ` +
        `${show(actual[first])}, expected ${show(expected[first])}`,
    );
  }
}

/** All of `stored`, widened by `storage.read`. */
export function readAll(storage: Storage, stored: StorageArray): Float64Array {
  const values = new Float64Array(stored.length);
  storage.read(stored, 0, values, 0, stored.length);
  return values;
}

/** `xs` narrowed by `storage.write` into a fresh array. */
export function writeAll(storage: Storage, xs: Float64Array): StorageArray {
  const stored = storage.alloc(xs.length);
  storage.write(xs, 0, stored, 0, xs.length);
  return stored;
}

/** The 16-bit codes `storage.write` stores `xs` as (a `Float16Array`'s elements are values). */
export function storedCodes16(storage: Storage, xs: Float64Array): Uint16Array {
  const stored = writeAll(storage, xs);
  return new Uint16Array(stored.buffer, stored.byteOffset, stored.length);
}

/** One way of rounding a batch of doubles to a format. */
export interface Rounder {
  readonly label: string;
  apply(xs: Float64Array): Float64Array;
}

/** A rounder that applies `round` to each double on its own. */
export function elementwise(label: string, round: (x: number) => number): Rounder {
  return { label, apply: (xs) => xs.map((x) => round(x)) };
}

/** The two ways a storage rounds: `round` element by element, and a bulk `write` read back. */
export function storagePaths(storage: Storage): Rounder[] {
  return [
    elementwise(`${storage.name}.round`, (x) => storage.round(x)),
    { label: `${storage.name}.write+read`, apply: (xs) => readAll(storage, writeAll(storage, xs)) },
  ];
}

/** Asserts that every one of `rounders` rounds `xs` to `expected`. */
export function assertRoundsTo(
  rounders: readonly Rounder[],
  xs: Float64Array,
  expected: Float64Array,
): void {
  for (const rounder of rounders) {
    assertSameValues(rounder.label, rounder.apply(xs), expected, (i) => `input ${show(xs[i])}`);
  }
}

/** Asserts that `storage` refuses, with a RangeError, to read or write past the end of an array. */
export function assertBoundsChecked(storage: Storage): void {
  const data = storage.alloc(4);
  const wide = new Float64Array(4);
  for (const [offset, length] of [[2, 3], [-1, 1], [0, 5]]) {
    assert.throws(() => storage.read(data, offset, wide, 0, length), RangeError, storage.name);
    assert.throws(() => storage.write(wide, 0, data, offset, length), RangeError, storage.name);
  }
  assert.throws(() => storage.read(data, 0, wide, 2, 3), RangeError, storage.name);
  assert.throws(() => storage.write(wide, 2, data, 0, 3), RangeError, storage.name);
}
