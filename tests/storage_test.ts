/**
 * Tests of the storage adapters, exhaustive where the space is small.
 *
 * Every 16-bit code is decoded and stored back; every halfway case between adjacent f16 and
 * bf16 values is rounded, with its float64 neighbours; a million random doubles per 16-bit
 * format cover the rest. Expected values come from an exact integer reference
 * (`_reference_round.ts`) rather than from one of the implementations under test, so a bug that
 * all of them shared would still show.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  f16round as polyfillF16round,
  Float16Array as PolyfillFloat16Array,
} from "@petamoriken/float16";
import {
  bf16,
  bf16Code,
  bf16Value,
  f16,
  f16Polyfill,
  f32,
  f64,
  type StorageArray,
  storageByName,
  STORAGES,
} from "../layers/storage/mod.ts";
import {
  BFLOAT16,
  BINARY16,
  BINARY32,
  type BinaryFormat,
  decode,
  roundToFormat,
} from "./_reference_round.ts";
import {
  adjacentDouble,
  halfwayCases,
  randomDoubles,
  ties,
  withNegatives,
} from "./_rounding_inputs.ts";
import {
  assertBoundsChecked,
  assertRoundsTo,
  assertSameValues,
  elementwise,
  readAll,
  type Rounder,
  show,
  showCode,
  storagePaths,
  storedCodes16,
  writeAll,
} from "./_assert_values.ts";

// ---------------------------------------------------------------------------------------------
// Comparing many values

/** A 16-bit code as a failure message shows it: all four hex digits. */
const showCode16 = (code: number) => showCode(code, 4);

/** Every 16-bit code in order; f16 arrays view its buffer, and it is itself a bf16 array. */
const ALL_CODES = Uint16Array.from({ length: 65536 }, (_, code) => code);

function reference(format: BinaryFormat): Rounder {
  return elementwise("the reference", (x) => roundToFormat(x, format));
}

function assertRoundsLikeReference(rounders: Rounder[], format: BinaryFormat, xs: Float64Array) {
  assertRoundsTo(rounders, xs, reference(format).apply(xs));
}

/**
 * Checks hand-computed cases against the rounders and the reference too: the reference earns
 * its trust in the bulk tests by getting the cases a person can verify right.
 */
function assertCases(
  rounders: Rounder[],
  format: BinaryFormat,
  cases: readonly (readonly [input: number, expected: number])[],
): void {
  const xs = Float64Array.from(cases, ([x]) => x);
  const expected = Float64Array.from(cases, ([, y]) => y);
  assertRoundsTo([reference(format), ...rounders], xs, expected);
}

/** Every way to round to f16 that must agree: the engine's, the polyfill's and both adapters'. */
const F16_ROUNDERS: Rounder[] = [
  elementwise("Math.f16round", Math.f16round),
  elementwise("the polyfill's f16round", polyfillF16round),
  ...storagePaths(f16),
  ...storagePaths(f16Polyfill),
];

const BF16_ROUNDERS: Rounder[] = [
  elementwise("bf16Value(bf16Code(x))", (x) => bf16Value(bf16Code(x))),
  ...storagePaths(bf16),
];

// ---------------------------------------------------------------------------------------------
// Generating inputs

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** The float32 ulp at a positive float32 `x` that is not the last of its binade. */
function float32Ulp(x: number): number {
  scratchF32[0] = x;
  scratchU32[0]++;
  return scratchF32[0] - x;
}

/** Whether float32 rounding moves `x` onto a bf16 tie: a float32 whose low 16 bits are 0x8000. */
function float32LandsOnTie(x: number): boolean {
  scratchF32[0] = x;
  return scratchF32[0] !== x && (scratchU32[0] & 0xffff) === 0x8000;
}

/**
 * Doubles that are not bf16 ties but that float32 rounding turns into one, on both sides of
 * every positive and negative tie: rounding through float32 first would then see a tie and round
 * it to even, the wrong way for half of them.
 */
function float32TieTraps(): Float64Array {
  return withNegatives(
    ties(BFLOAT16).flatMap(({ tie }) => {
      const ulp = float32Ulp(tie);
      // tie ± ulp/2 are float32 ties themselves, resolved onto the bf16 tie because its float32
      // code is even. The adjacent doubles are taken as such, not as tie ± a distance: below a
      // power of two the float64 spacing halves.
      return [
        tie - ulp / 2,
        tie - ulp / 4,
        adjacentDouble(tie, -1),
        adjacentDouble(tie, 1),
        tie + ulp / 4,
        tie + ulp / 2,
      ];
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// The reference itself

Deno.test("the reference rounding reproduces Math.fround on 200,000 random doubles", () => {
  const xs = randomDoubles(200_000, -160, 140, 1);
  assertRoundsTo([reference(BINARY32)], xs, xs.map(Math.fround));
});

// ---------------------------------------------------------------------------------------------
// Decoding and storing every code

Deno.test("f16 and f16-polyfill decode all 65,536 codes identically, as binary16 defines", () => {
  const native = new Float16Array(ALL_CODES.buffer);
  const polyfill = new PolyfillFloat16Array(ALL_CODES.buffer);
  const expected = Float64Array.from(ALL_CODES, (code) => decode(code, BINARY16));
  const decodings: [string, ArrayLike<number>][] = [
    ["native Float16Array", Float64Array.from({ length: 65536 }, (_, i) => native[i])],
    ["polyfill Float16Array", Float64Array.from({ length: 65536 }, (_, i) => polyfill[i])],
    ["f16.read", readAll(f16, native)],
    ["f16-polyfill.read", readAll(f16Polyfill, polyfill)],
  ];
  for (const [label, values] of decodings) assertSameValues(label, values, expected, showCode16);
});

Deno.test("bf16 decodes all 65,536 codes as the top half of a float32", () => {
  const expected = Float64Array.from(ALL_CODES, (code) => decode(code, BFLOAT16));
  // Float64Array.from, not ALL_CODES.map: a Uint16Array's map would truncate the values.
  assertSameValues("bf16Value", Float64Array.from(ALL_CODES, bf16Value), expected, showCode16);
  assertSameValues("bf16.read", readAll(bf16, ALL_CODES), expected, showCode16);
});

Deno.test("every 16-bit storage stores each of its 65,536 values back as the same code", () => {
  const encoders: [string, BinaryFormat, (values: Float64Array) => ArrayLike<number>][] = [
    ["f16.write", BINARY16, (values) => storedCodes16(f16, values)],
    ["f16-polyfill.write", BINARY16, (values) => storedCodes16(f16Polyfill, values)],
    ["bf16.write", BFLOAT16, (values) => storedCodes16(bf16, values)],
    ["bf16Code", BFLOAT16, (values) => values.map(bf16Code)],
  ];
  for (const [label, format, encode] of encoders) {
    const values = Float64Array.from(ALL_CODES, (code) => decode(code, format));
    // Decoded values are compared rather than codes: decoding is one-to-one except on NaN, so
    // this demands the very code (sign of zero included) for every number, and a NaN code for NaN.
    const decoded = Float64Array.from(encode(values), (code) => decode(code, format));
    assertSameValues(label, decoded, values, (i) => `${showCode16(i)}, value ${show(values[i])}`);
  }
});

// ---------------------------------------------------------------------------------------------
// f16 rounding

Deno.test("every f16 rounding agrees with the exact reference on a million random doubles", () => {
  // 2^-40 is far below the smallest subnormal 2^-24, 2^20 far above the overflow at 65520.
  assertRoundsLikeReference(F16_ROUNDERS, BINARY16, randomDoubles(1_000_000, -40, 20, 2));
});

Deno.test("every f16 rounding agrees with the exact reference on each tie and the doubles next to it", () => {
  assertRoundsLikeReference(F16_ROUNDERS, BINARY16, halfwayCases(BINARY16));
});

Deno.test("every f16 rounding keeps signed zeros, infinities and NaN, and overflows at 65520", () => {
  assertCases(F16_ROUNDERS, BINARY16, [
    [0, 0],
    [-0, -0],
    [Infinity, Infinity],
    [-Infinity, -Infinity],
    [NaN, NaN],
    [0.1, 0.0999755859375],
    [65504, 65504],
    [adjacentDouble(65520, -1), 65504],
    [65520, Infinity],
    [-65520, -Infinity],
    [Number.MAX_VALUE, Infinity],
    [2 ** -24, 2 ** -24],
    [2 ** -25, 0],
    [-(2 ** -25), -0],
    [adjacentDouble(2 ** -25, 1), 2 ** -24],
    [Number.MIN_VALUE, 0],
    [-Number.MIN_VALUE, -0],
    [2 ** -14 - 2 ** -25, 2 ** -14],
    [1 + 2 ** -11 + 2 ** -40, 1 + 2 ** -10],
  ]);
});

// ---------------------------------------------------------------------------------------------
// bf16 rounding

Deno.test("bf16 rounds every tie to even and the doubles next to it to the nearer value", () => {
  assertRoundsLikeReference(BF16_ROUNDERS, BFLOAT16, halfwayCases(BFLOAT16));
});

Deno.test("bf16 rounds correctly where float32 rounding would land exactly on a tie", () => {
  const xs = float32TieTraps();
  const missed = xs.find((x) => !float32LandsOnTie(x));
  assert.equal(missed, undefined, `trap ${show(missed ?? NaN)} does not land on a bf16 tie`);
  assertRoundsLikeReference(BF16_ROUNDERS, BFLOAT16, xs);
});

Deno.test("bf16 rounds a million random doubles of all magnitudes correctly", () => {
  // 2^-150 is below half the smallest subnormal 2^-133, 2^130 above the overflow near 2^128.
  assertRoundsLikeReference(BF16_ROUNDERS, BFLOAT16, randomDoubles(1_000_000, -150, 130, 3));
});

Deno.test("bf16 keeps signed zeros, infinities and NaN", () => {
  assertCases(BF16_ROUNDERS, BFLOAT16, [
    [0, 0],
    [-0, -0],
    [Infinity, Infinity],
    [-Infinity, -Infinity],
    [NaN, NaN],
    [1, 1],
    [-1, -1],
    [1 / 3, 0.333984375],
    [1 + 2 ** -8, 1],
    [1 + 3 * 2 ** -8, 1 + 2 ** -6],
  ]);
  assert.deepEqual(
    [0, -0, Infinity, -Infinity, NaN].map(bf16Code),
    [0x0000, 0x8000, 0x7f80, 0xff80, 0x7fc0],
  );
});

Deno.test("bf16 keeps subnormals down to 2^-133 and rounds below them to zero", () => {
  const smallest = 2 ** -133;
  const largestSubnormal = 2 ** -126 - smallest;
  assertCases(BF16_ROUNDERS, BFLOAT16, [
    [smallest, smallest],
    [-smallest, -smallest],
    [smallest + 2 ** -150, smallest],
    [smallest / 2, 0],
    [-smallest / 2, -0],
    [adjacentDouble(smallest / 2, 1), smallest],
    [adjacentDouble(smallest / 2, -1), 0],
    [1.5 * smallest, 2 * smallest],
    [2.5 * smallest, 2 * smallest],
    [largestSubnormal, largestSubnormal],
    [largestSubnormal + smallest / 2, 2 ** -126],
    [2 ** -126, 2 ** -126],
    [2 ** -150, 0],
    [Number.MIN_VALUE, 0],
    [-Number.MIN_VALUE, -0],
  ]);
});

Deno.test("bf16 overflows to Infinity from the midpoint between 0x7F7F and 2^128 on", () => {
  const largest = decode(0x7f7f, BFLOAT16);
  const threshold = (largest + 2 ** 128) / 2;
  const float32Max = 2 ** 128 - 2 ** 104;
  assertCases(BF16_ROUNDERS, BFLOAT16, [
    [largest, 3.3895313892515355e38],
    [-largest, -3.3895313892515355e38],
    [adjacentDouble(threshold, -1), largest],
    // A float32 tie that rounds to even onto the threshold: below it, so the largest finite.
    [threshold - float32Ulp(threshold) / 2, largest],
    [threshold, Infinity],
    [-threshold, -Infinity],
    [adjacentDouble(threshold, 1), Infinity],
    [float32Max, Infinity],
    [2 ** 128, Infinity],
    [Number.MAX_VALUE, Infinity],
    [-Number.MAX_VALUE, -Infinity],
  ]);
});

// ---------------------------------------------------------------------------------------------
// f32 and f64

/** Doubles concentrated around float32's range, plus some from every exponent field. */
const WIDE_DOUBLES = Float64Array.from([
  ...randomDoubles(200_000, -160, 140, 4),
  ...randomDoubles(100_000, -1023, 1024, 5),
]);

Deno.test("f32 rounds and stores 300,000 random doubles like Math.fround", () => {
  assertRoundsTo(storagePaths(f32), WIDE_DOUBLES, WIDE_DOUBLES.map(Math.fround));
});

Deno.test("f64 rounds and stores 300,000 random doubles unchanged", () => {
  assertRoundsTo(storagePaths(f64), WIDE_DOUBLES, WIDE_DOUBLES);
});

// ---------------------------------------------------------------------------------------------
// Metadata and lookup

Deno.test("every storage has the expected name, dtype and element size, widest first", () => {
  assert.deepEqual(STORAGES, [f64, f32, f16, f16Polyfill, bf16]);
  assert.deepEqual(STORAGES.map((s) => [s.name, s.dtype, s.bytesPerElement]), [
    ["f64", "F64", 8],
    ["f32", "F32", 4],
    ["f16", "F16", 2],
    ["f16-polyfill", "F16", 2],
    ["bf16", "BF16", 2],
  ]);
});

Deno.test("alloc gives zero-filled arrays of the requested length and byte size", () => {
  for (const storage of STORAGES) {
    const stored = storage.alloc(5);
    assert.equal(stored.length, 5, storage.name);
    assert.equal(stored.byteLength, 5 * storage.bytesPerElement, storage.name);
    assertSameValues(`${storage.name}.alloc`, readAll(storage, stored), [0, 0, 0, 0, 0], String);
  }
});

Deno.test("storageByName finds every storage by its name", () => {
  for (const storage of STORAGES) assert.equal(storageByName(storage.name), storage);
});

Deno.test("storageByName throws a RangeError listing the known names for unknown ones", () => {
  for (const name of ["f8", "", "F16", "float16", " f16"]) {
    assert.throws(() => storageByName(name), (error) => {
      assert.ok(error instanceof RangeError, `${JSON.stringify(name)}: not a RangeError`);
      assert.ok(error.message.includes(`"${name}"`), error.message);
      for (const known of STORAGES) assert.ok(error.message.includes(known.name), error.message);
      return true;
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Offsets

/** Distinct values exact in every format, so any element out of place shows. */
const BACKGROUND = Float64Array.from({ length: 10 }, (_, i) => i + 1);

Deno.test("read and write of every storage touch only the requested run", () => {
  const src = Float64Array.from([-100, -200, 0.1, -0.5, 1 / 3, -300]);
  for (const storage of STORAGES) {
    const stored = writeAll(storage, BACKGROUND);
    storage.write(src, 2, stored, 4, 3);
    const expected = BACKGROUND.slice();
    for (let i = 0; i < 3; i++) expected[4 + i] = storage.round(src[2 + i]);
    const label = `${storage.name}.write(src, 2, dst, 4, 3)`;
    assertSameValues(label, readAll(storage, stored), expected, (i) => `element ${i}`);

    const dst = new Float64Array(10).fill(-7);
    storage.read(stored, 3, dst, 5, 4);
    const expectedDst = new Float64Array(10).fill(-7);
    expectedDst.set(expected.subarray(3, 7), 5);
    const readLabel = `${storage.name}.read(src, 3, dst, 5, 4)`;
    assertSameValues(readLabel, dst, expectedDst, (i) => `element ${i}`);
  }
});

Deno.test("read and write of every storage honour the byteOffset of a view into a buffer", () => {
  for (const storage of STORAGES) {
    const whole = writeAll(storage, BACKGROUND);
    const view = (whole as StorageArray & { subarray(b: number, e: number): StorageArray })
      .subarray(2, 8);
    assert.equal(view.byteOffset, 2 * storage.bytesPerElement, storage.name);

    const values = new Float64Array(3);
    storage.read(view, 1, values, 0, 3);
    assertSameValues(`${storage.name}.read`, values, [4, 5, 6], (i) => `view element ${1 + i}`);

    storage.write(Float64Array.of(-1, -2), 0, view, 4, 2);
    const expected = BACKGROUND.slice();
    expected.set([-1, -2], 6);
    const label = `${storage.name}.write into view`;
    assertSameValues(label, readAll(storage, whole), expected, (i) => `element ${i}`);
  }
});

Deno.test("every storage refuses to read or write past the end of an array", () => {
  for (const storage of STORAGES) assertBoundsChecked(storage);
});
