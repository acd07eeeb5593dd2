/**
 * Storage formats: the number formats a tensor can be held in (f64, f32, f16, bf16, fp8 and
 * minifloats of any exponent and fraction width up to 16 bits).
 *
 * @example
 * ```ts
 * import { bf16, e4m3, f16, storageByName } from "@halfprec/halfprec";
 * import assert from "node:assert/strict";
 * assert.equal(storageByName("f16"), f16);
 * assert.equal(bf16.round(1.00390625), 1); // 1 + 2^-8 is a tie: to even
 * assert.equal(e4m3.round(1.0625), 1); // a tie in fp8 E4M3 too
 * assert.equal(storageByName("e3m4").round(1 / 3), 0.328125); // a minifloat nobody ships
 * ```
 *
 * @module
 */
export type { FormatLimits, RoundingStream, Storage, StorageArray } from "./storage.ts";
export { f64 } from "./f64.ts";
export { f32 } from "./f32.ts";
export { f16, F16_LIMITS } from "./f16.ts";
export { f16Polyfill } from "./f16_polyfill.ts";
export { bf16, bf16Code, bf16Value } from "./bf16.ts";
export { e4m3, e5m2 } from "./fp8.ts";
export {
  minifloat,
  minifloatEncoder,
  type MinifloatOptions,
  type MinifloatSpecials,
} from "./minifloat.ts";
export { type MinifloatRounding, ROUNDING_MODES } from "./rounding.ts";
export {
  BIT_FLIP_NAME_PATTERN,
  type BitFlipOptions,
  bitFlipsOf,
  type FlipField,
  type FlipTarget,
  withBitFlips,
} from "./bit_flips.ts";
export { FP8_STORAGES, storageByName, STORAGES } from "./formats.ts";
export {
  E2M1_ELEMENT,
  E2M3_ELEMENT,
  E3M2_ELEMENT,
  E4M3_ELEMENT,
  E5M2_ELEMENT,
  e8m0Value,
  type ElementType,
  MXINT8_ELEMENT,
  quantizeMxBlock,
  quantizeWithScale,
  roundElement,
  SCALE_RULES,
  type ScaledCounts,
  scaledCounts,
  type ScaleRule,
  sharedExponent,
} from "./mx.ts";
export {
  bitsPerValue,
  type OperandLayout,
  type OperandRole,
  quantizeOperand,
  SCALED_SCHEMES,
  SCALED_STORAGES,
  scaledBits,
  type ScaledScheme,
  scaledSchemeOf,
  type ScaledStorage,
  scaledStorage,
  type ScaleGranularity,
  scalesActivationsPerTensor,
} from "./scaled.ts";
