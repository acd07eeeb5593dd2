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
 * runs dropout as in training; `firstImage` is the index of `x`'s first image in the run (it
 * keys the rounding streams).
 */
export function layerOutputs(net: Sequential, x: Tensor, train = false, firstImage = 0): Tensor[] {
  const kept: Tensor[] = [];
  net.forward(x, {
    train,
    firstImage,
    trace: (_layer, y) => kept.push(new Tensor(f64, y.shape, y.toFloat64())),
  });
  return kept;
}

/**
 * `x` a batch of at most `batch` images at a time, as float64 copies, with the index of each
 * batch's first image: what keeps a pass over many images bounded by the batch.
 */
export function* imageBatches(
  x: Tensor,
  batch: number,
): Generator<{ start: number; part: Tensor }> {
  const images = x.shape[0];
  const values = x.toFloat64();
  const size = images === 0 ? 0 : values.length / images;
  for (let start = 0; start < images; start += batch) {
    const count = Math.min(batch, images - start);
    const part = values.slice(start * size, (start + count) * size);
    yield { start, part: new Tensor(f64, [count, ...x.shape.slice(1)], part) };
  }
}
