/**
 * Real inputs for the benchmarks: a batch of MNIST test images and the float64 activations the
 * book's weights produce from them at every layer of DeepConvNet.
 *
 * @module
 */
import { deepConvNet, f64, mnistImages, type Sequential, type Tensor } from "../mod.ts";
import { readMnistDir, readSafetensorsFile } from "../data/files.ts";
import { sharedPath } from "../tests/_data.ts";

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
 * Loads the book's weights and the first {@linkcode BATCH} test images, or returns undefined
 * after a warning when they are missing (an error under `CI=true`).
 */
export async function loadActivations(): Promise<Activations | undefined> {
  const mnist = sharedPath("HALFPREC_MNIST", "../shared/mnist");
  const weights = sharedPath("HALFPREC_WEIGHTS", "../shared/weights/deepconvnet-book.safetensors");
  if (!mnist || !weights) {
    if (Deno.env.get("CI") === "true") {
      throw new Error("Benchmarks need MNIST and the book weights");
    }
    console.warn("Skipping the benchmarks: MNIST or the book weights are missing (see above)");
    return undefined;
  }
  const net = deepConvNet();
  net.loadParams((await readSafetensorsFile(weights)).tensors, weights);
  const set = await readMnistDir(mnist, "test");
  const inputs = [mnistImages(set, 0, BATCH, f64)];
  net.forward(inputs[0], { trace: (_layer, output) => inputs.push(output) });
  inputs.pop(); // the softmax output is no layer's input
  return { net, inputs, labels: set.labels.slice(0, BATCH) };
}
