/**
 * Random streams that belong to the run: where a stochastically rounding format's stream is
 * restarted, so that a result depends on the format's seed and on where each value is computed
 * (which image, which layer), never on what was rounded before in the same process, on the
 * batch size or on how images are split between workers.
 *
 * The keys: a network's parameters are rounded from {@linkcode PARAMETERS_KEY}; image `i`'s
 * input from `deriveSeed(i, 0)`, its output of layer `j` (0-based, in network order) from
 * `deriveSeed(i, j + 1)`. To make that possible, a network holding a stochastic format runs
 * inference one image at a time, layer by layer.
 *
 * @module
 */
import type { Layer } from "./layer.ts";
import type { RoundingStream, Storage } from "./storage/storage.ts";
import { Tensor } from "./tensor.ts";
import { deriveSeed } from "./random.ts";

/**
 * The key a network's parameters are rounded from when it is put in a stochastic format
 * (the largest key: no image index reaches it).
 *
 * @example
 * ```ts
 * import { PARAMETERS_KEY } from "@halfprec/halfprec/layers";
 * import assert from "node:assert/strict";
 * assert.equal(PARAMETERS_KEY, 2 ** 32 - 1);
 * ```
 */
export const PARAMETERS_KEY = 0xffffffff;

/**
 * The random streams a layer draws from: its storage's and its accumulator's, each once.
 *
 * @example
 * ```ts
 * import { Conv, f16, layerStreams, storageByName } from "@halfprec/halfprec/layers";
 * import assert from "node:assert/strict";
 * assert.equal(layerStreams(new Conv({ inChannels: 1, outChannels: 1, kernel: 1, storage: f16 })).length, 0);
 * const sr = storageByName("e5m10-sr3");
 * assert.equal(layerStreams(new Conv({ inChannels: 1, outChannels: 1, kernel: 1, storage: sr })).length, 1);
 * ```
 */
export function layerStreams(layer: Layer): RoundingStream[] {
  const accumulator = (layer as { accumulator?: Storage }).accumulator;
  const streams = [layer.storage.stream, accumulator?.stream];
  return [...new Set(streams.filter((s): s is RoundingStream => s !== undefined))];
}

/**
 * Restarts `format`'s stream (if it has one) and rounds each image of the float64 batch `x`
 * to it from its own key, `deriveSeed(firstImage + i, 0)`; the result is stored in `into`.
 *
 * @param firstImage The index, in the whole run, of `x`'s first image.
 *
 * @example
 * ```ts
 * import { f64, roundImages, storageByName, Tensor } from "@halfprec/halfprec/layers";
 * import assert from "node:assert/strict";
 * const x = Tensor.from(f64, [2, 3], [0.3, 0.3, 0.3, 0.3, 0.3, 0.3]);
 * const sr = storageByName("e4m3-sr1");
 * const whole = roundImages(x, sr, sr, 0).toFloat64();
 * // Image 1 alone, with its index in the run, rounds as it did in the batch.
 * const alone = roundImages(Tensor.from(f64, [1, 3], [0.3, 0.3, 0.3]), sr, sr, 1).toFloat64();
 * assert.deepEqual([...alone], [...whole.subarray(3)]);
 * ```
 */
export function roundImages(x: Tensor, format: Storage, into: Storage, firstImage: number): Tensor {
  const values = x.toFloat64();
  const perImage = x.shape[0] === 0 ? 0 : values.length / x.shape[0];
  for (let i = 0; i < x.shape[0]; i++) {
    format.stream?.restart(deriveSeed(firstImage + i, 0));
    for (let p = i * perImage; p < (i + 1) * perImage; p++) values[p] = format.round(values[p]);
  }
  return Tensor.from(into, x.shape, values);
}

/**
 * Inference through `layers` one image at a time, each layer's streams restarted before it
 * runs on an image from `deriveSeed(firstImage + i, j + 1)`; `trace` sees each layer's output
 * for the whole batch. The result is a new tensor, not one a layer owns.
 */
export function forwardPerImage(
  layers: readonly Layer[],
  x: Tensor,
  firstImage: number,
  trace?: (layer: Layer, output: Tensor) => void,
): Tensor {
  const n = x.shape[0];
  let input = x;
  for (const [j, layer] of layers.entries()) {
    const streams = layerStreams(layer);
    let output: Tensor | undefined;
    for (let i = 0; i < n; i++) {
      for (const stream of streams) stream.restart(deriveSeed(firstImage + i, j + 1));
      const y = layer.forward(example(input, i));
      output ??= new Tensor(y.storage, [n, ...y.shape.slice(1)]);
      bytesOf(output).set(bytesOf(y), i * y.byteLength);
    }
    input = output ?? new Tensor(layer.storage, [0, ...layer.outputShape(input.shape).slice(1)]);
    trace?.(layer, input);
  }
  return input;
}

/** Whether any of `layers` draws random numbers. */
export function drawsRandom(layers: readonly Layer[]): boolean {
  return layers.some((layer) => layerStreams(layer).length > 0);
}

/** Image `i` of the batch `x`, as a batch of one sharing `x`'s memory. */
function example(x: Tensor, i: number): Tensor {
  const per = x.size / x.shape[0];
  const Codes = x.data.constructor as new (
    buffer: ArrayBufferLike,
    byteOffset: number,
    length: number,
  ) => Tensor["data"];
  const data = new Codes(
    x.data.buffer,
    x.data.byteOffset + i * per * x.storage.bytesPerElement,
    per,
  );
  return new Tensor(x.storage, [1, ...x.shape.slice(1)], data);
}

function bytesOf(t: Tensor): Uint8Array {
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}
