/**
 * The quantization of scaled formats on the wasm kernels against `quantizeOperand`, the
 * TypeScript reference: bit-identical operands for every scheme, scale rule and element
 * rounding, every layout a product reads, special values included.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  type OperandLayout,
  type OperandRole,
  quantizeOperand,
  roundElement,
  ROUNDING_MODES,
  SCALED_SCHEMES,
  scaledStorage,
} from "../layers/storage/mod.ts";
import { quantizeOperandWasm } from "../layers/wasm/quantize.ts";
import { nvfp4TensorScale } from "../layers/storage/scaled.ts";
import { randomValues } from "./_gradcheck.ts";

/** Values over many binades, every fifth one special. */
function operand(length: number, seed: number): Float32Array {
  const specials = [0, -0, 2 ** -149, -(2 ** -130), 3e38, 448, 6, 7, -7.5, 1e-30, 0.25, 57344];
  return Float32Array.from(
    randomValues(length, seed),
    (v, i) => i % 5 === 0 ? specials[(i / 5) % specials.length] : v * 2 ** ((i * 7) % 40 - 20),
  );
}

/** The layouts of conv and affine operands, with partial blocks. */
const LAYOUTS: readonly [OperandLayout, OperandRole][] = [
  [{ outer: 2, length: 40, inner: 7, channels: "outer" }, "activations"], // conv input
  [{ outer: 3, length: 37, inner: 9, channels: "outer" }, "weights"], // conv weights
  [{ outer: 5, length: 70, inner: 1, channels: "outer" }, "activations"], // affine input
  [{ outer: 1, length: 45, inner: 6, channels: "inner" }, "weights"], // affine weights
  [{ outer: 2, length: 30, inner: 5, channels: "inner" }, "weights"], // an odd channel, two outer
];

/** The same quantization on both, compared by bits (NaN as NaN). */
function assertSame(
  name: string,
  values: Float32Array,
  amax?: number,
  layouts: readonly [OperandLayout, OperandRole][] = LAYOUTS,
): void {
  const scheme = scaledStorage(name)!.scaled;
  for (const [layout, role] of layouts) {
    const size = layout.outer * layout.length * layout.inner;
    const reference = values.slice(0, size);
    const fast = quantizeOperandWasm(scheme, reference, layout, role, amax);
    quantizeOperand(scheme, reference, layout, role, amax);
    for (let i = 0; i < size; i++) {
      const same = Object.is(fast[i], reference[i]);
      if (!same) {
        assert.fail(
          `${name} ${role} [${layout.outer}, ${layout.length}, ${layout.inner}] element ${i}: ` +
            `${values[i]} -> ${fast[i]} on wasm, ${reference[i]} in TypeScript`,
        );
      }
    }
  }
}

Deno.test("NVFP4 elements at and next to every rounding boundary of E2M1 round as on TypeScript", () => {
  const scheme = scaledStorage("nvfp4")!.scaled;
  const boundaries = [0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 5];
  const blockScales = [1, 1.125, 0.75, 448, 2 ** -9, 13, 0.4375];
  // A tensor scale that is a power of two makes boundaries exact float32 values (ties), one that
  // is not leaves them between float32 neighbours.
  for (const amax of [6 * 448 * 2 ** -3, 1000, 3.7e-3]) {
    const tensor = nvfp4TensorScale(amax);
    const columns = blockScales.length * boundaries.length;
    // Shaped (1, 16, columns): each column one block of 16, its first value setting the scale.
    const values = new Float32Array(16 * columns);
    blockScales.forEach((b, i) => {
      boundaries.forEach((t, k) => {
        const column = i * boundaries.length + k;
        const s = b * tensor;
        const near = Math.fround(t * s);
        const up = nextFloat32(near, 1), down = nextFloat32(near, -1);
        const row = [6 * s, near, up, down, -near, -up, -down, t * s * 0.999, 0, -0];
        row.forEach((v, r) => values[r * columns + column] = v);
      });
    });
    const layout: OperandLayout = { outer: 1, length: 16, inner: columns, channels: "outer" };
    const reference = values.slice();
    const fast = quantizeOperandWasm(scheme, values, layout, "activations", amax);
    quantizeOperand(scheme, reference, layout, "activations", amax);
    fast.forEach((v, i) => assert.ok(Object.is(v, reference[i]), `amax ${amax} element ${i}`));
  }
});

Deno.test("int8 and int4 values at ties with scales that are not powers of two round as on TypeScript", () => {
  // Values (k + 1/2) · s, exact float32 ties of the integer grid, under per-tensor scales s.
  // The reference divides by the scale; a product with the scale's reciprocal can fall on the
  // tie's other side (2.5000000000000004 for 2.5), which the set includes.
  let productRoundsOtherwise = 0;
  for (const name of ["int8", "int4"]) {
    const { element } = scaledStorage(name)!.scaled;
    const { maxNormal } = element;
    for (const r of randomValues(64, 5)) {
      const s = Math.fround(2 ** (6 * r) * 1.37); // 2^-6 to 2^6, float32
      const values = new Float32Array(2 * maxNormal + 2);
      for (let k = -maxNormal - 1; k <= maxNormal; k++) {
        const x = Math.fround((k + 0.5) * s);
        values[k + maxNormal + 1] = x;
        const product = roundElement(element, x * (1 / s));
        if (x === (k + 0.5) * s && product !== roundElement(element, x / s)) {
          productRoundsOtherwise++;
        }
      }
      const layout: OperandLayout = {
        outer: 1,
        length: values.length,
        inner: 1,
        channels: "outer",
      };
      assertSame(name, values, maxNormal * s, [[layout, "activations"]]);
    }
  }
  assert.ok(productRoundsOtherwise > 0, "no tie where the reciprocal's product rounds otherwise");
});

/** The float32 next to `x` (a float32) toward +Infinity (direction 1) or -Infinity (-1). */
function nextFloat32(x: number, direction: 1 | -1): number {
  const bits = new Float32Array([x]);
  const word = new Int32Array(bits.buffer);
  word[0] += x >= 0 === direction > 0 ? 1 : -1;
  return bits[0];
}

Deno.test("wasm quantization equals quantizeOperand in every scaled format and scale rule", () => {
  const values = operand(2000, 1);
  for (const { name } of SCALED_SCHEMES) assertSame(name, values);
});

Deno.test("wasm quantization equals quantizeOperand in every deterministic element rounding", () => {
  const values = operand(2000, 2);
  const suffixes = ROUNDING_MODES.map((m) => m.suffix).filter((s) => s !== "" && !s.includes("{"));
  assert.ok(suffixes.length >= 6);
  for (const base of ["mxfp4", "mxfp6-e3m2-rceil", "nvfp4", "int8", "e5m2-tensor", "mxint8-even"]) {
    for (const suffix of suffixes) assertSame(base + suffix, values);
  }
});

Deno.test("wasm quantization equals quantizeOperand with static amaxes and non-finite values", () => {
  const values = operand(2000, 3);
  for (const name of ["int8", "int4", "e4m3-tensor", "nvfp4", "e4m3-channel"]) {
    assertSame(name, values, 0.5); // values above it clamp
    assertSame(name, values, 1e30);
  }
  const poisoned = values.slice();
  poisoned[3] = NaN;
  poisoned[333] = Infinity;
  poisoned[1500] = -Infinity;
  for (const { name } of SCALED_SCHEMES) assertSame(name, poisoned);
  for (const name of ["int4", "int8", "e4m3-tensor", "nvfp4", "e5m2-channel"]) {
    assertSame(name, poisoned, 2); // a static scale: the infinities clamp, the NaN stays
  }
  assertSame("mxfp8-e4m3", new Float32Array(2000)); // all zeros
});

Deno.test("wasm quantization equals quantizeOperand on blocks of zeros, subnormals and extreme binades", () => {
  // Each column its own binade, so that blocks four columns wide hold amaxes of zero, of
  // float32 subnormals, at the smallest normals and near the largest finite value.
  const binades = [-Infinity, -149, -145, -130, -127, -126, -125, -20, 0, 64, 120, 127];
  const columns = binades.length;
  const values = Float32Array.from(
    randomValues(2 * 40 * columns, 4),
    (v, i) => v * 2 ** binades[i % columns],
  );
  const layouts: [OperandLayout, OperandRole][] = [
    [{ outer: 2, length: 40, inner: columns, channels: "outer" }, "activations"],
    [{ outer: 80, length: 1, inner: columns, channels: "outer" }, "activations"], // blocks of one
  ];
  for (const { name } of SCALED_SCHEMES) assertSame(name, values, undefined, layouts);
  for (const amax of [1e-44, 1e-38, 3e38]) assertSame("nvfp4", values, amax, layouts);
});
