/**
 * Which storage formats a network can run in: those whose normal numbers hold 1.
 *
 * @module
 */
import type { Storage } from "../layers/storage/storage.ts";

/**
 * `format`, unless 1 is outside its normal numbers: a network's weights and activations are
 * scaled around 1, so in such a format (`e4m3-b999`: 2^-998 to 2^-984; `e1m1`: no normal number
 * at all) they all flush to zero or overflow, and a run measures nothing but that. The commands'
 * `--formats` and every format of a layer configuration go through it.
 *
 * @throws {RangeError} When the format has no normal numbers, or they do not reach 1.
 *
 * @example
 * ```ts
 * import { f16, storageByName } from "@halfprec/halfprec";
 * import { usableFormat } from "@halfprec/halfprec/analysis";
 * import assert from "node:assert/strict";
 * assert.equal(usableFormat(f16), f16);
 * assert.throws(() => usableFormat(storageByName("e4m3-b999")), /expected a range holding 1/);
 * assert.throws(() => usableFormat(storageByName("e1m1")), /has no normal numbers/);
 * ```
 */
export function usableFormat(format: Storage): Storage {
  const { minNormal, maxFinite } = format.limits;
  if (minNormal > maxFinite) {
    throw new RangeError(
      `${format.name} has no normal numbers (its subnormals end at ${maxFinite}), expected ` +
        "normal numbers around 1: give it more exponent bits",
    );
  }
  if (!(minNormal <= 1 && 1 <= maxFinite)) {
    throw new RangeError(
      `${format.name} has normal numbers from ${minNormal.toPrecision(3)} to ` +
        `${maxFinite.toPrecision(3)}, expected a range holding 1 (a bias from 1 to its ` +
        "largest exponent field): a network's values, scaled around 1, would all flush to " +
        "zero or overflow",
    );
  }
  return format;
}
