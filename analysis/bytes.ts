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
 * A scaled format (`mxfp4`, `nvfp4`, `int8`…) counts packed elements plus scales (see
 * `scaledBits`): a block scale per 32 values (MX; 16 for NVFP4) of every tensor, a float32 per
 * tensor (NVFP4, tensor-scaled fp8, activations of int8/int4) or per output channel (weights of
 * `-channel` fp8, int8, int4). Biases count as float32. Blocks are counted per tensor: a
 * reduction axis shorter than a block (one input channel) has more scales than counted.
 *
 * @module
 */
import type { Sequential } from "../layers/sequential.ts";
import type { Storage } from "../layers/storage/storage.ts";
import type { Layer } from "../layers/layer.ts";
import type { Tensor } from "../layers/tensor.ts";
import { scaledBits, scaledSchemeOf } from "../layers/storage/scaled.ts";

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
    const converted = input.storage === layer.storage
      ? 0
      : bytesOf(input.storage, input.elements) + bytesOf(layer.storage, input.elements);
    const params = Object.values(layer.params).reduce((sum, t) => sum + paramBytes(layer, t), 0);
    const elements = count(shapes[i]);
    const result = {
      layer: layer.name,
      read: bytesOf(layer.storage, input.elements) + params,
      written: bytesOf(layer.storage, elements),
      converted,
    };
    input = { elements, storage: layer.storage };
    return result;
  });
}

/** Bytes of a tensor of `elements` values in `storage`, scales included (per tensor). */
function bytesOf(storage: Storage, elements: number, channels = 1): number {
  const scheme = scaledSchemeOf(storage);
  return scheme ? scaledBits(scheme, elements, channels) / 8 : elements * storage.bytesPerElement;
}

/**
 * Bytes of a parameter of `layer`: weights in the layer's format with a scale per output
 * channel where the format has them; a scaled format's biases in float32.
 */
function paramBytes(layer: Layer, t: Tensor): number {
  const scheme = scaledSchemeOf(layer.storage);
  if (!scheme) return bytesOf(layer.storage, t.size);
  if (t !== layer.params.W) return 4 * t.size;
  const channels = layer.kind === "affine" ? t.shape[1] : t.shape[0];
  return bytesOf(layer.storage, t.size, scheme.granularity === "channel" ? channels : 1);
}

/**
 * All the bytes `layers` move: read, written and converted.
 *
 * @example
 * ```ts
 * import { bytesMoved, deepConvNet, f32 } from "@halfprec/halfprec";
 * import { totalBytes } from "@halfprec/halfprec/analysis";
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
