/**
 * One training step's worth of gradients: forward in training mode, cross-entropy, backward.
 *
 * @module
 */
import type { Layer } from "./layer.ts";
import type { Sequential } from "./sequential.ts";
import { Softmax } from "./softmax.ts";
import type { Tensor } from "./tensor.ts";

/**
 * Runs `net` forward on `x` in training mode, computes the mean cross-entropy against `labels`
 * and backpropagates it, leaving every layer's gradients filled (multiplied by
 * `options.lossScale`, see {@linkcode LossScale}). Returns the loss. `options.trace` sees the
 * gradient at every layer's input as backward goes, the softmax's (the gradient at the logits)
 * first: it belongs to the layer and is overwritten by its next backward.
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
  options: { lossScale?: number; trace?: (layer: Layer, dx: Tensor) => void } = {},
): number {
  const softmax = net.layers.at(-1);
  if (!(softmax instanceof Softmax)) {
    throw new TypeError(
      `Cannot compute a loss: the network ends in ${
        softmax?.name ?? "nothing"
      }, expected a softmax`,
    );
  }
  net.forward(x, { train: true });
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
