/**
 * Range counters of a training step's gradients: how many values of every parameter gradient
 * (dW, db) and of the gradient at every layer's input overflow, underflow to zero or land among
 * the subnormals of their format — predicted from a float64 forward and backward pass, and
 * observed when the same step (same batch, same dropout masks, same loss scale) runs in the
 * format. With loss scaling the gradients a format stores are the scaled ones: those are the
 * ones counted, on both sides.
 *
 * @module
 */
import { reseedDropout } from "../layers/dropout.ts";
import { lossAndGradients } from "../layers/loss.ts";
import type { Sequential } from "../layers/sequential.ts";
import { f64 } from "../layers/storage/f64.ts";
import type { Layer } from "../layers/layer.ts";
import { Softmax } from "../layers/softmax.ts";
import type { Storage } from "../layers/storage/storage.ts";
import { Tensor } from "../layers/tensor.ts";
import { layerOutputs } from "./_outputs.ts";
import {
  observeRange,
  predictRange,
  type RangeCounts,
  sumRanges,
  type ValueRange,
  valueRange,
} from "./range.ts";

/** One gradient tensor of a training step, in float64 and in a format. */
export interface GradientRangeReport {
  /** `dW3`, `db3` (parameter gradients, named after their parameter) or `dx` (layer input). */
  tensor: string;
  /** The layer that computed it (`conv3`); for `dx` of a softmax, the gradient at the logits. */
  layer: string;
  /** The format the candidate step stored it in. */
  format: string;
  /** The float64 range of the reference gradient (loss scale included). */
  range: ValueRange;
  /** What storing the float64 gradient in the format would do. */
  predicted: RangeCounts;
  /**
   * What the candidate's step stored, against the float64 gradient. Underflow propagates: an
   * output gradient that underflowed makes the gradients computed from it zero too.
   */
  observed: RangeCounts;
  /**
   * What the candidate layer alone stored, given the float64 input and output gradient: equal
   * to `predicted` for parameter gradients and for layers without weights (one rounding of the
   * float64 result), close to it for the input gradient of conv and affine (rounded weights).
   */
  isolated: RangeCounts;
}

/** Options of {@linkcode gradientRanges}. */
export interface GradientRangeOptions {
  /** The loss is multiplied by this before backward, as in training. @default {1} */
  lossScale?: number;
  /** Seed of the dropout masks, the same for every run. @default {1} */
  seed?: number;
}

/**
 * Runs one training step's forward and backward pass on `x` and `labels` with `reference`
 * (float64) and with `candidate` (the same network in other formats; its input is `x`
 * re-stored in its first layer's format), then every candidate layer alone on the float64
 * input and output gradient, and counts what each gradient's format does to it. Gradients are
 * listed in the order backward computes them: each layer's parameter gradients, then its input
 * gradient, from the softmax down. Both networks' gradients are overwritten and their dropout
 * reseeded.
 *
 * @example In f64 nothing leaves the range
 * ```ts
 * import { deepConvNet, f64, Tensor } from "@halfprec/halfprec";
 * import { gradientRanges } from "@halfprec/halfprec/analysis";
 * import assert from "node:assert/strict";
 * const net = deepConvNet({ seed: 1 });
 * const x = Tensor.from(f64, [2, 1, 28, 28], Array.from({ length: 2 * 784 }, (_, i) => (i % 7) / 7));
 * const reports = gradientRanges(net, net.to(f64), x, [3, 5]);
 * assert.deepEqual(reports.slice(0, 4).map((r) => `${r.layer} ${r.tensor}`),
 *   ["softmax1 dx", "dropout2 dx", "affine2 dW8", "affine2 db8"]);
 * assert.ok(reports.every((r) => r.observed.underflow === 0 && r.observed.overflow === 0));
 * ```
 */
export function gradientRanges(
  reference: Sequential,
  candidate: Sequential,
  x: Tensor,
  labels: ArrayLike<number>,
  options?: GradientRangeOptions,
): GradientRangeReport[] {
  const step: Step = { labels, lossScale: options?.lossScale ?? 1, seed: options?.seed ?? 1 };
  const wide = stepGradients(reference, x.to(f64), step);
  const narrow = stepGradients(candidate, x.to(candidate.layers[0].storage), step);
  reseedDropout(reference, step.seed);
  const inputs = [x.to(f64), ...layerOutputs(reference, x.to(f64), true)];
  const alone = isolatedGradients(candidate, inputs, wide, step);
  return narrow.map(({ tensor, layer, storage, values }, i) => {
    const exact = wide[i].values;
    return {
      tensor,
      layer,
      format: storage.name,
      range: valueRange(exact),
      predicted: predictRange(exact, storage),
      observed: observeRange(exact, values, storage),
      isolated: observeRange(exact, alone[i].values, storage),
    };
  });
}

/** Totals of a step's gradient range counters, parameters and layer inputs apart. */
export interface GradientRangeTotals {
  /** Every parameter gradient (`dW`, `db`) together. */
  params: { predicted: RangeCounts; observed: RangeCounts };
  /** Every layer's input gradient (`dx`) together. */
  inputs: { predicted: RangeCounts; observed: RangeCounts };
}

/**
 * Sums the counters of {@linkcode gradientRanges}' reports.
 *
 * @example
 * ```ts
 * import { deepConvNet, f16, f64, Tensor } from "@halfprec/halfprec";
 * import { gradientRanges, gradientRangeTotals } from "@halfprec/halfprec/analysis";
 * import assert from "node:assert/strict";
 * const net = deepConvNet({ seed: 1 });
 * const x = Tensor.from(f64, [1, 1, 28, 28], Array.from({ length: 784 }, (_, i) => (i % 7) / 7));
 * const totals = gradientRangeTotals(gradientRanges(net, net.to(f16), x, [3]));
 * const weights = [...net.params().values()].reduce((n, t) => n + t.size, 0);
 * assert.equal(totals.params.predicted.total, weights);
 * ```
 */
export function gradientRangeTotals(reports: readonly GradientRangeReport[]): GradientRangeTotals {
  const sum = (inputs: boolean) => {
    const some = reports.filter((r) => (r.tensor === "dx") === inputs);
    return {
      predicted: sumRanges(some.map((r) => r.predicted)),
      observed: sumRanges(some.map((r) => r.observed)),
    };
  };
  return { params: sum(false), inputs: sum(true) };
}

/** One gradient tensor of a step, copied out of the layer that owns it. */
interface StepGradient {
  tensor: string;
  layer: string;
  storage: Storage;
  shape: readonly number[];
  values: Float64Array;
}

/** What a training step is run with, besides the network and its input. */
interface Step {
  labels: ArrayLike<number>;
  lossScale: number;
  seed: number;
}

/** Every gradient of one step of `net` on `x`, in the order backward computes them. */
function stepGradients(net: Sequential, x: Tensor, step: Step): StepGradient[] {
  const found: StepGradient[] = [];
  reseedDropout(net, step.seed);
  lossAndGradients(net, x, step.labels, {
    lossScale: step.lossScale,
    trace: (layer, dx) => found.push(...layerGradients(net, layer, dx)),
  });
  return found;
}

/**
 * The gradients of every layer of `net` run alone, last layer first: forward on its float64
 * input `inputs[i]`, backward from the float64 gradient at its output taken from `reference`
 * (for the softmax, the loss).
 */
function isolatedGradients(
  net: Sequential,
  inputs: readonly Tensor[],
  reference: readonly StepGradient[],
  step: Step,
): StepGradient[] {
  const found: StepGradient[] = [];
  // Each dropout layer draws its mask from its own generator: reseeded once, each forward
  // below gets the mask of the reference step.
  reseedDropout(net, step.seed);
  for (let i = net.layers.length - 1; i >= 0; i--) {
    const layer = net.layers[i];
    layer.forward(inputs[i], true);
    let dx: Tensor;
    if (layer instanceof Softmax) dx = layer.crossEntropy(step.labels, step.lossScale).dlogits;
    else {
      const above = net.layers[i + 1].name;
      const dout = reference.find((g) => g.tensor === "dx" && g.layer === above)!;
      dx = layer.backward(Tensor.from(f64, dout.shape, dout.values));
    }
    found.push(...layerGradients(net, layer, dx));
  }
  return found;
}

/** `layer`'s parameter gradients, then `dx`, copied. */
function layerGradients(net: Sequential, layer: Layer, dx: Tensor): StepGradient[] {
  const names = new Map([...net.params()].map(([name, t]) => [t, name]));
  const copy = (tensor: string, t: Tensor) => ({
    tensor,
    layer: layer.name,
    storage: t.storage,
    shape: t.shape,
    values: t.toFloat64(),
  });
  return [
    ...Object.entries(layer.grads).map(([key, g]) => copy(`d${names.get(layer.params[key])}`, g)),
    copy("dx", dx),
  ];
}
