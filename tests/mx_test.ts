/**
 * MX element types, E8M0, the scale rules and the block quantizer, against the OCP
 * Microscaling specification v1.0's definitions: every element code decoded from its bits.
 */
import assert from "node:assert/strict";
import {
  E2M1_ELEMENT,
  E2M3_ELEMENT,
  E3M2_ELEMENT,
  E4M3_ELEMENT,
  E5M2_ELEMENT,
  e8m0Value,
  type ElementType,
  MXINT8_ELEMENT,
  quantizeMxBlock,
  quantizeOperand,
  quantizeWithScale,
  roundElement,
  ROUNDING_MODES,
  SCALE_RULES,
  scaledBits,
  scaledCounts,
  scaledStorage,
  sharedExponent,
  storageByName,
} from "../layers/storage/mod.ts";
import { f32 } from "../layers/storage/f32.ts";
import { randomDoubles } from "./_rounding_inputs.ts";

/** The value of a sign-magnitude float code as the specification defines it; undefined for NaN. */
function decodeFloat(
  code: number,
  exponentBits: number,
  fractionBits: number,
  special: "none" | "fn" | "ieee",
): number | undefined {
  const bias = 2 ** (exponentBits - 1) - 1;
  const sign = code >> (exponentBits + fractionBits) ? -1 : 1;
  const e = (code >> fractionBits) & (2 ** exponentBits - 1);
  const m = code & (2 ** fractionBits - 1);
  const allOnes = 2 ** exponentBits - 1;
  if (special === "fn" && e === allOnes && m === 2 ** fractionBits - 1) return undefined;
  if (special === "ieee" && e === allOnes) return m === 0 ? sign * Infinity : undefined;
  if (e === 0) return sign * 2 ** (1 - bias) * (m / 2 ** fractionBits);
  return sign * 2 ** (e - bias) * (1 + m / 2 ** fractionBits);
}

interface Case {
  element: ElementType;
  /** Every code's value (undefined: NaN), by code. */
  values: (number | undefined)[];
}

function floatCase(
  element: ElementType,
  e: number,
  m: number,
  special: "none" | "fn" | "ieee",
): Case {
  const values = Array.from({ length: 2 ** (1 + e + m) }, (_, c) => decodeFloat(c, e, m, special));
  return { element, values };
}

const CASES: Case[] = [
  floatCase(E4M3_ELEMENT, 4, 3, "fn"),
  floatCase(E5M2_ELEMENT, 5, 2, "ieee"),
  floatCase(E3M2_ELEMENT, 3, 2, "none"),
  floatCase(E2M3_ELEMENT, 2, 3, "none"),
  floatCase(E2M1_ELEMENT, 2, 1, "none"),
  // Two's complement, implicit 2^-6.
  { element: MXINT8_ELEMENT, values: Array.from({ length: 256 }, (_, c) => (c << 24 >> 24) / 64) },
];

Deno.test("the element types' largest normals are the specification's", () => {
  assert.deepEqual(CASES.map((c) => c.element.maxNormal), [448, 57344, 28, 7.5, 6, 127 / 64]);
  const e2m1 = CASES[4].values.filter((v) => v! >= 0);
  assert.deepEqual([...new Set(e2m1)], [0, 0.5, 1, 1.5, 2, 3, 4, 6]);
});

for (const { element, values } of CASES) {
  Deno.test(`${element.name} element (${element.bits} bits): every code, tie and neighbour`, () => {
    const finite = values.filter((v): v is number => v !== undefined && Number.isFinite(v));
    // The largest finite code is the largest normal (INT8's -128 decodes to -2, never produced).
    const symmetric = element === MXINT8_ELEMENT ? finite.filter((v) => v !== -2) : finite;
    assert.equal(Math.max(...symmetric), element.maxNormal);
    assert.equal(Math.min(...symmetric), -element.maxNormal);
    for (const v of finite) {
      const expected = Math.max(-element.maxNormal, Math.min(element.maxNormal, v));
      assert.equal(roundElement(element, v), expected, `code value ${v}`);
    }
    // Non-negative values, ascending, with their code's last bit: ties go to the even code.
    const codes = values
      .map((v, code) => ({ v, code }))
      .filter((c): c is { v: number; code: number } =>
        c.v !== undefined && c.v >= 0 && c.v <= element.maxNormal && !Object.is(c.v, -0)
      )
      .sort((a, b) => a.v - b.v);
    for (let i = 0; i + 1 < codes.length; i++) {
      const [lo, hi] = [codes[i], codes[i + 1]];
      const tie = (lo.v + hi.v) / 2;
      const even = (lo.code & 1) === 0 ? lo.v : hi.v;
      assert.equal(roundElement(element, tie), even, `tie ${tie}`);
      assert.equal(roundElement(element, -tie), -even, `tie ${-tie}`);
      const gap = hi.v - lo.v;
      assert.equal(roundElement(element, tie - gap / 1024), lo.v);
      assert.equal(roundElement(element, tie + gap / 1024), hi.v);
    }
    assert.equal(roundElement(element, element.maxNormal * 1.5), element.maxNormal);
    assert.equal(roundElement(element, -Infinity), -element.maxNormal);
    assert.ok(Number.isNaN(roundElement(element, NaN)));
  });
}

Deno.test("E8M0: every code is 2^(code - 127), 255 is NaN", () => {
  for (let code = 0; code < 255; code++) assert.equal(e8m0Value(code), 2 ** (code - 127));
  assert.ok(Number.isNaN(e8m0Value(255)));
  assert.throws(() => e8m0Value(256), RangeError);
});

Deno.test("every E8M0 scale: a block whose amax is 2^(k + emax) gets exponent k, exact", () => {
  for (const { element } of CASES) {
    for (let k = -127; k <= 127; k++) {
      const amax = 2 ** (k + element.emax);
      const block = [amax, -amax / 2, 0];
      const out = new Float32Array(3);
      const exponent = quantizeMxBlock(element, "floor", block, out, 3);
      assert.equal(exponent, k, `${element.name} k=${k}`);
      // Exact unless the scaled value falls below float32 (the carrier).
      assert.equal(out[0], Math.fround(amax));
      assert.equal(out[1], Math.fround(-amax / 2));
    }
  }
});

Deno.test("the largest and the smallest scale: exponents clamp to E8M0's range", () => {
  const out = new Float32Array(2);
  assert.equal(quantizeMxBlock(E2M1_ELEMENT, "floor", [2 ** -140, 0], out, 2), -127);
  assert.deepEqual([...out], [0, 0]); // 2^-140 / 2^-127 = 2^-13: below E2M1's 0.5, flushed
  assert.equal(quantizeMxBlock(E2M1_ELEMENT, "floor", [2 ** 200, 1], out, 2), 127);
  assert.equal(out[0], Infinity); // 6 · 2^127 is beyond float32: the carrier overflows
  // MXINT8 (emax 0) reaches the largest scale within float32.
  assert.equal(quantizeMxBlock(MXINT8_ELEMENT, "floor", [2 ** 127, -(2 ** 126)], out, 2), 127);
  assert.deepEqual([...out], [2 ** 127, -(2 ** 126)]);
});

Deno.test("blocks of zeros, with a NaN, with an infinity, at the element's maximum", () => {
  const out = new Float32Array(4);
  const counts = scaledCounts();
  assert.equal(quantizeMxBlock(E4M3_ELEMENT, "floor", [0, -0, 0, 0], out, 4, counts), -127);
  assert.deepEqual([...out].map(Math.abs), [0, 0, 0, 0]);
  assert.ok(Number.isNaN(quantizeMxBlock(E4M3_ELEMENT, "floor", [1, NaN, 2, 3], out, 4, counts)));
  assert.ok(out.every(Number.isNaN));
  assert.ok(Number.isNaN(quantizeMxBlock(E2M1_ELEMENT, "floor", [1, -Infinity], out, 2, counts)));
  assert.ok(Number.isNaN(out[0]) && Number.isNaN(out[1]));
  // 48 = 6 · 2^3, E2M1's largest element at scale 2^3: exact, not clamped.
  const before = counts.clamped;
  assert.equal(quantizeMxBlock(E2M1_ELEMENT, "floor", [48, -48, 1], out, 3, counts), 3);
  assert.deepEqual([...out.subarray(0, 3)], [48, -48, 0]);
  assert.equal(counts.clamped, before);
  assert.equal(counts.flushed, 1); // 1 / 8 is below E2M1's 0.5
  assert.equal(counts.nonFinite, 6);
});

/** The rules' definitions, by search over exponents rather than by formula. */
function ruleByDefinition(element: ElementType, rule: string, amax: number): number {
  const k0 = -200;
  let k = k0;
  if (rule === "floor") { while (2 ** (k + 1 + element.emax) <= amax) k++; }
  if (rule === "ceil") { while (2 ** (k + element.emax) < amax) k++; }
  if (rule === "rceil") { while (element.maxNormal * 2 ** k < amax) k++; }
  if (rule === "even") {
    // amax rounded to the element's fraction bits (ties away), then floor.
    const e = Math.floor(Math.log2(amax));
    const q = 2 ** (e - element.fractionBits);
    const r = Math.round(amax / q) * q;
    while (2 ** (k + 1 + element.emax) <= r) k++;
  }
  return Math.min(Math.max(k, -127), 127);
}

Deno.test("the four scale rules match their definitions; ceil and rceil never clamp", () => {
  let seed = 12345;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (const { element } of CASES) {
    for (const rule of SCALE_RULES) {
      const counts = scaledCounts();
      for (let t = 0; t < 300; t++) {
        const amax = (1 + random()) * 2 ** Math.floor(random() * 40 - 20);
        assert.equal(
          sharedExponent(element, rule, amax),
          ruleByDefinition(element, rule, amax),
          `${element.name} ${rule} ${amax}`,
        );
        const block = Array.from({ length: 32 }, () => (random() - 0.5) * 2 * amax);
        quantizeMxBlock(element, rule, block, new Float32Array(32), 32, counts);
      }
      if (rule === "ceil" || rule === "rceil") assert.equal(counts.clamped, 0, rule);
    }
  }
  // The rules differ where the issue says they do: FP4 with amax 7 and 4.5.
  assert.deepEqual(SCALE_RULES.map((r) => sharedExponent(E2M1_ELEMENT, r, 7)), [0, 1, 1, 1]);
  assert.deepEqual(SCALE_RULES.map((r) => sharedExponent(E2M1_ELEMENT, r, 4.5)), [0, 1, 0, 0]);
  assert.deepEqual(SCALE_RULES.map((r) => sharedExponent(E2M1_ELEMENT, r, 7.9)), [0, 1, 1, 1]);
});

Deno.test("quantizeOperand: blocks of 32 along the reduction axis, a partial last block", () => {
  const mxfp8 = scaledStorage("mxfp8-e4m3")!.scaled;
  // (outer 2, length 40, inner 3): vectors are strided by 3; the block of 8 at the end of each
  // vector has its own scale.
  const layout = { outer: 2, length: 40, inner: 3, channels: "outer" as const };
  const values = new Float32Array(240).fill(1);
  const at = (o: number, j: number, i: number) => (o * 40 + j) * 3 + i;
  values[at(1, 0, 2)] = 1000; // first block of vector (1, 2): scale 2^(9-8); 500 clamps to 448
  values[at(1, 5, 2)] = 1.03; // 0.515 at that scale: E4M3 spacing there 2^-4, so 0.5
  values[at(1, 35, 2)] = 1.03; // in the partial block, amax 1.03: scale 2^-8, spacing 2^-3
  values[at(0, 5, 2)] = 1.03; // another vector, amax 1.03
  quantizeOperand(mxfp8, values, layout, "activations");
  assert.equal(values[at(1, 0, 2)], 896);
  assert.equal(values[at(1, 5, 2)], 1);
  assert.equal(values[at(1, 35, 2)], 1);
  assert.equal(values[at(0, 5, 2)], 1);
  const fine = new Float32Array([1.1, 0.001]);
  quantizeOperand(mxfp8, fine, { outer: 1, length: 2, inner: 1, channels: "outer" }, "weights");
  assert.deepEqual([...fine], [1.125, Math.fround(0.0009765625)]);
});

Deno.test("int8 and e4m3-channel weights are scaled per output channel, activations per tensor", () => {
  const int8 = scaledStorage("int8")!.scaled;
  // affine weights (inputs 2, outputs 2): output channels on the inner axis.
  const w = new Float32Array([1, 100, 0.5, -50]);
  quantizeOperand(int8, w, { outer: 1, length: 2, inner: 2, channels: "inner" }, "weights");
  // Channel 0 (1, 0.5): scale 1/127, 63.5 → 64; channel 1 (100, -50): -63.5 → -64.
  const [s0, s1] = [Math.fround(1 / 127), Math.fround(100 / 127)];
  assert.deepEqual([...w], [127 * s0, 127 * s1, 64 * s0, -64 * s1].map(Math.fround));
  const x = new Float32Array([1, 100, 0.5, -50]);
  quantizeOperand(int8, x, { outer: 2, length: 2, inner: 1, channels: "outer" }, "activations");
  const s = Math.fround(100 / 127);
  assert.deepEqual([...x], [s * 1, 100, 1 * s, -64 * s].map(Math.fround));
  // A calibrated amax is a static scale: values beyond it clamp.
  const y = new Float32Array([1, 3]);
  quantizeOperand(int8, y, { outer: 1, length: 2, inner: 1, channels: "outer" }, "activations", 2);
  assert.deepEqual([...y], [Math.fround(Math.fround(2 / 127) * 64), 2]);
  const int4 = scaledStorage("int4")!.scaled;
  const z = new Float32Array([7, 3.4, -0.4]);
  quantizeOperand(int4, z, { outer: 1, length: 3, inner: 1, channels: "outer" }, "activations");
  assert.deepEqual([...z], [7, 3, -0]);
});

Deno.test("nvfp4: E4M3 block scales per 16 under a float32 tensor scale", () => {
  const nvfp4 = scaledStorage("nvfp4")!.scaled;
  const values = new Float32Array(32);
  values[0] = 2688; // tensor amax: tensor scale 2688 / 2688 = 1
  values[1] = 100; // block scale 448, so 100 / 448 rounds to E2M1 0 (below 0.25)
  values[16] = 6; // second block: block scale 1, elements exact
  values[17] = 2.9;
  quantizeOperand(nvfp4, values, { outer: 1, length: 32, inner: 1, channels: "outer" }, "weights");
  assert.deepEqual([values[0], values[1], values[16], values[17]], [2688, 0, 6, 3]);
  const nan = new Float32Array([1, NaN, 1]);
  quantizeOperand(nvfp4, nan, { outer: 1, length: 3, inner: 1, channels: "outer" }, "weights");
  assert.ok(nan.every(Number.isNaN));
});

Deno.test("scaled formats by name: float32 carriers, bits per value as packed", () => {
  for (const name of ["mxfp8-e4m3", "mxfp4-rceil", "nvfp4", "e4m3-tensor", "int8", "int4"]) {
    const s = storageByName(name);
    assert.equal(s.name, name);
    assert.equal(s.round(0.1), f32.round(0.1));
  }
  assert.throws(() => storageByName("mxfp4-floor"), RangeError);
  const bits = (name: string, n: number, channels = 1) =>
    scaledBits(scaledStorage(name)!.scaled, n, channels) / n;
  assert.equal(bits("mxfp8-e4m3", 3200), 8.25);
  assert.equal(bits("mxfp6-e2m3", 3200), 6.25);
  assert.equal(bits("mxfp4", 3200), 4.25);
  assert.equal(bits("nvfp4", 3200), 4.5 + 32 / 3200);
  assert.equal(bits("int8", 3200, 16), 8 + 32 * 16 / 3200);
  assert.equal(bits("mxfp4", 33), (33 * 4 + 2 * 8) / 33); // a partial block has a scale too
});

Deno.test("clamped counts the values the clamp changed, not a float32 scale's hair", () => {
  const counts = scaledCounts();
  const out = new Float32Array(4);
  // FP4 at scale 1: 6.9 rounds to 6 anyway; 7 (a tie to 8) and 7.5 need the clamp.
  quantizeWithScale(E2M1_ELEMENT, 1, [6.9, 7, 7.5, -100], out, 4, counts);
  assert.deepEqual([...out], [6, 6, 6, -6]);
  assert.equal(counts.clamped, 3);
  // A per-tensor int8 scale: amax / 127 in float32 puts amax itself a hair above 127.
  const int8 = scaledStorage("int8")!.scaled;
  const values = Float32Array.from([1, 0.5, -1]);
  const tensorCounts = scaledCounts();
  quantizeOperand(
    int8,
    values,
    { outer: 1, length: 3, inner: 1, channels: "outer" },
    "activations",
    undefined,
    tensorCounts,
  );
  assert.ok(1 / Math.fround(1 / 127) > 127, "the hair this test is about");
  assert.equal(tensorCounts.clamped, 0);
  // A calibrated amax below the batch's: values beyond it clamp.
  const calibrated = scaledCounts();
  quantizeOperand(
    int8,
    Float32Array.from([1, 0.5, -1]),
    { outer: 1, length: 3, inner: 1, channels: "outer" },
    "activations",
    0.5,
    calibrated,
  );
  assert.equal(calibrated.clamped, 2);
});

Deno.test("element rounding in every deterministic mode equals the minifloat rounding of that mode", () => {
  const deterministic = ROUNDING_MODES.filter((m) => !m.mode.startsWith("stochastic"));
  // Each OCP element and the minifloat with its grid, up to where their largest values differ
  // (the minifloat's all-ones code is NaN; the FP6 and FP4 elements have none).
  const pairs: [ElementType, string, number][] = [
    [E4M3_ELEMENT, "e4m3-sat", 448],
    [E5M2_ELEMENT, "e5m2-sat", 57344],
    [E3M2_ELEMENT, "e3m2-fn-sat", 24],
    [E2M3_ELEMENT, "e2m3-fn-sat", 7],
    [E2M1_ELEMENT, "e2m1-fn-sat", 4],
  ];
  for (const [element, name, limit] of pairs) {
    const inputs = [
      ...randomDoubles(20000, -20, Math.floor(Math.log2(limit)), 5),
      ...Array.from({ length: 4096 }, (_, k) => (k / 4096) * limit * (k % 2 ? 1 : -1)),
    ].filter((x) => Math.abs(x) <= limit);
    for (const { mode, suffix } of deterministic) {
      const reference = storageByName(`${name}${suffix}`);
      for (const x of inputs) {
        const got = roundElement(element, x, mode);
        if (!Object.is(got, reference.round(x))) {
          assert.fail(
            `${element.name} ${mode}: ${x} -> ${got}, ${reference.name} gives ${
              reference.round(x)
            }`,
          );
        }
      }
    }
  }
  assert.throws(() => roundElement(E2M1_ELEMENT, 1, "stochastic"), /expected one of nearest-even/);
});

Deno.test("a rounding suffix rounds a scaled format's elements, scales unchanged", () => {
  const values = [0.3, 1.2, -2.6, 5.9];
  const layout = { outer: 1, length: 4, inner: 1, channels: "outer" } as const;
  const rz = scaledStorage("mxfp4-rz")!;
  assert.equal(storageByName("mxfp4-rz"), rz);
  assert.equal(rz.scaled.rule, "floor");
  const out = Float32Array.from(values);
  quantizeOperand(rz.scaled, out, layout, "activations");
  // amax 5.9: scale 1 under floor; toward zero on E2M1's grid.
  assert.deepEqual([...out], [0, 1, -2, 4]);
  const up = Float32Array.from(values);
  quantizeOperand(scaledStorage("mxfp4-ru")!.scaled, up, layout, "activations");
  assert.deepEqual([...up], [0.5, 1.5, -2, 6]);
  assert.equal(scaledStorage("int8-sr1"), undefined);
  assert.throws(() => storageByName("mxfp4-sre1"), /element rounding -rna/);
});
