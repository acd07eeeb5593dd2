/**
 * One training step's worth of gradients: forward in training mode, cross-entropy, backward.
 *
 * @module
 */
import type { Layer } from "./layer.ts";
import type { Sequential } from "./sequential.ts";
import { Softmax } from "./softmax.ts";
import type { Tensor } from "./tensor.ts";
import { isProductLayer, tensorAmax, traceProductInputs } from "./_product_inputs.ts";

/**
 * The activation scales of one forward-backward pass, for delayed scaling (see
 * `DelayedScaling`): the amax each product layer scales its input by, and what the pass saw.
 */
export interface PassScales {
  /**
   * The amax each named conv or affine layer scales its input by in this pass, in place of its
   * own `activationAmax` (or of the batch's, dynamic); a layer not named keeps its own.
   */
  readonly amax: Readonly<Record<string, number>>;
  /** Filled by the pass: the amax of every conv and affine layer's input, by layer name. */
  readonly seen: Record<string, number>;
}

/**
 * Runs `net` forward on `x` in training mode, computes the mean cross-entropy against `labels`
 * and backpropagates it, leaving every layer's gradients filled (multiplied by
 * `options.lossScale`, see {@linkcode LossScale}). Returns the loss. `options.trace` sees the
 * gradient at every layer's input as backward goes, the softmax's (the gradient at the logits)
 * first: it belongs to the layer and is overwritten by its next backward. `options.scales`
 * sets the activation scales of this pass and collects the amax of every product layer's
 * input (the layers keep their own scales afterwards).
 *
 * @throws {TypeError} When the network does not end in a softmax.
 *
 * @example
 * ```ts
 * import { deepConvNet, f64, lossAndGradients, Tensor } from "@halfprec/halfprec/layers";
 * import assert from "node:assert/strict";
 * const net = deepConvNet({ seed: 1 });
 * const x = Tensor.from(f64, [2, 1, 28, 28], Array.from({ length: 2 * 784 }, (_, i) => (i % 13) / 13));
 * const loss = lossAndGradients(net, x, [3, 7]);
 * assert.ok(loss > 0 && Number.isFinite(loss));
 * assert.ok(net.grads().get("W8")!.toFloat64().some((g) => g !== 0));
 * ```
 */
export function lossAndGradients(
  net: Sequential,
  x: Tensor,
  labels: ArrayLike<number>,
  options: {
    lossScale?: number;
    trace?: (layer: Layer, dx: Tensor) => void;
    scales?: PassScales;
  } = {},
): number {
  const softmax = net.layers.at(-1);
  if (!(softmax instanceof Softmax)) {
    throw new TypeError(
      `Cannot compute a loss: the network ends in ${
        softmax?.name ?? "nothing"
      }, expected a softmax`,
    );
  }
  const scales = options.scales;
  if (scales) forwardWithScales(net, x, scales);
  else net.forward(x, { train: true });
  const { loss, dlogits } = softmax.crossEntropy(labels, options.lossScale);
  // The loss gradient already includes the softmax: start below it.
  let d = dlogits;
  options.trace?.(softmax, d);
  for (let i = net.layers.length - 2; i >= 0; i--) {
    d = net.layers[i].backward(d);
    options.trace?.(net.layers[i], d);
  }
  return loss;
}

/** The training forward pass of `net` on `x` with the amax of `scales`, noting what it sees. */
function forwardWithScales(net: Sequential, x: Tensor, scales: PassScales): void {
  const layers = net.layers.filter(isProductLayer);
  const own = layers.map((layer) => layer.options.activationAmax);
  for (const layer of layers) {
    const amax = scales.amax[layer.name];
    if (amax !== undefined) layer.options.activationAmax = amax;
  }
  const note = (name: string, input: Tensor) => {
    scales.seen[name] = Math.max(scales.seen[name] ?? 0, tensorAmax(input));
  };
  try {
    net.forward(x, { train: true, trace: traceProductInputs(net.layers, x, note) });
  } finally {
    // Backward passes straight through the quantization: the scales matter to forward only.
    layers.forEach((layer, i) => {
      if (own[i] === undefined) delete layer.options.activationAmax;
      else layer.options.activationAmax = own[i];
    });
  }
}
