/**
 * Delayed scaling, as NVIDIA Transformer Engine trains in fp8: each conv and affine layer
 * scales its input by an amax taken from a history of the amax its input had in past steps,
 * not from the batch being computed, and the history takes this step's amax after the step.
 *
 * The scale of a step is largest element / (amax · 2^margin), the amax being the largest of
 * the history (`max`) or its latest entry (`most-recent`); Transformer Engine's
 * `amax_history_len`, `amax_compute_algo` and `margin`. The history is state of the run, as a
 * loss scale is: a checkpoint keeps it. Before a layer's first step (an empty history) its
 * input is scaled dynamically, by the batch's own amax. It changes only the formats that scale
 * activations per tensor (`e4m3-tensor`, `e5m2-tensor`, the `-channel` formats, `int8`, `int4`,
 * NVFP4's tensor scale); weights keep their scales from their current values.
 *
 * @module
 */
import type { PassScales } from "../layers/loss.ts";

/** How the amax of a step comes from the history: its largest entry, or the latest. */
export type AmaxRule = "max" | "most-recent";

/** Options of {@linkcode DelayedScaling}. */
export interface DelayedScalingOptions {
  /** Steps of amax each layer keeps. @default {16} */
  history?: number;
  /** How the amax is taken from the history. @default {"max"} */
  rule?: AmaxRule;
  /** The amax is multiplied by 2^margin: headroom for a growing input. @default {0} */
  margin?: number;
}

/**
 * The run state of delayed scaling: each product layer's history of input amax.
 *
 * @example The amax of a step follows the rule over the last `history` steps
 * ```ts
 * import { DelayedScaling } from "@halfprec/halfprec/training";
 * import assert from "node:assert/strict";
 * const scaling = new DelayedScaling({ history: 2, rule: "max", margin: 1 });
 * assert.equal(scaling.amax("conv1"), undefined); // no history yet: dynamic
 * scaling.record({ conv1: 3 });
 * scaling.record({ conv1: 1 });
 * assert.equal(scaling.amax("conv1"), 6); // max(3, 1) · 2^1
 * scaling.record({ conv1: 2 }); // 3 leaves the history
 * assert.equal(scaling.amax("conv1"), 4);
 * assert.equal(scaling.name, "delayed:2:max:1");
 * ```
 */
export class DelayedScaling {
  /** Steps of amax each layer keeps. */
  readonly history: number;
  /** How the amax is taken from the history. */
  readonly rule: AmaxRule;
  /** The amax is multiplied by 2^margin. */
  readonly margin: number;
  /** Each layer's amax, oldest first. */
  readonly #maxima = new Map<string, number[]>();

  /** Delayed scaling with empty histories. */
  constructor(options: DelayedScalingOptions = {}) {
    const { history = 16, rule = "max", margin = 0 } = options;
    if (!(Number.isSafeInteger(history) && history >= 1)) {
      throw new RangeError(`Cannot keep an amax history of ${history} steps: expected 1 or more`);
    }
    if (rule !== "max" && rule !== "most-recent") {
      throw new RangeError(`Cannot take the amax by "${rule}": expected max or most-recent`);
    }
    if (!Number.isSafeInteger(margin)) {
      throw new RangeError(`Cannot scale with a margin of ${margin}: expected a whole number`);
    }
    this.history = history;
    this.rule = rule;
    this.margin = margin;
  }

  /** The settings as one name, `delayed:HISTORY:RULE:MARGIN`, as checkpoints record them. */
  get name(): string {
    return `delayed:${this.history}:${this.rule}:${this.margin}`;
  }

  /** The amax `layer` scales its input by in the next step; undefined before its first. */
  amax(layer: string): number | undefined {
    const maxima = this.#maxima.get(layer);
    if (!maxima?.length) return undefined;
    const amax = this.rule === "max" ? Math.max(...maxima) : maxima[maxima.length - 1];
    return amax * 2 ** this.margin;
  }

  /**
   * The scales of the next step, for `lossAndGradients` or `WorkerPool.gradients`: every layer
   * with a history; `seen` empty, to be filled by the step and passed to `record`.
   */
  nextStep(): PassScales {
    const amax: Record<string, number> = {};
    for (const layer of this.#maxima.keys()) amax[layer] = this.amax(layer)!;
    return { amax, seen: {} };
  }

  /** Adds a step's amax of each layer's input to the histories, dropping the oldest beyond. */
  record(seen: Readonly<Record<string, number>>): void {
    for (const [layer, amax] of Object.entries(seen)) {
      const maxima = this.#maxima.get(layer) ?? [];
      maxima.push(amax);
      if (maxima.length > this.history) maxima.shift();
      this.#maxima.set(layer, maxima);
    }
  }

  /** The histories by layer name, oldest first (for a checkpoint). */
  state(): Map<string, Float64Array> {
    return new Map([...this.#maxima].map(([layer, maxima]) => [layer, Float64Array.from(maxima)]));
  }

  /** Replaces the histories with `state` (from {@linkcode DelayedScaling.state}). */
  restore(state: ReadonlyMap<string, ArrayLike<number>>): void {
    this.#maxima.clear();
    for (const [layer, maxima] of state) {
      this.#maxima.set(layer, Array.from(maxima).slice(-this.history));
    }
  }
}

/**
 * Delayed scaling from its name: `delayed`, `delayed:HISTORY`, `delayed:HISTORY:RULE` or
 * `delayed:HISTORY:RULE:MARGIN` (`delayed:16:max:0`, the defaults); undefined for any other
 * text.
 *
 * @example
 * ```ts
 * import { delayedScaling } from "@halfprec/halfprec/training";
 * import assert from "node:assert/strict";
 * assert.equal(delayedScaling("delayed:4:most-recent")!.name, "delayed:4:most-recent:0");
 * assert.equal(delayedScaling("delayed")!.history, 16);
 * assert.equal(delayedScaling("delayed:0"), undefined);
 * ```
 */
export function delayedScaling(name: string): DelayedScaling | undefined {
  const match = name.match(/^delayed(?::(\d+)(?::(max|most-recent)(?::(-?\d+))?)?)?$/);
  if (!match) return undefined;
  const [, history, rule, margin] = match;
  try {
    return new DelayedScaling({
      history: history === undefined ? undefined : Number(history),
      rule: rule as AmaxRule | undefined,
      margin: margin === undefined ? undefined : Number(margin),
    });
  } catch {
    return undefined; // a history or margin beyond the safe integers
  }
}
