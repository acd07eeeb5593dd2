/**
 * Max pooling forward on the wasm kernels, image by image: values widened exactly to float32
 * (or kept float64), the same comparisons as the TypeScript layer, the maxima stored back
 * exactly.
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import type { Window } from "../_geometry.ts";
import { heap, requireKernels, withRegions } from "./kernels.ts";
import {
  loadValues,
  regionBytes,
  stagingBytes,
  storeValues,
  valueBytes,
  type WasmFormat,
} from "./staging.ts";

/**
 * `y` (N, C, OH, OW) = the maximum of every window of `x` (N, C, H, W), both in `format`;
 * `argmax` gets, for every output, the index within its input plane of the maximum.
 */
export function poolForward(
  format: WasmFormat,
  tensors: { x: Tensor; y: Tensor; argmax: Int32Array },
  window: Window,
): void {
  const kernels = requireKernels();
  const { x, y, argmax } = tensors;
  const [n, channels, h, w] = x.shape;
  const [, , oh, ow] = y.shape;
  const inSize = channels * h * w;
  const outSize = channels * oh * ow;
  const bytes = valueBytes(format);
  const pool = format === "f64" ? kernels.max_pool_f64 : kernels.max_pool_f32;
  withRegions((reserve) => {
    const input = reserve(regionBytes(inSize, bytes));
    const out = reserve(regionBytes(outSize, bytes));
    const at = reserve(outSize * 4);
    const staging = reserve(Math.max(stagingBytes(format, inSize), stagingBytes(format, outSize)));
    for (let i = 0; i < n; i++) {
      loadValues(kernels, format, x.data, i * inSize, inSize, staging, input);
      pool(input, channels, h, w, window.size, window.stride, window.pad, oh, ow, out, at);
      storeValues(kernels, format, out, staging, y.data, i * outSize, outSize);
      argmax.set(new Int32Array(heap(), at, outSize), i * outSize);
    }
  });
}
