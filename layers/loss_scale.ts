/**
 * Dynamic loss scaling, the standard recipe for training with float16 gradients.
 *
 * Gradients of a trained network are small; many fall below float16's smallest subnormal
 * (2^-24) and vanish. Multiplying the loss by a large factor before backward lifts them into
 * range; the optimizer divides it out. The factor grows after a run of clean steps and halves,
 * skipping the step, when a gradient overflows to Infinity or NaN.
 *
 * @module
 */
import type { Sequential } from "./sequential.ts";

/** Options of {@linkcode LossScale}. */
export interface LossScaleOptions {
  /** The first factor. @default {2 ** 15} */
  initial?: number;
  /** Clean steps before the factor doubles. @default {2000} */
  growthInterval?: number;
}

/**
 * The current loss scale and its bookkeeping.
 *
 * @example
 * ```ts
 * import { LossScale } from "@halfprec/halfprec/layers";
 * import assert from "node:assert/strict";
 * const scale = new LossScale({ initial: 1024, growthInterval: 2 });
 * assert.equal(scale.update(false), false); // overflow: skip, halve
 * assert.equal(scale.value, 512);
 * scale.update(true);
 * scale.update(true); // two clean steps: double
 * assert.equal(scale.value, 1024);
 * assert.equal(scale.skipped, 1);
 * ```
 */
export class LossScale {
  /** The factor to multiply the loss by on the next step. */
  value: number;
  /** Steps skipped so far because a gradient overflowed. */
  skipped = 0;
  /** Clean steps since the factor last changed (a checkpoint keeps it with `value`). */
  cleanSteps = 0;
  readonly #growthInterval: number;

  /** A loss scale starting at `options.initial`. */
  constructor(options?: LossScaleOptions) {
    this.value = options?.initial ?? 2 ** 15;
    this.#growthInterval = options?.growthInterval ?? 2000;
  }

  /**
   * Records whether this step's gradients were all finite and returns whether to apply it.
   */
  update(finite: boolean): boolean {
    if (!finite) {
      this.value /= 2;
      this.skipped++;
      this.cleanSteps = 0;
      return false;
    }
    if (++this.cleanSteps >= this.#growthInterval) {
      this.value *= 2;
      this.cleanSteps = 0;
    }
    return true;
  }
}

/**
 * Whether every gradient of `net` is finite (no overflow to Infinity, no NaN).
 *
 * @example
 * ```ts
 * import { deepConvNet, gradientsFinite } from "@halfprec/halfprec/layers";
 * import assert from "node:assert/strict";
 * assert.equal(gradientsFinite(deepConvNet()), true);
 * ```
 */
export function gradientsFinite(net: Sequential): boolean {
  for (const g of net.grads().values()) {
    if (!g.toFloat64().every(Number.isFinite)) return false;
  }
  return true;
}

/**
 * For every parameter, the fraction of its gradient values that are exactly zero: in a narrow
 * format, mostly values that underflowed.
 *
 * @example
 * ```ts
 * import { deepConvNet, zeroGradientFractions } from "@halfprec/halfprec/layers";
 * import assert from "node:assert/strict";
 * assert.equal(zeroGradientFractions(deepConvNet()).get("W1"), 1); // no backward yet
 * ```
 */
export function zeroGradientFractions(net: Sequential): Map<string, number> {
  return new Map([...net.grads()].map(([name, g]) => {
    const values = g.toFloat64();
    return [name, values.filter((v) => v === 0).length / values.length];
  }));
}
