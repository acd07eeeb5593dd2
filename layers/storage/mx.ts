/**
 * The element types and the shared scale of the OCP Microscaling (MX) formats, v1.0, and the
 * block quantizer that turns a block of values into MX elements times a power-of-two scale.
 *
 * A block of k values (32 in MX) shares one scale X, an E8M0 power of two; each value is stored
 * as an element P_i of a narrow type, and stands for X · P_i. The element types:
 *
 * | type  | bits | bias | largest normal | smallest subnormal | infinities, NaN |
 * | ----- | ---- | ---- | -------------- | ------------------ | --------------- |
 * | E4M3  | 8    | 7    | 448            | 2^-9               | NaN only        |
 * | E5M2  | 8    | 15   | 57344          | 2^-16              | both            |
 * | E3M2  | 6    | 3    | 28             | 2^-4               | none            |
 * | E2M3  | 6    | 1    | 7.5            | 2^-3               | none            |
 * | E2M1  | 4    | 1    | 6              | 2^-1               | none            |
 * | INT8  | 8    | —    | 127/64         | 2^-6               | none            |
 *
 * INT8 is two's complement with an implicit scale of 2^-6. Everything here is a pure function
 * over numbers and `Float32Array` blocks, so either kernel path can call it.
 *
 * @module
 */
import { floorLog2, pow2 } from "./_log2.ts";
import { isStochastic, type MinifloatRounding, ROUNDING_MODES, roundsUp } from "./rounding.ts";

/** A scalar element type of the MX formats (or of a scaled format), as a grid of values. */
export interface ElementType {
  /** The type's name: `"e2m1"`, `"int8"`. */
  readonly name: string;
  /** Bits one element occupies. */
  readonly bits: number;
  /** Fraction bits of a normal element (INT8 of MX: 6, the implicit 2^-6). */
  readonly fractionBits: number;
  /** Exponent of the smallest normal binade (subnormals below it have the same spacing). */
  readonly emin: number;
  /** Exponent of the largest normal binade: the specification's emax_elem. */
  readonly emax: number;
  /** The largest finite magnitude. */
  readonly maxNormal: number;
}

/** A float element type from its widths, as the specification defines it. */
function floatElement(
  name: string,
  exponentBits: number,
  fractionBits: number,
  maxNormal: number,
): ElementType {
  const bias = 2 ** (exponentBits - 1) - 1;
  const emax = Math.floor(Math.log2(maxNormal));
  return {
    name,
    bits: 1 + exponentBits + fractionBits,
    fractionBits,
    emin: 1 - bias,
    emax,
    maxNormal,
  };
}

/**
 * OCP E4M3 (the element of MXFP8 E4M3): largest normal 448, no infinities.
 *
 * @example
 * ```ts
 * import { E4M3_ELEMENT, roundElement } from "@halfprec/halfprec/formats";
 * import assert from "node:assert/strict";
 * assert.equal(roundElement(E4M3_ELEMENT, 1000), 448);
 * ```
 */
export const E4M3_ELEMENT: ElementType = floatElement("e4m3", 4, 3, 448);
/**
 * OCP E5M2 (the element of MXFP8 E5M2): largest normal 57344.
 *
 * @example
 * ```ts
 * import { E5M2_ELEMENT } from "@halfprec/halfprec/formats";
 * import assert from "node:assert/strict";
 * assert.equal(E5M2_ELEMENT.emax, 15);
 * ```
 */
export const E5M2_ELEMENT: ElementType = floatElement("e5m2", 5, 2, 57344);
/**
 * OCP FP6 E3M2 (MXFP6): bias 3, largest normal 28, no infinities or NaN.
 *
 * @example
 * ```ts
 * import { E3M2_ELEMENT, roundElement } from "@halfprec/halfprec/formats";
 * import assert from "node:assert/strict";
 * assert.equal(roundElement(E3M2_ELEMENT, 30), 28);
 * ```
 */
export const E3M2_ELEMENT: ElementType = floatElement("e3m2", 3, 2, 28);
/**
 * OCP FP6 E2M3 (MXFP6): bias 1, largest normal 7.5, no infinities or NaN.
 *
 * @example
 * ```ts
 * import { E2M3_ELEMENT, roundElement } from "@halfprec/halfprec/formats";
 * import assert from "node:assert/strict";
 * assert.equal(roundElement(E2M3_ELEMENT, 0.0625), 0); // a tie between 0 and 0.125: to even
 * ```
 */
export const E2M3_ELEMENT: ElementType = floatElement("e2m3", 2, 3, 7.5);
/**
 * OCP FP4 E2M1 (MXFP4, NVFP4): ±{0, 0.5, 1, 1.5, 2, 3, 4, 6}, no infinities or NaN.
 *
 * @example
 * ```ts
 * import { E2M1_ELEMENT, roundElement } from "@halfprec/halfprec/formats";
 * import assert from "node:assert/strict";
 * assert.equal(roundElement(E2M1_ELEMENT, 5), 4); // a tie between 4 and 6: to even
 * assert.equal(roundElement(E2M1_ELEMENT, -2.6), -3);
 * ```
 */
export const E2M1_ELEMENT: ElementType = floatElement("e2m1", 2, 1, 6);
/**
 * MXINT8's element: two's complement, implicit scale 2^-6. Rounding gives -127/64 .. 127/64:
 * the code -128 (-2) decodes but is never produced, so the range is symmetric.
 *
 * @example
 * ```ts
 * import { MXINT8_ELEMENT, roundElement } from "@halfprec/halfprec/formats";
 * import assert from "node:assert/strict";
 * assert.equal(roundElement(MXINT8_ELEMENT, 1.5 / 64), 2 / 64);
 * assert.equal(roundElement(MXINT8_ELEMENT, -3), -127 / 64);
 * ```
 */
export const MXINT8_ELEMENT: ElementType = {
  name: "int8",
  bits: 8,
  fractionBits: 6,
  emin: 0,
  emax: 0,
  maxNormal: 127 / 64,
};

/** ⌈log2 a⌉ exactly, for a finite a > 0. */
function ceilLog2(a: number): number {
  const e = floorLog2(a);
  return pow2(e) === a ? e : e + 1;
}

/** The deterministic rounding modes by name, each as its decision (see `roundsUp`). */
const ELEMENT_ROUNDINGS = new Map(
  ROUNDING_MODES.filter((m) => !isStochastic(m.mode)).map((m) => [m.mode, roundsUp(m.mode)]),
);

/** The decision of deterministic rounding mode `rounding`. */
function decision(rounding: MinifloatRounding): ReturnType<typeof roundsUp> {
  const up = ELEMENT_ROUNDINGS.get(rounding);
  if (!up) {
    throw new RangeError(
      `Cannot round an element "${rounding}": expected one of ${[...ELEMENT_ROUNDINGS.keys()]}`,
    );
  }
  return up;
}

/**
 * `x` rounded to a value of `element` by `rounding` (a deterministic mode of
 * {@linkcode MinifloatRounding}; the default, nearest with ties to even, is the
 * specification's), magnitudes beyond the largest normal (infinities included) clamped to it in
 * every mode, as the specification's conversion does; NaN stays NaN (an MX block holding a NaN
 * has a NaN scale: see {@linkcode quantizeMxBlock}).
 *
 * @throws {RangeError} For a stochastic mode: an element has no random stream.
 *
 * @example
 * ```ts
 * import { E2M1_ELEMENT, roundElement } from "@halfprec/halfprec/formats";
 * import assert from "node:assert/strict";
 * assert.equal(roundElement(E2M1_ELEMENT, 0.25), 0); // tie: to even (0)
 * assert.equal(roundElement(E2M1_ELEMENT, 0.75), 1); // tie: to even (1)
 * assert.equal(roundElement(E2M1_ELEMENT, Infinity), 6);
 * assert.equal(roundElement(E2M1_ELEMENT, 2.1, "toward-positive"), 3);
 * assert.equal(roundElement(E2M1_ELEMENT, -2.9, "toward-zero"), -2);
 * ```
 */
export function roundElement(
  element: ElementType,
  x: number,
  rounding: MinifloatRounding = "nearest-even",
): number {
  const up = decision(rounding);
  if (Number.isNaN(x)) return NaN;
  const a = Math.abs(x);
  const negative = x < 0 || Object.is(x, -0);
  if (a >= element.maxNormal) return negative ? -element.maxNormal : element.maxNormal;
  // The spacing of the grid at |x|: subnormals share the smallest normal binade's.
  const e = a === 0 ? element.emin : Math.max(floorLog2(a), element.emin);
  const quantum = pow2(e - element.fractionBits);
  const steps = a / quantum; // exact: a power-of-two division
  const lower = Math.floor(steps);
  const n = up(steps - lower, lower % 2 !== 0, negative, 0) ? lower + 1 : lower;
  const r = Math.min(n * quantum, element.maxNormal);
  return negative ? -r : r;
}

/** The E8M0 scale's limits: 2^-127 .. 2^127; code 255 is NaN. */
const E8M0_MIN_EXPONENT = -127;
/** The largest exponent an E8M0 scale holds. */
const E8M0_MAX_EXPONENT = 127;

/**
 * The value of an E8M0 code: 2^(code − 127), NaN for 255.
 *
 * @example
 * ```ts
 * import { e8m0Value } from "@halfprec/halfprec/formats";
 * import assert from "node:assert/strict";
 * assert.equal(e8m0Value(127), 1);
 * assert.equal(e8m0Value(0), 2 ** -127);
 * assert.ok(Number.isNaN(e8m0Value(255)));
 * ```
 */
export function e8m0Value(code: number): number {
  if (!(Number.isInteger(code) && code >= 0 && code <= 255)) {
    throw new RangeError(`E8M0 code ${code}: expected an integer 0..255`);
  }
  return code === 255 ? NaN : 2 ** (code - 127);
}

/**
 * How a block's shared exponent follows from its largest magnitude `amax`. The libraries
 * disagree, so each is a choice (X is the scale, emax and maxNormal the element type's):
 * - `floor`: X = 2^(⌊log2 amax⌋ − emax), the OCP specification's. amax / X lies in
 *   [2^emax, 2^(emax+1)), so values that round above maxNormal · X clamp (in FP4: amax/X in [7, 8)).
 * - `ceil`: X = 2^(⌈log2 amax⌉ − emax): amax rounded up to a power of two first. Never clamps;
 *   a block loses up to one binade of resolution.
 * - `even`: X = 2^(⌊log2 r⌋ − emax), r being amax rounded to the element's fraction bits, ties
 *   away from zero: the scale grows only when amax would round up to the next power of two
 *   (torchao's EVEN). Clamps less than `floor`.
 * - `rceil`: X = the smallest power of two with amax ≤ maxNormal · X (the conversion of
 *   amax / maxNormal to E8M0 rounding up, as NVIDIA hardware does). Never clamps, and uses the
 *   element range best among the rules that never clamp.
 */
export type ScaleRule = "floor" | "ceil" | "even" | "rceil";

/** Every scale rule, the specification's first. */
export const SCALE_RULES: readonly ScaleRule[] = ["floor", "ceil", "even", "rceil"];

/**
 * The unbiased shared exponent of a block whose largest magnitude is `amax` (finite), by
 * `rule`, clamped to E8M0's range; an all-zero block gets the smallest scale.
 *
 * @example
 * ```ts
 * import { E2M1_ELEMENT, sharedExponent } from "@halfprec/halfprec/formats";
 * import assert from "node:assert/strict";
 * assert.equal(sharedExponent(E2M1_ELEMENT, "floor", 7), 0); // 7 clamps to 6
 * assert.equal(sharedExponent(E2M1_ELEMENT, "rceil", 7), 1); // 7 / 2 = 3.5
 * assert.equal(sharedExponent(E2M1_ELEMENT, "ceil", 4.5), 1);
 * assert.equal(sharedExponent(E2M1_ELEMENT, "rceil", 4.5), 0);
 * ```
 */
export function sharedExponent(element: ElementType, rule: ScaleRule, amax: number): number {
  if (amax === 0) return E8M0_MIN_EXPONENT;
  let exponent: number;
  if (rule === "floor") exponent = floorLog2(amax) - element.emax;
  else if (rule === "ceil") exponent = ceilLog2(amax) - element.emax;
  else if (rule === "even") {
    const quantum = 2 ** (floorLog2(amax) - element.fractionBits);
    exponent = floorLog2(Math.floor(amax / quantum + 0.5) * quantum) - element.emax;
  } else {
    exponent = ceilLog2(amax / element.maxNormal);
    // amax / maxNormal was rounded: settle on the exact smallest power.
    while (element.maxNormal * 2 ** exponent < amax) exponent++;
    while (element.maxNormal * 2 ** (exponent - 1) >= amax) exponent--;
  }
  return Math.min(Math.max(exponent, E8M0_MIN_EXPONENT), E8M0_MAX_EXPONENT);
}

/** Counts of what quantization did to the values it saw, relative to their scale. */
export interface ScaledCounts {
  /** Values quantized. */
  values: number;
  /**
   * Values the clamp to the element's largest normal changed: their magnitude over the scale
   * would round (to nearest even, on the element's grid continued upwards) above it. A value
   * that exceeds it by less than half a step rounds to it anyway, and a float32 tensor scale
   * (amax / max, rounded) puts the amax itself a hair above it: neither counts.
   */
  clamped: number;
  /** Non-zero finite values that became zero. */
  flushed: number;
  /** Values that became NaN (their block or tensor held a NaN or an infinity). */
  nonFinite: number;
}

/**
 * Zeroed {@linkcode ScaledCounts}.
 *
 * @example
 * ```ts
 * import { scaledCounts } from "@halfprec/halfprec/formats";
 * import assert from "node:assert/strict";
 * assert.deepEqual(scaledCounts(), { values: 0, clamped: 0, flushed: 0, nonFinite: 0 });
 * ```
 */
export function scaledCounts(): ScaledCounts {
  return { values: 0, clamped: 0, flushed: 0, nonFinite: 0 };
}

/**
 * Quantizes `src[0 .. length)` with one shared `scale` into `dst`: each value becomes
 * scale · roundElement(value / scale, rounding), rounded to float32 (exact for a power-of-two
 * scale).
 * A NaN scale makes every value NaN. Counts what happened into `counts` when given.
 *
 * @example
 * ```ts
 * import { E2M1_ELEMENT, quantizeWithScale } from "@halfprec/halfprec/formats";
 * import assert from "node:assert/strict";
 * const out = new Float32Array(3);
 * quantizeWithScale(E2M1_ELEMENT, 0.5, new Float32Array([0.1, 1.4, 9]), out, 3);
 * assert.deepEqual([...out], [0, 1.5, 3]);
 * ```
 */
export function quantizeWithScale(
  element: ElementType,
  scale: number,
  src: ArrayLike<number>,
  dst: Float32Array,
  length: number,
  counts?: ScaledCounts,
  rounding: MinifloatRounding = "nearest-even",
): void {
  for (let i = 0; i < length; i++) {
    const v = src[i];
    const q = Math.fround(scale * roundElement(element, v / scale, rounding));
    dst[i] = q;
    if (!counts) continue;
    counts.values++;
    if (Number.isNaN(q)) counts.nonFinite++;
    else if (saturates(element, v / scale, rounding)) counts.clamped++;
    else if (q === 0 && v !== 0) counts.flushed++;
  }
}

/** Whether rounding `x` (a value over its scale) to `element` by `rounding` needs the clamp. */
function saturates(element: ElementType, x: number, rounding: MinifloatRounding): boolean {
  const a = Math.abs(x);
  if (!(a > element.maxNormal)) return false;
  if (a >= 2 ** (element.emax + 1)) return true;
  const quantum = 2 ** (element.emax - element.fractionBits);
  const steps = a / quantum;
  const lower = Math.floor(steps);
  const up = decision(rounding)(steps - lower, lower % 2 !== 0, x < 0, 0);
  return (up ? lower + 1 : lower) * quantum > element.maxNormal;
}

/** The largest magnitude of `src[0 .. length)`: NaN if any value is NaN or infinite. */
export function blockAmax(src: ArrayLike<number>, length: number): number {
  let amax = 0;
  for (let i = 0; i < length; i++) {
    const a = Math.abs(src[i]);
    if (!(a < Infinity)) return NaN;
    if (a > amax) amax = a;
  }
  return amax;
}

/**
 * Quantizes one MX block, `src[0 .. length)` (at most the block size; a partial last block is
 * shorter), into `dst` as its decoded values (elements rounded by `rounding`), and returns the block's unbiased shared exponent
 * (NaN when the scale is NaN). A block holding a NaN gets the NaN scale, as the specification
 * says; so does a block holding an infinity (E8M0 has no infinity, and clamping it to a finite
 * value would hide it), so the whole block reads as NaN.
 *
 * @example MXFP4 (E2M1) with the specification's rule
 * ```ts
 * import { E2M1_ELEMENT, quantizeMxBlock } from "@halfprec/halfprec/formats";
 * import assert from "node:assert/strict";
 * const out = new Float32Array(4);
 * const exponent = quantizeMxBlock(E2M1_ELEMENT, "floor", new Float32Array([7, 1, 0.2, -3]), out, 4);
 * assert.equal(exponent, 0); // ⌊log2 7⌋ − 2
 * assert.deepEqual([...out], [6, 1, 0, -3]);
 * ```
 */
export function quantizeMxBlock(
  element: ElementType,
  rule: ScaleRule,
  src: ArrayLike<number>,
  dst: Float32Array,
  length: number,
  counts?: ScaledCounts,
  rounding: MinifloatRounding = "nearest-even",
): number {
  const amax = blockAmax(src, length);
  const exponent = Number.isNaN(amax) ? NaN : sharedExponent(element, rule, amax);
  quantizeWithScale(element, 2 ** exponent, src, dst, length, counts, rounding);
  return exponent;
}
