/**
 * Every layer's output of a forward pass, kept: what the analyses compare layer by layer.
 *
 * @module
 */
import type { Sequential } from "../layers/sequential.ts";
import { f64 } from "../layers/storage/f64.ts";
import { Tensor } from "../layers/tensor.ts";

/**
 * Float64 copies of tensors, each in a numbered buffer that the next copy to the same number
 * overwrites: a pass over many batches allocates its buffers once, not once per batch (fresh
 * large arrays cost more than the copying).
 */
export class Float64Copies {
  readonly #buffers: Float64Array[] = [];

  /** `t`'s values widened into buffer `slot`, valid until the next copy to `slot`. */
  copy(t: Tensor, slot: number): Float64Array {
    let buffer = this.#buffers[slot];
    if (buffer?.length !== t.size) buffer = this.#buffers[slot] = new Float64Array(t.size);
    t.storage.read(t.data, 0, buffer, 0, t.size);
    return buffer;
  }

  /**
   * Every layer's output on `x`, layer `i`'s copied to buffer `i` (layers reuse their output
   * tensors), as float64 tensors valid until the next call; `train` runs dropout as in
   * training; `firstImage` is the index of `x`'s first image in the run (it keys the rounding
   * streams).
   */
  layerOutputs(net: Sequential, x: Tensor, train = false, firstImage = 0): Tensor[] {
    const kept: Tensor[] = [];
    net.forward(x, {
      train,
      firstImage,
      trace: (_layer, y) => kept.push(new Tensor(f64, y.shape, this.copy(y, kept.length))),
    });
    return kept;
  }
}

/** Every layer's output on `x`, each a float64 tensor of its own (see `Float64Copies`). */
export function layerOutputs(net: Sequential, x: Tensor, train = false, firstImage = 0): Tensor[] {
  return new Float64Copies().layerOutputs(net, x, train, firstImage);
}

/**
 * `x` a batch of at most `batch` images at a time, as float64 copies, with the index of each
 * batch's first image: what keeps a pass over many images bounded by the batch (each batch is
 * widened on its own, so no float64 copy of the whole of `x` is made).
 */
export function* imageBatches(
  x: Tensor,
  batch: number,
): Generator<{ start: number; part: Tensor }> {
  const images = x.shape[0];
  const size = images === 0 ? 0 : x.size / images;
  for (let start = 0; start < images; start += batch) {
    const count = Math.min(batch, images - start);
    const part = new Float64Array(count * size);
    x.storage.read(x.data, start * size, part, 0, part.length);
    yield { start, part: new Tensor(f64, [count, ...x.shape.slice(1)], part) };
  }
}
