/**
 * Tests of generic minifloats: the formats everyone ships written as minifloats (f16 as
 * `e5m10`, bf16 as `e8m7`) against their dedicated adapters, code for code; formats nobody
 * ships against the exact reference (`_reference_round.ts`); the rounding modes; names; and
 * the storage contract that layers rely on.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  bf16,
  bf16Code,
  e4m3,
  e5m2,
  f16,
  minifloat,
  type MinifloatOptions,
  type Storage,
  type StorageArray,
  storageByName,
  STORAGES,
} from "../layers/storage/mod.ts";
import { Tensor } from "../layers/tensor.ts";
import { deepConvNet } from "../layers/deep_conv_net.ts";
import {
  BFLOAT16,
  BINARY16,
  type BinaryFormat,
  decode,
  roundToFormat,
} from "./_reference_round.ts";
import {
  halfwayCases,
  nearTies,
  nonNegativeValues,
  randomDoubles,
  withNegatives,
} from "./_rounding_inputs.ts";
import {
  assertBoundsChecked,
  assertRoundsTo,
  assertSameValues,
  readAll,
  show,
  showCode,
  storagePaths,
  storedCodes16,
  writeAll,
} from "./_assert_values.ts";

/** Every code of a format of `bits` bits (sign included), in an array of its storage. */
function allCodes(storage: Storage, bits: number): StorageArray {
  const codes = storage.alloc(2 ** bits);
  for (let code = 0; code < codes.length; code++) codes[code] = code;
  return codes;
}

/** The codes of `stored`, a copy, whatever array the format keeps them in. */
function codesOf(stored: StorageArray): number[] {
  return Array.from({ length: stored.length }, (_, i) => stored[i]);
}

/**
 * Asserts two 16-bit storages store the numbers among `xs` as the same codes and NaN as a NaN
 * (payloads are not kept), and round all of `xs` to the same values.
 */
function assertSameCodes(actual: Storage, expected: Storage, xs: Float64Array): void {
  const numbers = xs.filter((x) => x === x);
  const input = (i: number) => `input ${show(numbers[i])}`;
  const codes = storedCodes16(actual, numbers);
  assertSameValues(`${actual.name}.write codes`, codes, storedCodes16(expected, numbers), input);
  const nans = xs.filter((x) => x !== x);
  const storedNaNs = readAll(actual, writeAll(actual, nans));
  assert.ok(storedNaNs.every(Number.isNaN), `${actual.name} stored a NaN as a number`);
  const rounded = xs.map((x) => actual.round(x));
  const roundInput = (i: number) => `input ${show(xs[i])}`;
  assertSameValues(`${actual.name}.round`, rounded, xs.map((x) => expected.round(x)), roundInput);
}

// ---------------------------------------------------------------------------------------------
// f16 and bf16 as minifloats

Deno.test("e5m10 decodes all 65,536 codes as f16 does, and stores each value as f16 does", () => {
  const e5m10 = storageByName("e5m10");
  const codes = allCodes(e5m10, 16);
  const values = readAll(f16, new Float16Array(codes.buffer));
  assertSameValues("e5m10.read", readAll(e5m10, codes), values, showCode);
  assertSameCodes(e5m10, f16, values);
});

Deno.test("e5m10 rounds every f16 tie, the doubles near it and a million doubles like f16", () => {
  const e5m10 = storageByName("e5m10");
  assertSameCodes(e5m10, f16, halfwayCases(BINARY16));
  assertSameCodes(e5m10, f16, nearTies(BINARY16, [2, 13, 30]));
  // 2^-40 is far below the smallest subnormal 2^-24, 2^20 far above the overflow at 65520.
  assertSameCodes(e5m10, f16, randomDoubles(1_000_000, -40, 20, 21));
  assertSameCodes(e5m10, f16, Float64Array.of(NaN, Infinity, -Infinity, 0, -0, 65520, -65520));
});

Deno.test("e8m7 decodes all 65,536 codes as bf16 does, and stores each value as bf16 does", () => {
  const e8m7 = storageByName("e8m7");
  const codes = allCodes(e8m7, 16);
  const values = readAll(bf16, codes);
  assertSameValues("e8m7.read", readAll(e8m7, codes), values, showCode);
  assertSameCodes(e8m7, bf16, values);
});

Deno.test("e8m7 rounds every bf16 tie, the doubles near it and a million doubles like bf16", () => {
  const e8m7 = storageByName("e8m7");
  assertSameCodes(e8m7, bf16, halfwayCases(BFLOAT16));
  // 2^-16 and 2^-17 of a spacing are a float32 ulp and half of one at the tie: the values that
  // float32 rounding would move onto it.
  assertSameCodes(e8m7, bf16, nearTies(BFLOAT16, [2, 16, 17, 30]));
  assertSameCodes(e8m7, bf16, randomDoubles(1_000_000, -160, 140, 22));
  assert.deepEqual(
    codesOf(writeAll(e8m7, Float64Array.of(NaN, Infinity, -Infinity, 0, -0))),
    [NaN, Infinity, -Infinity, 0, -0].map(bf16Code),
  );
});

// ---------------------------------------------------------------------------------------------
// Formats nobody ships

/** Minifloats by name, with the reference's description of each. */
const UNSHIPPED: readonly [string, BinaryFormat][] = [
  ["e3m4", { exponentBits: 3, fractionBits: 4 }],
  ["e3m4-fn", { exponentBits: 3, fractionBits: 4, specials: "fn" }],
  ["e4m3-ieee", { exponentBits: 4, fractionBits: 3 }],
  ["e5m2-fn-sat", { exponentBits: 5, fractionBits: 2, specials: "fn", saturate: true }],
  ["e2m5", { exponentBits: 2, fractionBits: 5 }],
  ["e2m1-fn", { exponentBits: 2, fractionBits: 1, specials: "fn" }],
  ["e1m3-fn", { exponentBits: 1, fractionBits: 3, specials: "fn" }],
  ["e1m6", { exponentBits: 1, fractionBits: 6 }], // subnormals only
  ["e6m1-b40-nosub", { exponentBits: 6, fractionBits: 1, bias: 40, subnormals: false }],
  ["e4m3-b11-nosub-sat", {
    exponentBits: 4,
    fractionBits: 3,
    specials: "fn",
    bias: 11,
    subnormals: false,
    saturate: true,
  }],
  ["e5m2-b-3", { exponentBits: 5, fractionBits: 2, bias: -3 }],
  ["e8m7-nosub", { exponentBits: 8, fractionBits: 7, subnormals: false }],
  ["e11m4", { exponentBits: 11, fractionBits: 4 }], // float64's exponent range
];

/** Random doubles from well below a storage's smallest value to well above its largest. */
function doublesAround(storage: Storage, count: number, seed: number): Float64Array {
  const low = Math.max(-1023, Math.floor(Math.log2(storage.limits.minSubnormal)) - 4);
  const high = Math.min(1023, Math.ceil(Math.log2(storage.limits.maxFinite)) + 4);
  return randomDoubles(count, low, high, seed);
}

Deno.test("minifloats nobody ships decode every code as the reference does", () => {
  for (const [name, format] of UNSHIPPED) {
    const storage = storageByName(name);
    const bits = 1 + format.exponentBits + format.fractionBits;
    const codes = allCodes(storage, bits);
    const expected = Float64Array.from(codesOf(codes), (code) => decode(code, format));
    assertSameValues(`${name}.read`, readAll(storage, codes), expected, showCode);
  }
});

Deno.test("minifloats nobody ships round ties, near-ties and random doubles as the reference does", () => {
  for (const [name, format] of UNSHIPPED) {
    for (const [suffix, direction] of [["", "nearest-even"], ["-rz", "toward-zero"]] as const) {
      const storage = storageByName(name + suffix);
      const xs = Float64Array.from([
        ...halfwayCases(format),
        ...nearTies(format, [3]),
        ...doublesAround(storage, 20_000, 31),
        ...[NaN, Infinity, -Infinity, 0, -0, Number.MAX_VALUE, -Number.MIN_VALUE],
      ]);
      assertRoundsTo(storagePaths(storage), xs, xs.map((x) => roundToFormat(x, format, direction)));
    }
  }
});

Deno.test("a format without subnormals rounds between 0 and its smallest normal", () => {
  const storage = storageByName("e6m1-b40-nosub");
  const smallest = 2 ** -39;
  assert.equal(storage.limits.minSubnormal, smallest);
  assertRoundsTo(
    storagePaths(storage),
    withNegatives([smallest / 4, smallest / 2, 0.6 * smallest, smallest, 1.25 * smallest]),
    withNegatives([0, 0, smallest, smallest, smallest]),
  );
  // The subnormal codes never come out of a write, and read as zeros of their sign.
  assert.deepEqual([...readAll(storage, Uint8Array.of(0x01, 0x81))], [0, -0]);
});

// ---------------------------------------------------------------------------------------------
// Toward zero

/** The reference's description of each format that has a truncating variant below. */
const UNSHIPPED_AND_FP8 = new Map<string, BinaryFormat>([
  ...UNSHIPPED,
  ["e4m3", { exponentBits: 4, fractionBits: 3, specials: "fn" }],
  ["e4m3-sat", { exponentBits: 4, fractionBits: 3, specials: "fn", saturate: true }],
  ["e5m2", { exponentBits: 5, fractionBits: 2 }],
]);

/** Truncating variants of formats of every kind. */
const TRUNCATING = ["e4m3-rz", "e5m2-rz", "e4m3-sat-rz", "e3m4-fn-rz", "e6m1-b40-nosub-rz"];

Deno.test("rounding toward zero never increases a magnitude and equals truncation", () => {
  for (const name of TRUNCATING) {
    const storage = storageByName(name);
    const format = UNSHIPPED_AND_FP8.get(name.replace(/-rz$/, ""));
    assert.ok(format, name);
    const xs = Float64Array.from([
      ...halfwayCases(format),
      ...doublesAround(storage, 20_000, 41),
    ]);
    const rounded = xs.map((x) => storage.round(x));
    for (let i = 0; i < xs.length; i++) {
      const [x, r] = [xs[i], rounded[i]];
      const sameSign = (r < 0 || Object.is(r, -0)) === (x < 0);
      assert.ok(Math.abs(r) <= Math.abs(x) && sameSign, `${name}: ${show(x)} gave ${show(r)}`);
    }
    assertRoundsTo(
      storagePaths(storage),
      xs,
      xs.map((x) => roundToFormat(x, format, "toward-zero")),
    );
  }
  // Truncation stops at the largest finite value; an infinity is kept where the format has one.
  assert.equal(storageByName("e4m3-rz").round(-1e6), -448);
  assert.equal(storageByName("e5m2-rz").round(1e6), 57344);
  assert.equal(storageByName("e5m2-rz").round(-Infinity), -Infinity);
  assert.ok(Number.isNaN(storageByName("e4m3-rz").round(Infinity)));
  assert.equal(storageByName("e4m3-sat-rz").round(Infinity), 448);
});

// ---------------------------------------------------------------------------------------------
// Stochastic rounding

const E4M3: BinaryFormat = { exponentBits: 4, fractionBits: 3, specials: "fn" };

function stochasticE4m3(seed: number): Storage {
  return minifloat({ exponentBits: 4, mantissaBits: 3, rounding: "stochastic", seed });
}

Deno.test("stochastic rounding leaves every value of the format as it is", () => {
  const storage = stochasticE4m3(1);
  // 2,000 draws for each value: a rule that moved values even once in a million draws
  // would show.
  const values = withNegatives(nonNegativeValues(E4M3));
  const tiled = Float64Array.from(
    { length: 2000 * values.length },
    (_, i) => values[i % values.length],
  );
  assertRoundsTo(storagePaths(storage), tiled, tiled);
});

Deno.test("stochastic rounding gives one of the two neighbours, each of them sometimes", () => {
  const storage = stochasticE4m3(2);
  const xs = Float64Array.from([...halfwayCases(E4M3), ...randomDoubles(50_000, -12, 10, 51)]);
  const lower = xs.map((x) => roundToFormat(x, E4M3, "toward-zero"));
  const upper = xs.map((x) => roundToFormat(x, E4M3, "away-from-zero"));
  let ups = 0, downs = 0;
  for (
    const [label, rounded] of [
      ["round", xs.map((x) => storage.round(x))],
      ["write+read", readAll(storage, writeAll(storage, xs))],
    ] as const
  ) {
    for (let i = 0; i < xs.length; i++) {
      const r = rounded[i];
      const isLower = Object.is(r, lower[i]), isUpper = Object.is(r, upper[i]);
      assert.ok(isLower || isUpper, `${label}: ${show(xs[i])} gave ${show(r)}`);
      if (Object.is(lower[i], upper[i])) continue;
      if (isUpper) ups++;
      else downs++;
    }
  }
  assert.ok(ups > 10_000 && downs > 10_000, `${ups} up, ${downs} down`);
});

Deno.test("stochastic rounding is unbiased: the mean of many roundings approaches the value", () => {
  // The seed is fixed, so the draws are the same in every run: the bound (5 standard errors,
  // plus the 2^-32 resolution of the draws) either always holds or never does.
  const draws = 40_000;
  const storage = stochasticE4m3(3);
  for (const x of [1 + 2 ** -5, 0.3, -0.3, 0.7 * 2 ** -9, 3.3 * 2 ** -7, -300, 447]) {
    const lower = roundToFormat(x, E4M3, "toward-zero");
    const spacing = Math.abs(roundToFormat(x, E4M3, "away-from-zero") - lower);
    const p = Math.abs(x - lower) / spacing;
    const rounded = readAll(storage, writeAll(storage, new Float64Array(draws).fill(x)));
    const mean = rounded.reduce((a, b) => a + b, 0) / draws;
    const bound = spacing * (5 * Math.sqrt((p * (1 - p)) / draws) + 2 ** -32);
    assert.ok(Math.abs(mean - x) <= bound, `${x}: mean ${mean}, off by more than ${bound}`);
  }
});

Deno.test("stochastic rounding repeats its sequence for the same seed, not for another", () => {
  const xs = new Float64Array(1000).fill(0.3);
  const run = (seed: number) => codesOf(writeAll(stochasticE4m3(seed), xs));
  assert.deepEqual(run(42), run(42));
  assert.notDeepEqual(run(42), run(43));
  // A storage's generator carries on: a second write continues the sequence.
  const storage = stochasticE4m3(42);
  const first = codesOf(writeAll(storage, xs.subarray(0, 500)));
  const second = codesOf(writeAll(storage, xs.subarray(500)));
  assert.deepEqual([...first, ...second], run(42));
  // storageByName makes a new storage per call, its stream at the start of the seed's sequence.
  assert.notEqual(storageByName("e4m3-sr42"), storageByName("e4m3-sr42"));
  assert.deepEqual(codesOf(writeAll(storageByName("e4m3-sr44"), xs)), run(44));
  // A restart at a key starts that key's sequence over, unlike the seed's own.
  storage.stream!.restart(5);
  const keyed = codesOf(writeAll(storage, xs));
  storage.stream!.restart(5);
  assert.deepEqual(codesOf(writeAll(storage, xs)), keyed);
  assert.notDeepEqual(keyed, run(42));
});

// ---------------------------------------------------------------------------------------------
// Names and errors

Deno.test("storageByName finds fp8, minifloats and rounding modes, one object per deterministic name", () => {
  assert.equal(storageByName("e4m3"), e4m3);
  assert.equal(storageByName("e5m2"), e5m2);
  const names = [
    "e3m4",
    "e4m3-sat",
    "e4m3-rz",
    "e4m3-sr42",
    "e4m3-ieee",
    "e5m2-fn",
    "e5m2-sat-sr0",
    "e5m10",
    "e8m7-rz",
    "e6m1-b40-nosub-sat-sr7",
    "e5m2-b-3",
  ];
  for (const name of names) {
    const storage = storageByName(name);
    assert.equal(storage.name, name);
    // A stochastic format's stream belongs to a run: every call makes a new object.
    if (storage.stream) assert.notEqual(storageByName(name), storage, name);
    else assert.equal(storageByName(name), storage, name);
  }
  // The options' defaults are the bare name's.
  assert.equal(minifloat({ exponentBits: 4, mantissaBits: 3 }).name, "e4m3");
  assert.equal(minifloat({ exponentBits: 4, mantissaBits: 3, specials: "ieee" }).name, "e4m3-ieee");
  assert.equal(minifloat({ exponentBits: 5, mantissaBits: 2, saturate: true }).name, "e5m2-sat");
  assert.deepEqual(STORAGES.map((s) => s.name), ["f64", "f32", "f16", "f16-polyfill", "bf16"]);
});

Deno.test("a minifloat's dtype is the safetensors one whose codes mean the same, else raw codes", () => {
  const dtypes = Object.fromEntries(
    [
      "e4m3-sat-sr1",
      "e5m2-rz",
      "e5m10",
      "e8m7-sat",
      "e4m3-ieee",
      "e5m10-nosub",
      "e8m7-b100",
      "e3m4",
    ]
      .map((name) => [name, storageByName(name).dtype]),
  );
  assert.deepEqual(dtypes, {
    "e4m3-sat-sr1": "F8_E4M3",
    "e5m2-rz": "F8_E5M2",
    "e5m10": "F16",
    "e8m7-sat": "BF16",
    "e4m3-ieee": "U8",
    "e5m10-nosub": "U16",
    "e8m7-b100": "U16",
    "e3m4": "U8",
  });
});

Deno.test("storageByName names the one spelling of a format spelled another way", () => {
  const spellings = [
    ["e4m3-fn", "e4m3"],
    ["e5m2-ieee", "e5m2"],
    ["e4m3-b7", "e4m3"],
    ["e04m3", "e4m3"],
    ["e3m4-sr007", "e3m4-sr7"],
  ];
  for (const [spelling, name] of spellings) {
    assert.throws(() => storageByName(spelling), (error) => {
      assert.ok(error instanceof RangeError, spelling);
      assert.ok(error.message.includes(`"${spelling}"`), error.message);
      assert.ok(error.message.includes(`named "${name}"`), error.message);
      return true;
    });
  }
});

Deno.test("storageByName lists the known names and the form of minifloat names for unknown ones", () => {
  for (const name of ["f8", "E4M3", "e4m3fn", "e4m3-rz-sat", "e4m3-sr", "e4m3-sr-1", "fp8"]) {
    assert.throws(() => storageByName(name), (error) => {
      assert.ok(error instanceof RangeError, name);
      assert.ok(error.message.startsWith(`Unknown storage format "${name}"`), error.message);
      for (const known of ["f64", "f16-polyfill", "bf16", "e4m3", "e5m2"]) {
        assert.ok(error.message.includes(known), error.message);
      }
      assert.ok(error.message.includes("e{E}m{M}"), error.message);
      return true;
    });
  }
});

Deno.test("minifloat refuses formats it cannot hold, saying why", () => {
  const refusals: [MinifloatOptions, string][] = [
    [{ exponentBits: 9, mantissaBits: 9 }, "needs 19 bits with the sign, expected at most 16"],
    [{ exponentBits: 12, mantissaBits: 3 }, "normal exponents run from -2046 to 2047"],
    [{ exponentBits: 5, mantissaBits: 2, bias: -1010 }, "run from 1011 to 1040"],
    [{ exponentBits: 4, mantissaBits: 0 }, "mantissaBits is 0, expected an integer of at least 1"],
    [{ exponentBits: 0, mantissaBits: 3 }, "exponentBits is 0, expected an integer of at least 1"],
    [{ exponentBits: 2.5, mantissaBits: 3 }, "exponentBits is 2.5"],
    [{ exponentBits: 1, mantissaBits: 2, subnormals: false }, "has no positive finite value"],
    [{ exponentBits: 4, mantissaBits: 3, bias: 1.5 }, "bias is 1.5, expected an integer"],
    [
      { exponentBits: 4, mantissaBits: 3, seed: 1 },
      'a seed was given with rounding "nearest-even"',
    ],
    [
      { exponentBits: 4, mantissaBits: 3, rounding: "stochastic", seed: 2 ** 32 },
      "seed is 4294967296",
    ],
    [{ exponentBits: 4, mantissaBits: 3, rounding: "up" as "toward-zero" }, 'rounding is "up"'],
    [{ exponentBits: 4, mantissaBits: 3, specials: "uz" as "fn" }, 'specials is "uz"'],
  ];
  for (const [options, reason] of refusals) {
    assert.throws(() => minifloat(options), (error) => {
      assert.ok(error instanceof RangeError, reason);
      assert.ok(error.message.startsWith("Cannot make minifloat e"), error.message);
      assert.ok(error.message.includes(reason), `${error.message} lacks ${reason}`);
      return true;
    });
  }
  // The same checks answer for names.
  assert.throws(() => storageByName("e9m9"), /at most 16/);
  assert.throws(() => storageByName("e4m3-sr4294967296"), /seed is 4294967296/);
});

// ---------------------------------------------------------------------------------------------
// The storage contract

/** Minifloats of every code width: 4 bits in a byte, 8, 9 in two bytes, 16. */
const CONTRACT: readonly Storage[] = [
  storageByName("e2m1-fn"),
  e4m3,
  e5m2,
  storageByName("e4m4"),
  storageByName("e7m8"),
];

/** Distinct values exact in every format above, so any element out of place shows. */
const BACKGROUND = Float64Array.of(1, -1, 2, -2, 3, -3, 4, -4, 1.5, -1.5);

Deno.test("minifloats allocate zeroed codes of one byte up to 8 bits and two bytes beyond", () => {
  const sizes = CONTRACT.map((s) => [s.name, s.bytesPerElement, s.alloc(5).byteLength]);
  assert.deepEqual(sizes, [
    ["e2m1-fn", 1, 5],
    ["e4m3", 1, 5],
    ["e5m2", 1, 5],
    ["e4m4", 2, 10],
    ["e7m8", 2, 10],
  ]);
  for (const storage of CONTRACT) {
    assert.deepEqual([...readAll(storage, storage.alloc(5))], [0, 0, 0, 0, 0], storage.name);
    assertRoundsTo(storagePaths(storage), BACKGROUND, BACKGROUND);
  }
});

Deno.test("minifloat read and write touch only the requested run, also in a view", () => {
  const src = Float64Array.of(-100, -200, 0.1, -0.5, 1 / 3, -300);
  for (const storage of CONTRACT) {
    const stored = writeAll(storage, BACKGROUND);
    storage.write(src, 2, stored, 4, 3);
    const expected = BACKGROUND.slice();
    for (let i = 0; i < 3; i++) expected[4 + i] = storage.round(src[2 + i]);
    assertSameValues(`${storage.name}.write`, readAll(storage, stored), expected, String);

    const dst = new Float64Array(10).fill(-7);
    storage.read(stored, 3, dst, 5, 4);
    const expectedDst = new Float64Array(10).fill(-7);
    expectedDst.set(expected.subarray(3, 7), 5);
    assertSameValues(`${storage.name}.read`, dst, expectedDst, String);

    const whole = writeAll(storage, BACKGROUND);
    const view = (whole as Uint8Array | Uint16Array).subarray(2, 8);
    const values = new Float64Array(3);
    storage.read(view, 1, values, 0, 3);
    assertSameValues(`${storage.name}.read of a view`, values, [-2, 3, -3], String);
    storage.write(Float64Array.of(-1, -2), 0, view, 4, 2);
    expected.set(BACKGROUND);
    expected.set([-1, -2], 6);
    assertSameValues(`${storage.name}.write to a view`, readAll(storage, whole), expected, String);
  }
});

Deno.test("minifloats refuse to read or write past the end of an array", () => {
  for (const storage of CONTRACT) assertBoundsChecked(storage);
});

// ---------------------------------------------------------------------------------------------
// A network in the new formats

Deno.test("DeepConvNet runs in fp8 and a stochastic minifloat, the same on either kernel path", () => {
  const images = Array.from({ length: 2 * 784 }, (_, i) => ((i * 37) % 101) / 100);
  // A fresh stochastic storage per run, so that its sequence starts over.
  const formats: [string, () => Storage][] = [
    ["e4m3", () => e4m3],
    ["e5m2", () => e5m2],
    ["e4m3-sat", () => storageByName("e4m3-sat")],
    [
      "e3m4-sr5",
      () => minifloat({ exponentBits: 3, mantissaBits: 4, rounding: "stochastic", seed: 5 }),
    ],
  ];
  for (const [name, make] of formats) {
    const run = (path: "wasm" | "typescript") => {
      const storage = make();
      const net = deepConvNet({ seed: 1 }).withKernels(path).to(storage);
      return net.forward(Tensor.from(storage, [2, 1, 28, 28], images));
    };
    const output = run("typescript");
    assert.equal(output.storage.name, name);
    const probabilities = output.toFloat64();
    assert.ok(probabilities.every(Number.isFinite), `${name}: ${probabilities}`);
    assert.ok(probabilities.some((p) => p > 0), name);
    // The wasm kernels know only f64, f32, f16 and bf16; other formats must take the
    // TypeScript path, and so give the very same outputs.
    assert.deepEqual(run("wasm").toFloat64(), probabilities, name);
  }
});
