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
import { Float64Copies, imageBatches } from "./_outputs.ts";

/**
 * For each of `candidates` (the float64 `reference` in other formats), every layer's squared
 * relative L2 error alone in the candidate's format given the reference's input, by layer name:
 * the same numbers as `layerReportsOf`'s `isolated.relL2 ** 2`, summed batch by batch in image
 * order. Between layers it gives way to other tasks, so that work started before it (a pool's
 * forward passes, fed from this thread) goes on; it reports to `onProgress` how many candidates
 * are done (in the last batch).
 */
export async function isolatedNoise(
  reference: Sequential,
  candidates: readonly Sequential[],
  x: Tensor,
  options: { batch?: number; onProgress?: (done: number) => void } = {},
): Promise<Map<string, number>[]> {
  const { batch = 100, onProgress } = options;
  const sums = candidates.map((candidate) => candidate.layers.map(() => new ErrorSums()));
  const copies = new Float64Copies();
  for (const { start, part } of imageBatches(x, batch)) {
    await giveWay();
    const wide = copies.layerOutputs(reference, part, false, start);
    // The outputs are float64 copies: their arrays are the values, without another copy.
    const wideValues = wide.map((t) => t.data as Float64Array);
    // One buffer for every candidate output widened: fresh memory costs more than the copy.
    const isolated = new Float64Array(Math.max(...wide.map((t) => t.size)));
    for (const [c, candidate] of candidates.entries()) {
      for (const [i, layer] of candidate.layers.entries()) {
        await giveWay();
        // Layers keep their outputs only until their next call: the inputs are copies.
        const y = layer.forward(i === 0 ? part : wide[i - 1]);
        y.storage.read(y.data, 0, isolated, 0, y.size);
        sums[c][i].add(wideValues[i], isolated.subarray(0, y.size), layer.storage);
      }
      if (start + batch >= x.shape[0]) onProgress?.(c + 1);
    }
  }
  return candidates.map((candidate, c) =>
    new Map(candidate.layers.map((layer, i) => [layer.name, sums[c][i].metrics().relL2 ** 2]))
  );
}

/** Lets the tasks waiting on this thread run (a message from a worker, say). */
function giveWay(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
