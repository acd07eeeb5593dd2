/**
 * The wasm minifloat kernels against the TypeScript storage: narrowing float32 and float64
 * values to every minifloat of up to 8 bits (and some of 16), in every rounding mode, exactly as
 * the format's own `write` rounds them (on every code's value, every midpoint between
 * neighbouring codes, their float32 or float64 neighbours, the overflow thresholds, and random
 * bit patterns), widening every code, and ReLU over codes.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  bf16,
  f16,
  minifloat,
  type MinifloatOptions,
  ROUNDING_MODES,
  type Storage,
  storageByName,
} from "../layers/storage/mod.ts";
import { heap, requireKernels, withRegions } from "../layers/wasm/kernels.ts";
import { minifloatCodec } from "../layers/wasm/minifloat_codec.ts";
import { Random } from "../layers/random.ts";

const kernels = requireKernels();

const f32 = new Float32Array(1);
const f32Bits = new Uint32Array(f32.buffer);

/** The float32 next to `x` (a float32) away from zero (`step` 1) or toward it (-1). */
function beside(x: number, step: 1 | -1): number {
  f32[0] = x;
  f32Bits[0] += step;
  return f32[0];
}

/**
 * Where a format's roundings are decided: its magnitudes (from every code's value) and the
 * midpoints of neighbours, and past the largest.
 */
function decidingPoints(values: Float64Array): number[] {
  const magnitudes = values.filter((v) => Number.isFinite(v) && v >= 0);
  const sorted = [...new Set(magnitudes)].sort((a, b) => a - b);
  const top = sorted[sorted.length - 1];
  sorted.push(top + (top - sorted[sorted.length - 2]));
  return sorted.flatMap((v, i) => i + 1 < sorted.length ? [v, (v + sorted[i + 1]) / 2] : [v]);
}

/** Float32: every deciding point of a format with its float32 neighbours, random patterns. */
function probes(values: Float64Array): Float32Array {
  const out: number[] = [];
  for (const p of decidingPoints(values)) {
    const x = Math.fround(p); // exact: a midpoint of a 16-bit minifloat has at most 16 bits
    out.push(x, x > 0 ? beside(x, -1) : x, beside(x, 1));
  }
  out.push(Infinity, NaN, 3.4028234663852886e38, 1e-45);
  const random = new Random(7);
  const patterns = Float32Array.from({ length: 1 << 15 }, () => {
    f32Bits[0] = Math.floor(random.uniform() * 2 ** 32);
    return f32[0];
  });
  return Float32Array.from([...out, ...out.map((x) => -x), ...patterns]);
}

const f64 = new Float64Array(1);
const f64Bits = new BigInt64Array(f64.buffer);

/** The double next to `x` away from zero (`step` 1n) or toward it (-1n). */
function besideDouble(x: number, step: 1n | -1n): number {
  f64[0] = x;
  f64Bits[0] += step;
  return f64[0];
}

/**
 * Doubles: every deciding point of a format with its neighbouring doubles, values past
 * float32's range both ways (double subnormals too), random doubles of every exponent.
 */
function doubleProbes(values: Float64Array): Float64Array {
  const out: number[] = [];
  for (const p of decidingPoints(values)) {
    out.push(p, p > 0 ? besideDouble(p, -1n) : p, besideDouble(p, 1n));
  }
  out.push(Infinity, NaN, 1e300, Number.MAX_VALUE, 1e-300, Number.MIN_VALUE, 2 ** -1022);
  const random = new Random(8);
  const words = Uint32Array.from({ length: 1 << 15 }, () => random.bits());
  const patterns = new Float64Array(words.buffer);
  return Float64Array.from([...out, ...out.map((x) => -x), ...patterns]);
}

/**
 * The codes narrow_minifloat (for float32 `xs`) or narrow_minifloat_f64 (for float64 `xs`)
 * stores, given one random number each for stochastic modes.
 */
function narrow(
  storage: Storage,
  xs: Float32Array | Float64Array,
  random?: Uint32Array,
): Uint8Array | Uint16Array {
  const codec = minifloatCodec(storage);
  assert.ok(codec, `${storage.name}: no codec`);
  return withRegions((reserve) => {
    const src = reserve(xs.byteLength);
    const dst = reserve(xs.length * codec.codeBytes);
    const at = reserve(codec.encode.byteLength);
    const bits = random ? reserve(random.byteLength) : 0;
    if (random) new Uint32Array(heap(), bits, random.length).set(random);
    const Values = xs instanceof Float32Array ? Float32Array : Float64Array;
    new Values(heap(), src, xs.length).set(xs);
    new Uint8Array(heap(), at, codec.encode.byteLength).set(new Uint8Array(codec.encode));
    const kernel = xs instanceof Float32Array
      ? kernels.narrow_minifloat
      : kernels.narrow_minifloat_f64;
    kernel(src, dst, xs.length, at, codec.codeBytes, bits);
    const Codes = codec.codeBytes === 1 ? Uint8Array : Uint16Array;
    return new Codes(heap(), dst, xs.length).slice();
  });
}

/** The codes narrow_u8_lookup stores for `xs` through the lookup table of `storage`'s codec. */
function lookUp(storage: Storage, xs: Float32Array): Uint8Array {
  const lookup = minifloatCodec(storage)?.lookup;
  assert.ok(lookup, `${storage.name}: no lookup table`);
  return withRegions((reserve) => {
    const src = reserve(xs.byteLength);
    const dst = reserve(xs.length);
    const table = reserve(lookup.byteLength);
    new Float32Array(heap(), src, xs.length).set(xs);
    new Uint8Array(heap(), table, lookup.length).set(lookup);
    kernels.narrow_u8_lookup(src, dst, xs.length, table);
    return new Uint8Array(heap(), dst, xs.length).slice();
  });
}

/** The codes `narrow_u8_fields` stores for `xs` with `storage`'s parameters. */
function fromFields(storage: Storage, xs: Float32Array): Uint8Array {
  const fields = minifloatCodec(storage)?.narrowFields;
  assert.ok(fields, `${storage.name}: no fields to narrow by`);
  return withRegions((reserve) => {
    const src = reserve(xs.byteLength + 64);
    const dst = reserve(xs.length + 64);
    new Float32Array(heap(), src, xs.length).set(xs);
    kernels.narrow_u8_fields(src, dst, xs.length, ...fields);
    return new Uint8Array(heap(), dst, xs.length).slice();
  });
}

/** Asserts that `got` holds the codes `storage`'s own `write` stores for `xs`. */
function assertWritten(
  storage: Storage,
  xs: Float32Array | Float64Array,
  got: Uint8Array | Uint16Array,
): void {
  const want = storage.alloc(xs.length);
  storage.write(Float64Array.from(xs), 0, want, 0, xs.length);
  const wrong = [...got.keys()].filter((i) => got[i] !== want[i]);
  const first = wrong.length ? `${xs[wrong[0]]}: ${got[wrong[0]]}, expected ${want[wrong[0]]}` : "";
  assert.equal(wrong.length, 0, `${storage.name}: ${wrong.length} of ${xs.length} wrong, ${first}`);
}

/** The formats checked: fp8, other widths, the layout and bias options, saturation. */
const FORMATS: readonly MinifloatOptions[] = [
  { exponentBits: 4, mantissaBits: 3 },
  { exponentBits: 5, mantissaBits: 2 },
  { exponentBits: 3, mantissaBits: 4 },
  { exponentBits: 2, mantissaBits: 1 },
  { exponentBits: 2, mantissaBits: 3 },
  { exponentBits: 3, mantissaBits: 2 },
  { exponentBits: 6, mantissaBits: 1 },
  { exponentBits: 4, mantissaBits: 3, specials: "ieee" },
  { exponentBits: 4, mantissaBits: 3, saturate: true },
  { exponentBits: 5, mantissaBits: 2, saturate: true },
  { exponentBits: 5, mantissaBits: 2, subnormals: false },
  { exponentBits: 4, mantissaBits: 3, bias: 11 },
  { exponentBits: 4, mantissaBits: 2, bias: -3, subnormals: false },
];

Deno.test("narrow_minifloat stores the code write stores, every format and deterministic mode", () => {
  let checked = 0;
  for (const options of FORMATS) {
    for (const { mode } of ROUNDING_MODES.filter((m) => !m.mode.startsWith("stochastic"))) {
      const storage = minifloat({ ...options, rounding: mode });
      const xs = probes(minifloatCodecValues(storage));
      assertWritten(storage, xs, narrow(storage, xs));
      // Nearest even has the lookup table too (the staging's path): it must agree with write.
      if (mode === "nearest-even") assertWritten(storage, xs, lookUp(storage, xs));
      checked += xs.length;
    }
  }
  assert.ok(checked > 1e6);
});

Deno.test("narrow_u8_lookup stores write's code for every float32's top 16 bits and low halves", () => {
  // A code depends on the top 16 bits and whether the low 16 are zero: these low halves, the
  // lowest, highest and middle nonzero ones, reach every case of the lookup.
  const lows = [0, 1, 0x8000, 0xffff];
  const bits = Uint32Array.from({ length: lows.length << 16 }, (_, i) => {
    return ((i >> 2) << 16 | lows[i & 3]) >>> 0;
  });
  const xs = new Float32Array(bits.buffer);
  const byFields: string[] = [];
  for (const options of FORMATS) {
    const storage = minifloat(options);
    assertWritten(storage, xs, lookUp(storage, xs));
    // narrow_u8_fields, where chosen, on the same float32 and a million random ones.
    if (!minifloatCodec(storage)?.narrowFields) continue;
    byFields.push(storage.name);
    assertWritten(storage, xs, fromFields(storage, xs));
    const random = new Random(71);
    const words = Uint32Array.from({ length: 1 << 20 }, () => random.bits());
    const randomXs = new Float32Array(words.buffer);
    assertWritten(storage, randomXs, fromFields(storage, randomXs));
  }
  for (const name of ["e4m3", "e5m2", "e3m4"]) {
    assert.ok(minifloatCodec(storageByName(name))?.narrowFields, name);
  }
  assert.ok(byFields.length >= 4, byFields.join(", "));
});

Deno.test("a format whose midpoints need a float32's low bits has no lookup table", () => {
  // Subnormals down to 2^-142: the midpoint 2^-143 is a float32 subnormal, bit 6 of its code.
  const storage = minifloat({ exponentBits: 4, mantissaBits: 3, bias: 140 });
  const codec = minifloatCodec(storage);
  assert.ok(codec, storage.name);
  assert.equal(codec.lookup, undefined);
  assert.ok(minifloatCodec(minifloat({ exponentBits: 4, mantissaBits: 3 }))?.lookup);
});

/** Minifloats of 9 to 16 bits, on the wasm path through tables of 65,536 codes. */
const WIDE: readonly MinifloatOptions[] = [
  { exponentBits: 5, mantissaBits: 10 },
  { exponentBits: 8, mantissaBits: 7 },
  { exponentBits: 6, mantissaBits: 4, saturate: true },
  { exponentBits: 4, mantissaBits: 8, subnormals: false },
];

/**
 * Minifloats with values float32 cannot hold, which the kernels compute in float64: exponents
 * past float32's both ways, a bias that moves every value past its largest, subnormals below its
 * smallest.
 */
const BEYOND_FLOAT32: readonly MinifloatOptions[] = [
  { exponentBits: 9, mantissaBits: 6 },
  { exponentBits: 11, mantissaBits: 4, specials: "ieee" },
  { exponentBits: 5, mantissaBits: 2, bias: -100 },
  { exponentBits: 4, mantissaBits: 3, bias: 150 },
];

Deno.test("narrow_minifloat stores write's code for minifloats of 9 to 16 bits", () => {
  for (const options of WIDE) {
    for (const rounding of ["nearest-even", "toward-zero", "odd"] as const) {
      const storage = minifloat({ ...options, rounding });
      const xs = probes(minifloatCodecValues(storage));
      assertWritten(storage, xs, narrow(storage, xs));
    }
  }
});

Deno.test("narrow_minifloat_f64 rounds a double once, to the code write stores", () => {
  let checked = 0;
  for (const options of [...FORMATS, ...WIDE, ...BEYOND_FLOAT32]) {
    for (const { mode } of ROUNDING_MODES.filter((m) => !m.mode.startsWith("stochastic"))) {
      const storage = minifloat({ ...options, rounding: mode });
      const xs = doubleProbes(minifloatCodecValues(storage));
      assertWritten(storage, xs, narrow(storage, xs));
      checked += xs.length;
    }
  }
  assert.ok(checked > 1e6);
});

/** `xs` rounded to odd as float32 by demote_odd. */
function demoteOdd(xs: Float64Array): Float32Array {
  return withRegions((reserve) => {
    const src = reserve(xs.byteLength + 16);
    const dst = reserve(xs.length * 4 + 16);
    new Float64Array(heap(), src, xs.length).set(xs);
    kernels.demote_odd(src, dst, xs.length);
    return new Float32Array(heap(), dst, xs.length).slice();
  });
}

Deno.test("a double rounded to odd as a float32, then narrowed, gets write's code", () => {
  // Every deterministic mode of every format whose codec says so, through each float32 narrowing.
  for (const options of [...FORMATS, ...WIDE]) {
    for (const { mode } of ROUNDING_MODES.filter((m) => !m.mode.startsWith("stochastic"))) {
      const storage = minifloat({ ...options, rounding: mode });
      const codec = minifloatCodec(storage)!;
      assert.ok(codec.fromOdd, storage.name);
      const xs = doubleProbes(minifloatCodecValues(storage));
      const odd = demoteOdd(xs);
      assertWritten(storage, xs, narrow(storage, odd));
      if (codec.lookup) assertWritten(storage, xs, lookUp(storage, odd));
      if (codec.narrowFields) assertWritten(storage, xs, fromFields(storage, odd));
    }
  }
  // f16 and bf16 through their SIMD narrowing.
  for (
    const [storage, kernel] of [[f16, kernels.narrow_f16], [bf16, kernels.narrow_bf16]] as const
  ) {
    const xs = doubleProbes(minifloatCodecValues(storage));
    const odd = demoteOdd(xs);
    const got = withRegions((reserve) => {
      const src = reserve(odd.byteLength + 32);
      const dst = reserve(odd.length * 2 + 32);
      new Float32Array(heap(), src, odd.length).set(odd);
      kernel(src, dst, Math.ceil(odd.length / 8) * 8);
      return new Uint16Array(heap(), dst, odd.length).slice();
    });
    // Compared as values (f16's array holds values), every NaN alike.
    const values = new Float64Array(got.length);
    storage.read(got, 0, values, 0, got.length);
    const wrong = [...values.keys()].filter((i) =>
      !Object.is(values[i], storage.round(xs[i])) && !(values[i] !== values[i] && xs[i] !== xs[i])
    );
    assert.equal(wrong.length, 0, `${storage.name}: ${wrong.length} wrong, first ${xs[wrong[0]]}`);
  }
  // Rounded to nearest instead, some land on a tie and round the wrong way.
  const e5m2 = storageByName("e5m2");
  const xs = doubleProbes(minifloatCodecValues(e5m2));
  const want = e5m2.alloc(xs.length);
  e5m2.write(xs, 0, want, 0, xs.length);
  assert.ok(narrow(e5m2, Float32Array.from(xs)).some((c, i) => c !== want[i]));
});

Deno.test("a format with values closer than 2^-147 is narrowed from the double itself", () => {
  // Two values 2^-148 apart have a midpoint that is an odd float32 (a multiple of 2^-149): a
  // double just past it is rounded to odd onto it, a tie, which goes to the even side.
  const cases = [
    ["e8m3-b146", 2 ** -149], // subnormals 2^-148 apart: between 0 and 2^-148
    ["e4m3-b146-nosub", 2 ** -145 + 2 ** -149], // normals from 2^-145, 2^-148 apart
  ] as const;
  for (const [name, tie] of cases) {
    const storage = storageByName(name);
    assert.equal(minifloatCodec(storage)!.fromOdd, false, name);
    const x = Float64Array.of(tie * (1 + 2 ** -30));
    const want = storage.alloc(1);
    storage.write(x, 0, want, 0, 1);
    assert.notEqual(narrow(storage, demoteOdd(x))[0], want[0], name);
    assertWritten(storage, x, narrow(storage, x));
  }
  assert.equal(minifloatCodec(storageByName("e4m3-sr1"))!.fromOdd, false, "stochastic");
});

Deno.test("narrow_minifloat(_f64) round stochastically as write does, from the same stream", () => {
  for (const options of FORMATS.slice(0, 4)) {
    for (
      const [name, probe] of ["-sr5", "-sr5-bits3", "-sre5"].flatMap((n) =>
        [[n, probes], [n, doubleProbes]] as const
      )
    ) {
      const rounding = name.startsWith("-sre") ? "stochastic-equal" : "stochastic";
      const randomBits = name.includes("bits") ? { randomBits: 3 } : {};
      const storage = minifloat({ ...options, rounding, seed: 5, ...randomBits });
      const xs = probe(minifloatCodecValues(storage));
      const random = new Uint32Array(xs.length);
      storage.stream!.restart(9);
      storage.stream!.draw!(random);
      const got = narrow(storage, xs, random);
      storage.stream!.restart(9);
      assertWritten(storage, xs, got);
      // The draws decide: the same values with other numbers round elsewhere.
      const other = narrow(storage, xs, random.map((r) => ~r >>> 0));
      assert.ok(other.some((c, i) => c !== got[i]), storage.name);
    }
  }
});

/** Every code's value of `storage`, read through its own `read`. */
function minifloatCodecValues(storage: Storage): Float64Array {
  const count = 2 ** (8 * storage.bytesPerElement);
  const codes = storage.alloc(count);
  for (let c = 0; c < count; c++) codes[c] = c;
  const values = new Float64Array(count);
  storage.read(codes, 0, values, 0, count);
  return values;
}

Deno.test("building a stochastic format's codec draws nothing from its stream", () => {
  for (const name of ["e3m4-sr7", "e5m2-sr3-bits4", "e5m10-sr1"]) {
    const storage = storageByName(name);
    const next = () => {
      const numbers = new Uint32Array(4);
      storage.stream!.draw!(numbers);
      return [...numbers];
    };
    storage.stream!.restart(5);
    const untouched = next();
    storage.stream!.restart(5);
    assert.ok(minifloatCodec(storage), name);
    assert.deepEqual(next(), untouched, name);
  }
});

Deno.test("widen_u8 gives every code's value; map_u8 with the ReLU table gives ReLU's codes", () => {
  for (const options of FORMATS) {
    const storage = minifloat(options);
    const codec = minifloatCodec(storage)!;
    const codes = Uint8Array.from({ length: 256 }, (_, c) => c);
    const [widened, relu] = withRegions((reserve) => {
      const src = reserve(256);
      const dst = reserve(1024);
      const table = reserve(1024);
      const reluTable = reserve(256);
      new Uint8Array(heap(), src, 256).set(codes);
      new Float32Array(heap(), table, 256).set(codec.decode);
      new Uint8Array(heap(), reluTable, 256).set(codec.relu);
      kernels.widen_u8(src, dst, 256, table);
      kernels.map_u8(src, 256, reluTable);
      return [new Float32Array(heap(), dst, 256).slice(), new Uint8Array(heap(), src, 256).slice()];
    });
    const used = 2 ** (1 + options.exponentBits + options.mantissaBits);
    const values = minifloatCodecValues(storage).subarray(0, used);
    widened.subarray(0, used).forEach((v, c) =>
      assert.ok(Object.is(v, values[c]) || (v !== v && values[c] !== values[c]))
    );
    const expected = storage.alloc(256) as Uint8Array;
    storage.write(values.map((v) => v < 0 ? 0 : v), 0, expected, 0, used);
    assert.deepEqual([...relu.subarray(0, used)], [...expected.subarray(0, used)], storage.name);
  }
});

Deno.test("a minifloat with values outside float32 widens to float64, through no float32", () => {
  for (const options of BEYOND_FLOAT32) {
    const storage = minifloat(options);
    const codec = minifloatCodec(storage)!;
    assert.ok(codec.float64, storage.name);
    // The lookup, the SIMD fields and rounding to odd all go through float32.
    assert.ok(!codec.lookup && !codec.fields && !codec.narrowFields && !codec.fromOdd);
    const count = codec.decode.length;
    const widened = withRegions((reserve) => {
      const src = reserve(count * codec.codeBytes);
      const dst = reserve(count * 8);
      const table = reserve(count * 8);
      const Codes = codec.codeBytes === 1 ? Uint8Array : Uint16Array;
      new Codes(heap(), src, count).set(Array.from({ length: count }, (_, c) => c));
      new Float64Array(heap(), table, count).set(codec.decode);
      kernels.widen_codes_f64(src, dst, count, table, codec.codeBytes);
      return new Float64Array(heap(), dst, count).slice();
    });
    assert.deepEqual(widened, minifloatCodecValues(storage), storage.name);
  }
  assert.equal(minifloatCodec(storageByName("e8m7"))?.float64, false);
});

Deno.test("widen_u8_fields and relu_u8_codes give the tables' values and codes, where chosen", () => {
  const chosen: string[] = [];
  for (const options of FORMATS) {
    const storage = minifloat(options);
    const codec = minifloatCodec(storage)!;
    const { fields, reluRule } = codec;
    if (!fields || !reluRule) continue;
    chosen.push(storage.name);
    const codes = Uint8Array.from({ length: 256 }, (_, c) => c);
    const [widened, relu] = withRegions((reserve) => {
      const src = reserve(256);
      const dst = reserve(1024);
      new Uint8Array(heap(), src, 256).set(codes);
      const { shift, rebias, subnormal, infinity, nan } = fields;
      kernels.widen_u8_fields(src, dst, 256, shift, rebias, subnormal, infinity, nan);
      const { low, high, zero, nan: nanFrom, nanCode } = reluRule;
      kernels.relu_u8_codes(src, 256, low, high, zero, nanFrom, nanCode);
      return [new Uint32Array(heap(), dst, 256).slice(), new Uint8Array(heap(), src, 256).slice()];
    });
    const table = new Uint32Array(codec.decode.buffer, codec.decode.byteOffset, 256);
    assert.deepEqual([...widened], [...table], storage.name);
    assert.deepEqual([...relu], [...codec.relu], storage.name);
  }
  // Every format of 8 bits with a sign and both IEEE-like fields: fp8 as the staging runs it.
  for (const name of ["e4m3", "e5m2", "e3m4"]) {
    const codec = minifloatCodec(storageByName(name));
    assert.ok(codec?.fields && codec.reluRule, name);
  }
  assert.ok(chosen.length >= 6, chosen.join(", "));
  // A format of fewer bits has codes past its own: the table's zeros, not the fields' values.
  assert.equal(minifloatCodec(minifloat({ exponentBits: 2, mantissaBits: 1 }))?.fields, undefined);
});
