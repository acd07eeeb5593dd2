/**
 * Real inputs for the benchmarks: a batch of MNIST test images and the float64 activations the
 * book's weights produce from them at every layer of DeepConvNet.
 *
 * @module
 */
import { f64, mnistImages, type Sequential, type Tensor } from "../mod.ts";
import { loadDeepConvNet, loadTestSet } from "../cli/_locate.ts";

/** Images per benchmarked batch. */
export const BATCH = 100;

/** The reference network and, for every layer, the float64 input it sees on real images. */
export interface Activations {
  net: Sequential;
  /** `inputs[i]` is the input of `net.layers[i]`. */
  inputs: Tensor[];
  labels: Uint8Array;
}

/**
 * The book's weights and the first {@linkcode BATCH} test images, found by the commands' lookup
 * (the copies embedded in `data/` unless `HALFPREC_MNIST` points elsewhere).
 */
export async function loadActivations(): Promise<Activations> {
  const { net } = await loadDeepConvNet("book");
  const { set } = await loadTestSet();
  const inputs = [mnistImages(set, 0, BATCH, f64)];
  net.forward(inputs[0], { trace: (_layer, output) => inputs.push(output) });
  inputs.pop(); // the softmax output is no layer's input
  return { net, inputs, labels: set.labels.slice(0, BATCH) };
}
