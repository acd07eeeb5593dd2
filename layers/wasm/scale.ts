/**
 * Scale on the wasm kernels, in chunks: values widened exactly, multiplied and divided in
 * float64, each rounded once to the format: the TypeScript layer's results.
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { requireKernels, withRegions } from "./kernels.ts";
import { float64Bytes, type LayerFormats, mapRuns } from "./staging.ts";

/** Elements per chunk: 256 KiB of f32, inside L2. */
const CHUNK = 65536;

/** `y` = `x` · `factor` / `divisor` element-wise, stored in `formats.format`, `x` in `formats.input`. */
export function scaleValues(
  formats: LayerFormats,
  tensors: { x: Tensor; y: Tensor },
  by: { factor: number; divisor: number },
): void {
  const kernels = requireKernels();
  const bytes = float64Bytes(formats);
  withRegions((reserve) =>
    mapRuns(formats, tensors, { input: CHUNK, bytes }, reserve, (at, _, count) => {
      kernels.scale_values(at, count, by.factor, by.divisor, bytes);
    })
  );
}
