/**
 * Max pooling forward and backward on the wasm kernels, image by image: values widened exactly
 * to float32 (or kept float64), the same comparisons as the TypeScript layer, the maxima stored
 * back exactly (from a float64 input to a narrower format, rounded once, as the TypeScript layer
 * rounds them); backward, each output gradient put at its maximum's position (exact when the
 * windows do not overlap, the only case the layer sends here).
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { type Window, windowWords } from "../_geometry.ts";
import { heap, requireKernels, withRegions } from "./kernels.ts";
import {
  isF64,
  type LayerFormats,
  loadValues,
  placeWords,
  regionBytes,
  reserveLayerStaging,
  selectionBytes,
  type Staging,
  storeValues,
} from "./staging.ts";

/**
 * `y` (N, C, OH, OW) = the maximum of every window of `x` (N, C, H, W), `y` in
 * `formats.format`, `x` in `formats.input`; `argmax` gets, for every output, the index within
 * its input plane of the maximum.
 */
export function poolForward(
  formats: LayerFormats,
  tensors: { x: Tensor; y: Tensor; argmax: Int32Array },
  window: Window,
): void {
  const kernels = requireKernels();
  const { x } = tensors;
  const [n, channels, h, w] = x.shape;
  const [, , oh, ow] = tensors.y.shape;
  const inSize = channels * h * w;
  const outSize = channels * oh * ow;
  const bytes = selectionBytes(formats);
  withRegions((reserve) => {
    const input = reserve(regionBytes(inSize, bytes));
    const { from, to } = reserveLayerStaging(formats, bytes, reserve, inSize, outSize);
    const poolImage = imagePooler(to, reserve, tensors, window);
    for (let i = 0; i < n; i++) {
      loadValues(kernels, from, x.data, i * inSize, inSize, input);
      poolImage(input, i);
    }
  });
}

/**
 * Max pooling image by image of values already in the memory, into `y` (N, C, OH, OW) and
 * `argmax`, through `staging` (of y's format, with room for an image of y): returns the function
 * that pools image `i` of `x`'s shape (only its shape is read) from the values at `values`, and
 * returns where the maxima's values are in the memory (at `into`, when given). The loop body of
 * {@linkcode poolForward}, for a layer that pools its own outputs; `store` false leaves `y`
 * unwritten (for one that hands the maxima on in the memory), the argmax is always written.
 */
export function imagePooler(
  staging: Staging,
  reserve: (bytes: number) => number,
  tensors: { x: { shape: readonly number[] }; y: Tensor; argmax: Int32Array },
  window: Window,
  store = true,
): (values: number, i: number, into?: number) => number {
  const kernels = requireKernels();
  const { x, y, argmax } = tensors;
  const [, channels, h, w] = x.shape;
  const [, , oh, ow] = y.shape;
  const outSize = channels * oh * ow;
  // Float64 values when the format's are, or when they are narrowed from float64 to it.
  const doubles = isF64(staging.format) || staging.doubles !== undefined;
  const bytes = doubles ? 8 : 4;
  const pool = doubles ? kernels.max_pool_f64 : kernels.max_pool_f32;
  const out = reserve(regionBytes(outSize, bytes));
  const at = reserve(outSize * Int32Array.BYTES_PER_ELEMENT);
  const win = placeWords(reserve, windowWords(window));
  return (values, i, into = out) => {
    pool(values, channels, h, w, win, oh, ow, into, at);
    if (store) storeValues(kernels, staging, into, y.data, i * outSize, outSize);
    argmax.set(new Int32Array(heap(), at, outSize), i * outSize);
    return into;
  };
}

/**
 * `dx` (N, C, H, W) = zeros with every element of `dy` (N, C, OH, OW) added, in output order,
 * at the position `argmax` (from the forward pass) names within its plane; `dx` stored in
 * `formats.format`, `dy` in `formats.input` (widened exactly, or float64 values as they are),
 * each element of `dx` rounded once to the format. With `overlapping` windows an element can
 * receive more than one gradient: the sums are float64, as the TypeScript layer's.
 */
export function poolBackward(
  formats: LayerFormats,
  tensors: { dy: Tensor; dx: Tensor; argmax: Int32Array },
  overlapping = false,
): void {
  const kernels = requireKernels();
  const { dy, dx, argmax } = tensors;
  const [n, channels, h, w] = dx.shape;
  const [, , oh, ow] = dy.shape;
  const inSize = channels * h * w;
  const outSize = channels * oh * ow;
  const bytes = overlapping ? 8 : selectionBytes(formats);
  const unpool = bytes === 8 ? kernels.unpool_f64 : kernels.unpool_f32;
  withRegions((reserve) => {
    const grad = reserve(regionBytes(outSize, bytes));
    const out = reserve(regionBytes(inSize, bytes));
    const at = reserve(outSize * Int32Array.BYTES_PER_ELEMENT);
    const { from, to } = reserveLayerStaging(formats, bytes, reserve, outSize, inSize);
    for (let i = 0; i < n; i++) {
      loadValues(kernels, from, dy.data, i * outSize, outSize, grad);
      new Int32Array(heap(), at, outSize).set(argmax.subarray(i * outSize, (i + 1) * outSize));
      unpool(grad, channels, oh * ow, h * w, at, out);
      storeValues(kernels, to, out, dx.data, i * inSize, inSize);
    }
  });
}
