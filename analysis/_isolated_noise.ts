/**
 * The relative noise power each layer of a candidate network adds on its own: the search's
 * sensitivity, which needs only the isolated error of `layerReportsOf` and none of its other
 * passes (the candidate's propagated run, the range counts).
 *
 * @module
 */
import type { Sequential } from "../layers/sequential.ts";
import type { Tensor } from "../layers/tensor.ts";
import { ErrorSums } from "./_error_sums.ts";
import { imageBatches, layerOutputs } from "./_outputs.ts";

/**
 * For each of `candidates` (the float64 `reference` in other formats), every layer's squared
 * relative L2 error alone in the candidate's format given the reference's input, by layer name:
 * the same numbers as `layerReportsOf`'s `isolated.relL2 ** 2`, summed batch by batch in image
 * order. Between candidates it gives way to other tasks, so that work started before it (a pool's
 * forward passes) goes on, and reports to `onProgress` how many candidates are done (in the
 * last batch).
 */
export async function isolatedNoise(
  reference: Sequential,
  candidates: readonly Sequential[],
  x: Tensor,
  options: { batch?: number; onProgress?: (done: number) => void } = {},
): Promise<Map<string, number>[]> {
  const { batch = 100, onProgress } = options;
  const sums = candidates.map((candidate) => candidate.layers.map(() => new ErrorSums()));
  for (const { start, part } of imageBatches(x, batch)) {
    const wide = layerOutputs(reference, part, false, start);
    for (const [c, candidate] of candidates.entries()) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      candidate.layers.forEach((layer, i) => {
        // Layers keep their outputs only until their next call: the inputs are copies.
        const isolated = layer.forward(i === 0 ? part : wide[i - 1]).toFloat64();
        sums[c][i].add(wide[i].toFloat64(), isolated, layer.storage);
      });
      if (start + batch >= x.shape[0]) onProgress?.(c + 1);
    }
  }
  return candidates.map((candidate, c) =>
    new Map(candidate.layers.map((layer, i) => [layer.name, sums[c][i].metrics().relL2 ** 2]))
  );
}
