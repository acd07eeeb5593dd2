/**
 * Zero padding forward (a border of zeros around every plane) and backward (the inside of every
 * plane of the gradient) on the wasm kernels, image by image: values moved as they are.
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { requireKernels, withRegions } from "./kernels.ts";
import { type LayerFormats, mapRuns, selectionBytes } from "./staging.ts";

/** The border's width on each side. */
export interface Pads {
  top: number;
  left: number;
  bottom: number;
  right: number;
}

/**
 * Forward (`crop` false): `y` (N, C, H + top + bottom, W + left + right) = `x` (N, C, H, W)
 * inside a border of zeros. Backward (`crop` true): `y` (N, C, H, W) = the inside of `x`.
 * `y` stored in `formats.format`, `x` in `formats.input`.
 */
export function padPlanes(
  formats: LayerFormats,
  tensors: { x: Tensor; y: Tensor },
  pads: Pads & { crop: boolean },
): void {
  const kernels = requireKernels();
  const { x, y } = tensors;
  const { top, left, bottom, right, crop } = pads;
  const [n, channels, h, w] = crop ? y.shape : x.shape;
  const bytes = selectionBytes(formats);
  const run = { input: x.size / n, output: y.size / n, bytes };
  withRegions((reserve) =>
    mapRuns(formats, tensors, run, reserve, (input, output) => {
      kernels.pad_planes(input, channels, h, w, top, left, bottom, right, output, bytes, crop);
    })
  );
}
