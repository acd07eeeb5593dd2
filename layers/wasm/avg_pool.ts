/**
 * Average pooling forward and backward on the wasm kernels, image by image: each window summed
 * in float64 from exactly widened values and divided by its count, each output rounded once;
 * backward, every input's shares summed in float64, in the TypeScript layer's order, each
 * rounded once: the TypeScript layer's results.
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { requireKernels, withRegions } from "./kernels.ts";
import { float64Bytes, type LayerFormats, mapRuns, placeWords } from "./staging.ts";

/**
 * The window of an average pool, per axis: extent, stride, pads before and after, and whether
 * padding counts in the divisor.
 */
export interface AvgWindow {
  kernelHeight: number;
  kernelWidth: number;
  strideHeight: number;
  strideWidth: number;
  padTop: number;
  padLeft: number;
  padBottom: number;
  padRight: number;
  countIncludePad: number;
}

/** Puts the kernels' geometry (13 int32) in the memory. */
function placeGeometry(
  reserve: (bytes: number) => number,
  window: AvgWindow,
  [h, w, oh, ow]: readonly number[],
): number {
  const geometry = [
    h,
    w,
    window.kernelHeight,
    window.kernelWidth,
    window.strideHeight,
    window.strideWidth,
    window.padTop,
    window.padLeft,
    window.padBottom,
    window.padRight,
    window.countIncludePad,
    oh,
    ow,
  ];
  return placeWords(reserve, Int32Array.from(geometry));
}

/**
 * Forward: `y` (N, C, OH, OW) = the mean of every window of `x` (N, C, H, W). Backward
 * (`backward` true, `x` the output gradient, `y` the input gradient): every input's shares of
 * the gradients of the windows it is in. `y` stored in `formats.format`, `x` in `formats.input`.
 */
export function avgPoolPlanes(
  formats: LayerFormats,
  tensors: { x: Tensor; y: Tensor; backward: boolean },
  window: AvgWindow,
): void {
  const kernels = requireKernels();
  const { x, y, backward } = tensors;
  const [n, channels, h, w] = backward ? y.shape : x.shape;
  const [, , oh, ow] = backward ? x.shape : y.shape;
  const bytes = float64Bytes(formats);
  withRegions((reserve) => {
    const geo = placeGeometry(reserve, window, [h, w, oh, ow]);
    const sums = backward ? reserve(h * w * Float64Array.BYTES_PER_ELEMENT) : 0;
    const run = { input: x.size / n, output: y.size / n, bytes };
    mapRuns(formats, tensors, run, reserve, (input, output) => {
      if (backward) kernels.avg_unpool(input, channels, geo, output, sums, bytes);
      else kernels.avg_pool(input, channels, geo, output, bytes);
    });
  });
}
