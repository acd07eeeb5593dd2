/**
 * Every layer's output of a forward pass, kept: what the analyses compare layer by layer.
 *
 * @module
 */
import type { Sequential } from "../layers/sequential.ts";
import { f64 } from "../layers/storage/f64.ts";
import { Tensor } from "../layers/tensor.ts";

/**
 * Every layer's output on `x`, copied to float64 (layers reuse their output tensors); `train`
 * runs dropout as in training.
 */
export function layerOutputs(net: Sequential, x: Tensor, train = false): Tensor[] {
  const kept: Tensor[] = [];
  net.forward(x, {
    train,
    trace: (_layer, y) => kept.push(Tensor.from(f64, y.shape, y.toFloat64())),
  });
  return kept;
}
