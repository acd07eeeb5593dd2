/**
 * Bytes moved by a network: the one formula every report in halfprec uses.
 *
 * A layer reads its input and its parameters and writes its output, each at the element size
 * of the format it is stored in. When its input comes in another format (a per-layer
 * configuration changes format there), the input is first converted: read in its own format
 * and written in the layer's, which the layer then reads. Scratch arrays inside a kernel (float64 windows, packed
 * panels) are not counted: they live in cache and their size is an implementation choice,
 * while these bytes are what the format decides. Weights are counted once per batch.
 *
 * @module
 */
import type { Sequential } from "../layers/sequential.ts";
import type { Storage } from "../layers/storage/storage.ts";

/** Bytes one layer moves in one forward pass over a batch. */
export interface LayerBytes {
  /** The layer's name in its network. */
  layer: string;
  /** Input and parameter bytes read, at the layer's element size. */
  read: number;
  /** Output bytes written. */
  written: number;
  /**
   * Bytes moved converting the input to the layer's format before it runs: read at the
   * input's element size plus written at the layer's; 0 when the formats are the same.
   */
  converted: number;
}

/**
 * Bytes read and written by every layer of `net` for one forward pass on an input of
 * `inputShape` stored in `inputStorage`.
 *
 * @example DeepConvNet's first convolution in f16, batch 1
 * ```ts
 * import { bytesMoved, deepConvNet, f16 } from "@halfprec/halfprec";
 * import assert from "node:assert/strict";
 * const [conv1] = bytesMoved(deepConvNet({ storage: f16 }), [1, 1, 28, 28], f16);
 * // input 784 + weights 16*9 + bias 16 elements read, 16*28*28 written, 2 bytes each
 * assert.deepEqual(conv1, {
 *   layer: "conv1",
 *   read: 2 * (784 + 144 + 16),
 *   written: 2 * 12544,
 *   converted: 0,
 * });
 * ```
 */
export function bytesMoved(
  net: Sequential,
  inputShape: readonly number[],
  inputStorage: Storage,
): LayerBytes[] {
  const shapes = net.shapes(inputShape);
  let input = { elements: count(inputShape), storage: inputStorage };
  return net.layers.map((layer, i) => {
    const bytes = layer.storage.bytesPerElement;
    const params = Object.values(layer.params).reduce((sum, t) => sum + t.size, 0);
    const converted = input.storage === layer.storage
      ? 0
      : input.elements * (input.storage.bytesPerElement + bytes);
    const result = {
      layer: layer.name,
      read: (input.elements + params) * bytes,
      written: count(shapes[i]) * bytes,
      converted,
    };
    input = { elements: count(shapes[i]), storage: layer.storage };
    return result;
  });
}

/**
 * All the bytes `layers` move: read, written and converted.
 *
 * @example
 * ```ts
 * import { bytesMoved, deepConvNet, f32, totalBytes } from "@halfprec/halfprec";
 * import assert from "node:assert/strict";
 * const net = deepConvNet({ storage: f32 });
 * const layers = bytesMoved(net, [10, 1, 28, 28], f32);
 * assert.equal(totalBytes(layers), layers.reduce((sum, l) => sum + l.read + l.written, 0));
 * ```
 */
export function totalBytes(layers: readonly LayerBytes[]): number {
  return layers.reduce((sum, l) => sum + l.read + l.written + l.converted, 0);
}

function count(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
