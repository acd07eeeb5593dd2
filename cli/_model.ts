/**
 * What every command runs: a network (`--model FILE.onnx`, or DeepConvNet with `--weights`) and
 * the labelled images it runs on (`--data`: a MNIST folder or a safetensors file of images and
 * labels), checked against each other before any work starts.
 *
 * @module
 */
import { basename } from "node:path";
import { f64, type LabeledImages, type Sequential } from "../mod.ts";
import { imageCount } from "../data/mod.ts";
import { readImageSafetensorsFile, readOnnxFile } from "../data/files.ts";
import { UsageError } from "./_cli.ts";
import { loadDeepConvNet, loadTestSet } from "./_locate.ts";

/** A float64 network and where it came from. */
export interface Model {
  /** The network, float64, with its `inputShape`. */
  net: Sequential;
  /** What to call it in titles: `DeepConvNet`, or the model file's name. */
  name: string;
  /** The file its parameters came from: the weights, or the model file. */
  path: string;
  /** The model file's bytes, for a report page to import the model again. */
  onnx?: Uint8Array;
}

/** The flags that choose the network. */
export interface ModelFlags {
  /** `--model`: an ONNX file. */
  model?: string;
  /** `--weights`: DeepConvNet's weights. */
  weights?: string;
  /** `--allow-non-finite`: load weights holding NaN or infinities. */
  allowNonFinite?: boolean;
}

/**
 * The network `--model` or `--weights` names (DeepConvNet with the default weights if none).
 * An ONNX model is imported in float64: its parameters exactly, whatever their format.
 */
export async function loadModel(flags: ModelFlags): Promise<Model> {
  if (flags.model === undefined) {
    const { net, path } = await loadDeepConvNet(flags.weights, {
      allowNonFinite: flags.allowNonFinite,
    });
    return { net, name: "DeepConvNet", path };
  }
  if (flags.weights !== undefined) {
    throw new UsageError("--model and --weights both given: a model file holds its weights");
  }
  const path = flags.model;
  const net = await readOnnxFile(path, { storage: f64 });
  return { net, name: basename(path), path, onnx: await Deno.readFile(path) };
}

/** Labelled images and what to call them. */
export interface Data {
  /** The images. */
  set: LabeledImages;
  /** Where they came from: the MNIST folder or the safetensors file. */
  source: string;
  /** What to call them in titles: `MNIST test images`, or `images of FILE`. */
  name: string;
}

/**
 * The images `--data` names — a safetensors file of images and labels, or a MNIST folder found
 * by the one data lookup (`--data DIR`, `HALFPREC_MNIST`, the test set in `data/`, the cache) —
 * checked to fit `model`: a usage error naming both when the images are not its input or a
 * label is not one of its classes.
 */
export async function loadData(flag: string | undefined, model: Model): Promise<Data> {
  const data: Data = flag !== undefined && flag.endsWith(".safetensors")
    ? {
      set: await readImageSafetensorsFile(flag),
      source: flag,
      name: `images of ${basename(flag)}`,
    }
    : await loadTestSet(flag).then(({ set, dir }) => ({
      set,
      source: dir,
      name: "MNIST test images",
    }));
  checkFit(data, model);
  return data;
}

/** Throws a usage error when `data` is not input `model` takes, or has labels it cannot give. */
function checkFit({ set, source }: Data, { net, name }: Model): void {
  if (imageCount(set) === 0) throw new UsageError(`--data ${source}: no images`);
  const image = set.shape.slice(1);
  const expected = net.inputShape;
  const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
  // A model taking (N, features) flattens each image, as its first affine layer would.
  const fits = !expected || expected.join() === image.join() ||
    (expected.length === 1 && expected[0] === size(image));
  if (!fits) {
    throw new UsageError(
      `--data ${source}: images are [${image.join(", ")}] (C, H, W), but ${name} takes ` +
        `[${expected.join(", ")}]`,
    );
  }
  const outputs = net.shapes([1, ...image]).at(-1)!.at(-1)!;
  if (set.classes > outputs) {
    const bad = set.labels.findIndex((label) => label >= outputs);
    throw new UsageError(
      `--data ${source}: label ${bad} is ${set.labels[bad]}, but ${name} has ${outputs} ` +
        `classes (0 to ${outputs - 1})`,
    );
  }
}
