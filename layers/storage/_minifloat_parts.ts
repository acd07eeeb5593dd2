/**
 * What a kernel outside TypeScript needs to round to a minifloat as its storage does: the
 * resolved options, the codes that encoding lands on specially, and the encoder's tables per
 * double exponent field. Looked up by the storage object that `minifloat` made, so a storage
 * of another kind that shares a minifloat's name is never mistaken for one.
 *
 * @module
 */
import type { Storage } from "./storage.ts";
import type { MinifloatRounding } from "./rounding.ts";

/** The encoder's tables and codes (see `encoder` in minifloat.ts). */
export interface MinifloatParts {
  /** Fraction bits. */
  mantissaBits: number;
  /** Sign, exponent and fraction bits together. */
  bits: number;
  rounding: MinifloatRounding;
  /** Random bits of `"stochastic"` rounding, absent for the exact probability. */
  randomBits?: number;
  /** Every code's value. */
  values: Float64Array;
  /** The code of the sign bit. */
  sign: number;
  /** The code of the largest finite value. */
  maxFinite: number;
  /** The code +NaN is stored as. */
  nan: number;
  /** What ±Infinity becomes (without the sign): Infinity's code, NaN's, or the largest finite. */
  overflow: number;
  /** What a finite value past the largest finite one becomes, when positive and negative. */
  finiteOverflow: readonly [number, number];
  /** Per double exponent field (0 to 2046): |x| · scaleHigh · scaleLow is |x| in spacings. */
  scaleHigh: Float64Array;
  scaleLow: Float64Array;
  /** Per double exponent field: the code of k spacings is offset + k · step. */
  offset: Float64Array;
  step: Float64Array;
}

const PARTS = new WeakMap<Storage, MinifloatParts>();

/** Records the parts of a storage `minifloat` made. */
export function registerMinifloat(storage: Storage, parts: MinifloatParts): void {
  PARTS.set(storage, parts);
}

/** The parts of `storage` if `minifloat` made it, else undefined. */
export function minifloatParts(storage: Storage): MinifloatParts | undefined {
  return PARTS.get(storage);
}
