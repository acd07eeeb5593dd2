/**
 * Real inputs for the benchmarks: a batch of test images and the float64 activations a network
 * produces from them at every layer. By default DeepConvNet with the book's weights on MNIST;
 * `HALFPREC_BENCH_MODEL=FILE.onnx` benchmarks that model instead, on the images
 * `HALFPREC_BENCH_DATA` names (as `--data` does for the commands; MNIST when unset).
 *
 * @module
 */
import {
  f64,
  imageBatch,
  type LabeledImages,
  type Sequential,
  type Storage,
  storageByName,
  type Tensor,
} from "../mod.ts";
import { STORAGES } from "../layers/storage/mod.ts";
import { loadDeepConvNet, loadTestSet } from "../cli/_locate.ts";
import { loadData, loadModel } from "../cli/_model.ts";

/** Images per benchmarked batch. */
export const BATCH = 100;

/**
 * The formats benchmarked: the storage formats, two fp8 formats and the scaled formats of the
 * hardware (MX, NVFP4, int8), with f32 the baseline every ratio is taken against.
 */
export const BENCH_FORMATS: readonly Storage[] = [
  ...STORAGES,
  ...["e4m3", "e5m2", "mxfp8-e4m3", "mxfp4", "nvfp4", "int8"].map(storageByName),
];

/** The format every benchmark's ratio is taken against. */
export const BASELINE = "f32";

/** The reference network and, for every layer, the float64 input it sees on real images. */
export interface Activations {
  /** What the benchmarks run, for the report: "DeepConvNet on MNIST test images". */
  subject: string;
  net: Sequential;
  /** `inputs[i]` is the input of `net.layers[i]`. */
  inputs: Tensor[];
  labels: ArrayLike<number>;
}

/**
 * The first {@linkcode BATCH} images and their activations: of `HALFPREC_BENCH_MODEL` on
 * `HALFPREC_BENCH_DATA` when set, else of DeepConvNet with the book's weights on the MNIST test
 * images, found by the commands' lookup (the copies embedded in `data/` unless `HALFPREC_MNIST`
 * points elsewhere).
 */
export async function loadActivations(): Promise<Activations> {
  const modelFile = Deno.env.get("HALFPREC_BENCH_MODEL");
  if (modelFile) {
    const model = await loadModel({ model: modelFile });
    const data = await loadData(Deno.env.get("HALFPREC_BENCH_DATA"), model);
    return activations(`${model.name} on ${data.name}`, model.net, data.set);
  }
  const { net } = await loadDeepConvNet("book");
  const { set } = await loadTestSet();
  return activations("DeepConvNet on MNIST test images", net, set);
}

/** The activations of `net` on the first {@linkcode BATCH} images of `set`. */
function activations(subject: string, net: Sequential, set: LabeledImages): Activations {
  const inputs = [imageBatch(set, 0, BATCH, f64)];
  net.forward(inputs[0], { trace: (_layer, output) => inputs.push(output) });
  inputs.pop(); // the last output is no layer's input
  return { subject, net, inputs, labels: set.labels.slice(0, BATCH) };
}
