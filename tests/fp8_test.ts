/**
 * Tests of the fp8 formats against the OCP 8-bit Floating Point Specification (OFP8 1.0).
 *
 * Every one of the 256 codes of each format is decoded and checked against the field formulas
 * as the specification states them, written out here apart from the generic reference; the
 * values the specification lists by name are checked as literals. Rounding is checked against
 * the exact integer reference (`_reference_round.ts`) at every halfway point and on random
 * doubles, and overflow, NaN and signed zeros case by case.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  e4m3,
  e5m2,
  FP8_STORAGES,
  type Storage,
  storageByName,
  STORAGES,
} from "../layers/storage/mod.ts";
import { Tensor } from "../layers/tensor.ts";
import { parseSafetensors, serializeSafetensors } from "../data/safetensors.ts";
import { type BinaryFormat, decode, roundToFormat } from "./_reference_round.ts";
import { adjacentDouble, halfwayCases, randomDoubles } from "./_rounding_inputs.ts";
import {
  assertRoundsTo,
  assertSameValues,
  readAll,
  show,
  showCode,
  storagePaths,
  writeAll,
} from "./_assert_values.ts";

/** E4M3 by the specification: 4 exponent bits, bias 7, 3 fraction bits, NaN = S.1111.111. */
function specE4M3(code: number): number {
  const sign = code & 0x80 ? -1 : 1;
  const exponent = (code >> 3) & 0xf;
  const mantissa = code & 0x7;
  if (exponent === 0xf && mantissa === 0x7) return NaN;
  if (exponent === 0) return sign * 2 ** (1 - 7) * (mantissa / 8);
  return sign * 2 ** (exponent - 7) * (1 + mantissa / 8);
}

/** E5M2 by the specification: 5 exponent bits, bias 15, 2 fraction bits, Inf = S.11111.00. */
function specE5M2(code: number): number {
  const sign = code & 0x80 ? -1 : 1;
  const exponent = (code >> 2) & 0x1f;
  const mantissa = code & 0x3;
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : NaN;
  if (exponent === 0) return sign * 2 ** (1 - 15) * (mantissa / 4);
  return sign * 2 ** (exponent - 15) * (1 + mantissa / 4);
}

/** The formats as the reference describes them, with their storages under test. */
const E4M3: BinaryFormat = { exponentBits: 4, fractionBits: 3, specials: "fn" };
const E5M2: BinaryFormat = { exponentBits: 5, fractionBits: 2 };
const CASES: readonly [Storage, BinaryFormat][] = [
  [e4m3, E4M3],
  [storageByName("e4m3-sat"), { ...E4M3, saturate: true }],
  [e5m2, E5M2],
  [storageByName("e5m2-sat"), { ...E5M2, saturate: true }],
];

const ALL_CODES = Uint8Array.from({ length: 256 }, (_, code) => code);

function reference(format: BinaryFormat, xs: Float64Array): Float64Array {
  return xs.map((x) => roundToFormat(x, format));
}

// ---------------------------------------------------------------------------------------------
// Decoding

Deno.test("e4m3 and e5m2 decode all 256 codes as the OCP 8-bit specification defines them", () => {
  for (const [storage, spec, format] of [[e4m3, specE4M3, E4M3], [e5m2, specE5M2, E5M2]] as const) {
    const expected = Float64Array.from(ALL_CODES, spec);
    assertSameValues(`${storage.name}.read`, readAll(storage, ALL_CODES), expected, showCode);
    // The generic reference must agree with the specification before the rounding tests
    // trust it.
    const generic = Float64Array.from(ALL_CODES, (code) => decode(code, format));
    assertSameValues(`the reference's ${storage.name}`, generic, expected, showCode);
  }
});

Deno.test("e4m3 and e5m2 give the values the OCP specification lists by name", () => {
  const listed: [Storage, number, number][] = [
    [e4m3, 0x7e, 448], // max normal S.1111.110
    [e4m3, 0xfe, -448],
    [e4m3, 0x08, 2 ** -6], // min normal S.0001.000
    [e4m3, 0x07, 0.875 * 2 ** -6], // max subnormal S.0000.111
    [e4m3, 0x01, 2 ** -9], // min subnormal S.0000.001
    [e4m3, 0x38, 1],
    [e4m3, 0x00, 0],
    [e4m3, 0x80, -0],
    [e4m3, 0x7f, NaN], // S.1111.111
    [e4m3, 0xff, NaN],
    [e4m3, 0x78, 256], // S.1111.000: a number, not an infinity
    [e5m2, 0x7b, 57344], // max normal S.11110.11
    [e5m2, 0xfb, -57344],
    [e5m2, 0x04, 2 ** -14], // min normal S.00001.00
    [e5m2, 0x03, 0.75 * 2 ** -14], // max subnormal S.00000.11
    [e5m2, 0x01, 2 ** -16], // min subnormal S.00000.01
    [e5m2, 0x3c, 1],
    [e5m2, 0x00, 0],
    [e5m2, 0x80, -0],
    [e5m2, 0x7c, Infinity], // S.11111.00
    [e5m2, 0xfc, -Infinity],
    [e5m2, 0x7d, NaN], // S.11111.{01,10,11}
    [e5m2, 0x7e, NaN],
    [e5m2, 0x7f, NaN],
    [e5m2, 0xfd, NaN],
  ];
  for (const [storage, code, value] of listed) {
    const [actual] = readAll(storage, Uint8Array.of(code));
    assert.ok(
      Object.is(actual, value),
      `${storage.name} ${showCode(code)}: ${show(actual)}, expected ${value}`,
    );
  }
  const count = (storage: Storage, test: (x: number) => boolean) =>
    readAll(storage, ALL_CODES).filter(test).length;
  assert.equal(count(e4m3, Number.isNaN), 2);
  assert.equal(count(e4m3, (x) => Math.abs(x) === Infinity), 0);
  assert.equal(count(e5m2, Number.isNaN), 6);
  assert.equal(count(e5m2, (x) => Math.abs(x) === Infinity), 2);
});

Deno.test("e4m3 and e5m2 store each of their values back as the same code", () => {
  for (const storage of FP8_STORAGES) {
    const values = readAll(storage, ALL_CODES);
    const codes = writeAll(storage, values);
    for (const code of ALL_CODES) {
      // Every NaN is stored as one NaN code; every other value as its very own code.
      const ok = Number.isNaN(values[code])
        ? Number.isNaN(values[codes[code]])
        : codes[code] === code;
      assert.ok(ok, `${storage.name}: ${showCode(code)} stored back as ${showCode(codes[code])}`);
    }
  }
});

// ---------------------------------------------------------------------------------------------
// Rounding

Deno.test("e4m3 and e5m2 round every tie to even, and the doubles next to it to the nearer", () => {
  for (const [storage, format] of CASES) {
    const xs = halfwayCases(format);
    assertRoundsTo(storagePaths(storage), xs, reference(format, xs));
  }
});

Deno.test("e4m3 and e5m2 agree with the exact reference on 200,000 random doubles", () => {
  // 2^-24 is far below the smallest subnormals, 2^20 far above the largest finite values.
  const xs = randomDoubles(200_000, -24, 20, 11);
  for (const [storage, format] of CASES) {
    assertRoundsTo(storagePaths(storage), xs, reference(format, xs));
  }
});

Deno.test("e4m3 rounds to NaN beyond 448 (from the tie at 464 on), e4m3-sat to ±448", () => {
  const xs = [448, 460, 464, adjacentDouble(464, 1), 480, 1e6, Number.MAX_VALUE, Infinity];
  const saturating = storageByName("e4m3-sat");
  const cases: [number, number, number][] = xs.flatMap((x, i) => {
    // 448 is S.1111.110 (even), so the tie at 464 goes down; 480 would be the NaN code.
    const near = i < 3 ? 448 : NaN;
    return [[x, near, 448], [-x, -near, -448]];
  });
  for (const [x, expected, saturated] of cases) {
    assert.ok(Object.is(e4m3.round(x), expected), `e4m3.round(${x}) is ${e4m3.round(x)}`);
    assert.ok(Object.is(saturating.round(x), saturated), `e4m3-sat.round(${x})`);
  }
});

Deno.test("e5m2 overflows to ±Infinity from the tie at 61440 on, e5m2-sat to ±57344", () => {
  const saturating = storageByName("e5m2-sat");
  const cases: [number, number, number][] = [
    [57344, 57344, 57344],
    [adjacentDouble(61440, -1), 57344, 57344],
    // 57344 is S.11110.11 (odd), so the tie goes up, to the infinity's code.
    [61440, Infinity, 57344],
    [1e9, Infinity, 57344],
    [Infinity, Infinity, 57344],
  ];
  for (const [x, expected, saturated] of cases) {
    for (const sign of [1, -1]) {
      assert.equal(e5m2.round(sign * x), sign * expected, `e5m2.round(${sign * x})`);
      assert.equal(saturating.round(sign * x), sign * saturated, `e5m2-sat.round(${sign * x})`);
    }
  }
});

Deno.test("e4m3 and e5m2 keep NaN and the sign of zero, also of values that underflow", () => {
  for (const [storage] of CASES) {
    const xs = Float64Array.of(NaN, -NaN, 0, -0, Number.MIN_VALUE, -Number.MIN_VALUE, 2 ** -30);
    const expected = Float64Array.of(NaN, NaN, 0, -0, 0, -0, 0);
    assertRoundsTo(storagePaths(storage), xs, expected);
  }
  // Half the smallest subnormal is a tie between 0 and it: to 0, the even code.
  assert.ok(Object.is(e4m3.round(-(2 ** -10)), -0));
  assert.equal(e4m3.round(adjacentDouble(2 ** -10, 1)), 2 ** -9);
  assert.ok(Object.is(e5m2.round(-(2 ** -17)), -0));
  assert.equal(e5m2.round(3 * 2 ** -17), 2 ** -15); // a tie between codes 1 and 2: to 2
});

// ---------------------------------------------------------------------------------------------
// Metadata and files

Deno.test("e4m3 and e5m2 have their names, safetensors dtypes, sizes and limits", () => {
  assert.deepEqual(FP8_STORAGES, [e4m3, e5m2]);
  assert.deepEqual(STORAGES.map((s) => s.name), ["f64", "f32", "f16", "f16-polyfill", "bf16"]);
  assert.deepEqual(
    FP8_STORAGES.map((s) => [s.name, s.dtype, s.bytesPerElement, s.alloc(3) instanceof Uint8Array]),
    [["e4m3", "F8_E4M3", 1, true], ["e5m2", "F8_E5M2", 1, true]],
  );
  assert.deepEqual(e4m3.limits, {
    significandBits: 4,
    minNormal: 2 ** -6,
    minSubnormal: 2 ** -9,
    maxFinite: 448,
  });
  assert.deepEqual(e5m2.limits, {
    significandBits: 3,
    minNormal: 2 ** -14,
    minSubnormal: 2 ** -16,
    maxFinite: 57344,
  });
});

Deno.test("e4m3 and e5m2 tensors keep all 256 codes through a safetensors file", () => {
  for (const storage of FP8_STORAGES) {
    const original = new Tensor(storage, [16, 16], ALL_CODES.slice());
    const file = serializeSafetensors({ x: original });
    const back = parseSafetensors(file, "fp8.safetensors").tensors.get("x");
    assert.equal(back?.storage, storage);
    assert.deepEqual(back.shape, [16, 16]);
    assert.deepEqual(back.data, ALL_CODES);
    assert.deepEqual(serializeSafetensors({ x: back }), file);
  }
});
