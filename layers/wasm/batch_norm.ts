/**
 * Batch normalisation forward and backward on the wasm kernels, image by image: values widened
 * exactly, x · scale + shift computed in float64 and rounded once; backward, the input gradient
 * dy · scale and the parameter gradients summed in float64 in element order, each result
 * rounded once: the TypeScript layer's results.
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { heap, requireKernels, withRegions } from "./kernels.ts";
import {
  type BackwardFormats,
  float64Bytes,
  gradientStaging,
  type LayerFormats,
  loadValues,
  mapRuns,
  regionBytes,
  reserveLayerStaging,
  storeValues,
} from "./staging.ts";

/** Puts float64 values in the memory. */
function placeF64(reserve: (bytes: number) => number, values: Float64Array): number {
  const at = reserve(values.byteLength);
  new Float64Array(heap(), at, values.length).set(values);
  return at;
}

/**
 * `y` = `x` · scale[c] + shift[c] for every element of channel c of `x` (N, C, ...), `y` stored
 * in `formats.format`, `x` in `formats.input`; the scale and shift given in float64.
 */
export function batchNormForward(
  formats: LayerFormats,
  tensors: { x: Tensor; y: Tensor },
  params: { scale: Float64Array; shift: Float64Array },
): void {
  const kernels = requireKernels();
  const { x } = tensors;
  const channels = params.scale.length;
  const image = x.size / x.shape[0];
  const bytes = float64Bytes(formats);
  withRegions((reserve) => {
    const scale = placeF64(reserve, params.scale);
    const shift = placeF64(reserve, params.shift);
    mapRuns(formats, tensors, { input: image, bytes }, reserve, (at) => {
      kernels.channel_affine(at, channels, image / channels, channels, scale, shift, bytes);
    });
  });
}

/**
 * `dx` = `dy` · scale[c] for every element of channel c, `dx` stored in `formats.format`, `x` in
 * `formats.input` and `dy` in `formats.gradient` (each read exactly, as float64 values where
 * either holds them); returns the float64 gradients of the scale (the sum of dy · x per channel)
 * and of the shift (the sum of dy).
 */
export function batchNormBackward(
  formats: BackwardFormats,
  tensors: { x: Tensor; dy: Tensor; dx: Tensor },
  scaleValues: Float64Array,
): { scale: Float64Array; shift: Float64Array } {
  const kernels = requireKernels();
  const { x, dy, dx } = tensors;
  const channels = scaleValues.length;
  const image = x.size / x.shape[0];
  const inner = image / channels;
  const bytes = float64Bytes(formats);
  return withRegions((reserve) => {
    const scale = placeF64(reserve, scaleValues);
    const sums = placeF64(reserve, new Float64Array(2 * channels));
    const input = reserve(regionBytes(image, bytes));
    const grad = reserve(regionBytes(image, bytes));
    const { from, to } = reserveLayerStaging(formats, bytes, reserve, image);
    const dyFrom = gradientStaging(formats, to, reserve, image, bytes);
    for (let start = 0; start < x.size; start += image) {
      loadValues(kernels, from, x.data, start, image, input);
      loadValues(kernels, dyFrom, dy.data, start, image, grad);
      const dShift = sums + channels * Float64Array.BYTES_PER_ELEMENT;
      kernels.channel_sums(input, grad, channels, inner, channels, sums, dShift, bytes);
      kernels.channel_affine(grad, channels, inner, channels, scale, 0, bytes);
      storeValues(kernels, to, grad, dx.data, start, image);
    }
    const both = new Float64Array(heap(), sums, 2 * channels).slice();
    return { scale: both.subarray(0, channels), shift: both.subarray(channels) };
  });
}
