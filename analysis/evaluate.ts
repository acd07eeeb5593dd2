/**
 * Classifying a labelled image set with a network held in a given precision.
 *
 * @module
 */
import { Sequential } from "../layers/sequential.ts";
import type { Storage } from "../layers/storage/storage.ts";
import { f64 } from "../layers/storage/f64.ts";
import { scaledSchemeOf } from "../layers/storage/scaled.ts";
import type { Conv } from "../layers/conv.ts";
import { imageBatch, imageCount, inputShape, type LabeledImages } from "../data/labeled_images.ts";
import type { Tensor } from "../layers/tensor.ts";
import { PARAMETERS_KEY, roundImages } from "../layers/rounding_streams.ts";
import type { WorkerPool } from "../workers/worker_pool.ts";
import { bytesMoved, totalBytes } from "./bytes.ts";
import { type Flips, flips, mcnemarExact } from "./mcnemar.ts";
import type { LayerArithmetic } from "../layers/kernel_path.ts";
import { type BitFlipOptions, bitFlipsOf } from "../layers/storage/bit_flips.ts";
import { type FirstNonFinite, firstNonFiniteOver } from "./first_non_finite.ts";

/**
 * How a format is applied to a float64 network.
 *
 * - `seed`: weights and input images rounded to the format, every array still float64 and
 *   every layer output float64: the classic `param[...] = param.astype(np.float16)`. The network
 *   `withPrecision` makes rounds its input itself (`Sequential`'s `inputFormat`).
 * - `store`: weights, input and every layer's output stored in the format.
 *
 * A scaled format (`mxfp4`, `int8`…) has no rounding of a single value: in `seed` its
 * convolution and affine weights are quantized as its products read them (blocks, channels),
 * and everything else stays float64 — weight-only quantization. In `store` the products read
 * quantized inputs too.
 */
export type PrecisionMode = "seed" | "store";

/** The modes, in report order. */
export const PRECISION_MODES: readonly PrecisionMode[] = ["seed", "store"];

/**
 * A copy of the float64 network `net` with `format` applied in `mode` (see
 * {@linkcode PrecisionMode}); `net` is unchanged. This is the one way to put a network in a
 * format for either mode (`Sequential.to` is what `store` builds on). A stochastic format's stream is restarted at
 * `PARAMETERS_KEY` first, so the parameters round the same way in every run. In `seed` mode the
 * copy rounds every input to `format` before its first layer: feed it the float64 images.
 *
 * @example
 * ```ts
 * import { deepConvNet, f16, f64, Tensor, withPrecision } from "@halfprec/halfprec";
 * import assert from "node:assert/strict";
 * const net = deepConvNet({ seed: 1 });
 * const seed = withPrecision(net, f16, "seed");
 * assert.equal(seed.layer("conv1").storage, f64);
 * assert.equal(seed.params().get("W1")!.toFloat64()[0], f16.round(net.params().get("W1")!.toFloat64()[0]));
 * const x = Tensor.from(f64, [1, 1, 28, 28], new Float64Array(784).fill(0.1));
 * const rounded = Tensor.from(f64, [1, 1, 28, 28], new Float64Array(784).fill(f16.round(0.1)));
 * assert.deepEqual(seed.logits(x).toFloat64(), seed.logits(rounded).toFloat64());
 * assert.equal(withPrecision(net, f16, "store").layer("conv1").storage, f16);
 * ```
 */
export function withPrecision(net: Sequential, format: Storage, mode: PrecisionMode): Sequential {
  format.stream?.restart(PARAMETERS_KEY);
  if (mode === "store") return net.to(format);
  const seeded = net.to(f64);
  if (scaledSchemeOf(format)) {
    net.to(format).layers.forEach((layer, i) => {
      const weights = (layer as Partial<Conv>).scaledWeights?.();
      if (weights) seeded.layers[i].params.W.set(weights);
    });
  } else for (const t of seeded.params().values()) t.roundTo(format);
  // The same layers, rounding every input too: a seed-mode network cannot be fed raw input.
  return new Sequential(seeded.layers, {
    names: seeded.layers.map((layer) => layer.name),
    inputShape: seeded.inputShape,
    inputFormat: format,
  });
}

/**
 * Anything that classifies a batch: a `Sequential`, or a `WorkerPool` holding one.
 *
 * @example
 * ```ts
 * import { deepConvNet } from "@halfprec/halfprec";
 * import type { Classifier } from "@halfprec/halfprec/analysis";
 * const classifier: Classifier = deepConvNet();
 * ```
 */
export interface Classifier {
  /**
   * The predicted class of every example of `x`; `firstImage` is the index of its first example
   * in the run (stochastic formats restart their streams from it, see `ForwardOptions`).
   */
  classify(x: Tensor, firstImage?: number): Int32Array | Promise<Int32Array>;
}

/** Options of {@linkcode classifyImages}. */
export interface ClassifyOptions {
  /** Format the input images are rounded to. @default {f64} */
  format?: Storage;
  /** `store` holds the input in `format`; `seed` rounds it and keeps float64. @default {"store"} */
  mode?: PrecisionMode;
  /** Images per forward pass. @default {100} */
  batch?: number;
  /** Classify only the first `limit` images. @default {all} */
  limit?: number;
  /** Called after every batch with the number of images done so far. */
  onProgress?: (done: number) => void;
}

/**
 * The predicted class of each image of `set` (the first `limit`), batch by batch.
 *
 * @example
 * ```ts
 * import { classifyImages, deepConvNet, type LabeledImages } from "@halfprec/halfprec";
 * import assert from "node:assert/strict";
 * const set: LabeledImages = { images: new Uint8Array(3 * 784), labels: new Uint8Array(3), shape: [3, 1, 28, 28], classes: 10 };
 * assert.equal((await classifyImages(deepConvNet(), set, { batch: 2 })).length, 3);
 * ```
 */
export async function classifyImages(
  classifier: Classifier,
  set: LabeledImages,
  options?: ClassifyOptions,
): Promise<Int32Array> {
  const { format = f64, mode = "store", batch = 100, limit = imageCount(set), onProgress } =
    options ?? {};
  if (!(Number.isInteger(batch) && batch >= 1)) {
    throw new RangeError(`Cannot classify: batch is ${batch}, expected a positive integer`);
  }
  if (!(Number.isInteger(limit) && limit >= 0 && limit <= imageCount(set))) {
    throw new RangeError(
      `Cannot classify: limit is ${limit}, expected an integer from 0 to ${imageCount(set)}`,
    );
  }
  const predictions = new Int32Array(limit);
  // Batches in flight: a pool's workers each have the next batch queued while this thread
  // prepares inputs, collects replies or works on something else (a search's sensitivity).
  // Replies come in order, so progress is reported in order.
  const pending: { done: Promise<void>; end: number }[] = [];
  const settle = async () => {
    const { done, end } = pending.shift()!;
    await done;
    onProgress?.(end);
  };
  for (let start = 0; start < limit; start += batch) {
    const count = Math.min(batch, limit - start);
    const input = inputImages(set, start, count, format, mode);
    const at = start;
    const done = Promise.resolve(classifier.classify(input, start))
      .then((p) => predictions.set(p, at));
    // Handled when settled; this keeps a failure that comes first from being "unhandled".
    done.catch(() => {});
    pending.push({ done, end: start + count });
    if (pending.length === BATCHES_IN_FLIGHT) await settle();
  }
  while (pending.length > 0) await settle();
  return predictions;
}

const BATCHES_IN_FLIGHT = 4;

/** Images `start` to `start + count` of `set` rounded to `format`, held as `mode` says. */
function inputImages(
  set: LabeledImages,
  start: number,
  count: number,
  format: Storage,
  mode: PrecisionMode,
): Tensor {
  const into = mode === "store" ? format : f64;
  // Each image of a stochastic format from its own stream: independent of the batch.
  if (format.stream) return roundImages(imageBatch(set, start, count, f64), format, into, start);
  const input = imageBatch(set, start, count, into);
  if (mode === "seed") input.roundTo(format);
  return input;
}

/** One row of an accuracy comparison; the field names are the `--json` contract of eval. */
export interface PrecisionResult {
  /** Storage format name (`"f16"`). */
  format: string;
  /** How the format was applied; `"reference"` for the float64 baseline. */
  mode: PrecisionMode | "reference";
  /** Fraction of images classified correctly (0.9935). */
  accuracy: number;
  /** Images classified correctly. */
  correct: number;
  /** Images classified. */
  total: number;
  /** Images with no class (a NaN among their logits), counted as wrong. */
  unclassified: number;
  /** Images the baseline got wrong and this run right. */
  flipsToRight: number;
  /** Images the baseline got right and this run wrong. */
  flipsToWrong: number;
  /** Exact McNemar p-value of the difference from the baseline (1 when there are no flips). */
  mcnemarP: number;
  /** Wall time of the classification, in seconds. */
  seconds: number;
  /** Bytes read and written per image by a forward pass, at each array's element size. */
  bytesPerImage: number;
  /** For every layer, the code it ran on and how its sums were accumulated. */
  layers: LayerArithmetic[];
  /** The images behind the flip counts. */
  flips: Flips;
  /**
   * Only for a stochastically rounding format: the seed its streams were derived from,
   * restarted for the parameters and per image and layer (see `roundImages`).
   */
  seed?: number;
  /**
   * Only for a format with bit flips (`f16+flip1e-5-s1`): how its bits flipped. The seed is also
   * in `seed`.
   */
  bitFlips?: Required<BitFlipOptions>;
  /**
   * Only when {@linkcode CompareOptions.firstNonFinite} is set: the first layer whose output held
   * an infinity or a NaN in this run, or `null` when none did.
   */
  firstNonFinite?: FirstNonFinite | null;
}

/** Options of {@linkcode comparePrecisions}. */
export interface CompareOptions {
  /** Formats to compare with the float64 baseline. */
  formats: readonly Storage[];
  /** Modes to apply each format in. @default {["seed", "store"]} */
  modes?: readonly PrecisionMode[];
  /** Images per forward pass. @default {100} */
  batch?: number;
  /** Classify only the first `limit` images. @default {all} */
  limit?: number;
  /** Workers to run the forward passes on; without one, everything runs on this thread. */
  pool?: WorkerPool;
  /**
   * Networks already in their formats (a per-layer configuration), run after the formats in
   * store mode with the input in their first layer's format; `name` is their `format` in the
   * results.
   */
  configured?: readonly { name: string; net: Sequential }[];
  /**
   * Called when a run starts (`done` 0) and after each of its batches with the images done so
   * far; `index` counts runs from 0 (the float64 baseline).
   */
  onProgress?: (run: { format: string; mode: string; index: number }, done: number) => void;
  /**
   * Also find where each run's first infinity or NaN appears (`firstNonFiniteOver`): one more
   * forward pass per run, on this thread.
   * @default {false}
   */
  firstNonFinite?: boolean;
}

/**
 * Classifies `set` with the float64 network `net` (the baseline), then with every format in
 * every mode, and compares each run with the baseline image by image. The baseline is the
 * first result; float64 is not repeated as a candidate.
 *
 * @example
 * ```ts
 * import { comparePrecisions, deepConvNet, f16, type LabeledImages } from "@halfprec/halfprec";
 * import assert from "node:assert/strict";
 * const set: LabeledImages = { images: new Uint8Array(4 * 784).fill(9), labels: new Uint8Array(4), shape: [4, 1, 28, 28], classes: 10 };
 * const results = await comparePrecisions(deepConvNet({ seed: 1 }), set, { formats: [f16], modes: ["store"] });
 * assert.deepEqual(results.map((r) => `${r.format} ${r.mode}`), ["f64 reference", "f16 store"]);
 * assert.equal(results[1].total, 4);
 * ```
 */
export async function comparePrecisions(
  net: Sequential,
  set: LabeledImages,
  options: CompareOptions,
): Promise<PrecisionResult[]> {
  const { modes = PRECISION_MODES, limit = imageCount(set) } = options;
  const labels = set.labels.subarray(0, limit);
  const candidates = options.formats.filter((f) => f !== f64)
    .flatMap((format) => modes.map((mode) => ({ format, mode })));
  const reference = await timedRun(net, set, { format: f64, mode: "reference", index: 0 }, options);
  const results = [summarise(reference, reference, labels)];
  const where = async (result: PrecisionResult, run: Sequential, format: Storage) => {
    if (!options.firstNonFinite) return result;
    const mode = result.mode === "seed" ? "seed" : "store";
    const { batch, limit } = options;
    return {
      ...result,
      firstNonFinite: await firstNonFiniteOver(run, set, { format, mode, batch, limit }),
    };
  };
  results[0] = await where(results[0], net, f64);
  for (const [i, { format, mode }] of candidates.entries()) {
    const candidate = withPrecision(net, format, mode);
    const run = await timedRun(candidate, set, { format, mode, index: i + 1 }, options);
    // The same flips and stochastic roundings again: the parameters from their key.
    const again = options.firstNonFinite ? withPrecision(net, format, mode) : candidate;
    results.push(await where(summarise(run, reference, labels), again, format));
  }
  for (const [i, { name, net: configured }] of (options.configured ?? []).entries()) {
    const format = configured.layers[0].storage;
    const index = candidates.length + i + 1;
    const run = await timedRun(configured, set, { format, mode: "store", index, name }, options);
    results.push(await where(summarise(run, reference, labels), configured, format));
  }
  return results;
}

/** What one classification run produced. */
interface Run {
  name: string;
  format: Storage;
  mode: PrecisionMode | "reference";
  predictions: Int32Array;
  seconds: number;
  bytesPerImage: number;
  layers: LayerArithmetic[];
}

async function timedRun(
  net: Sequential,
  set: LabeledImages,
  which: { format: Storage; mode: PrecisionMode | "reference"; index: number; name?: string },
  options: CompareOptions,
): Promise<Run> {
  const { batch = 100, limit = imageCount(set), onProgress, pool } = options;
  const { format, mode } = which;
  const label = { format: which.name ?? format.name, mode, index: which.index };
  onProgress?.(label, 0);
  await pool?.load(net);
  const started = performance.now();
  const predictions = await classifyImages(pool ?? net, set, {
    // A seed-mode network rounds its float64 input itself (see withPrecision).
    format: mode === "seed" ? f64 : format,
    mode: "store",
    batch,
    limit,
    onProgress: (done) => onProgress?.(label, done),
  });
  const seconds = (performance.now() - started) / 1000;
  const inputStorage = mode === "seed" ? f64 : format;
  const bytes = totalBytes(bytesMoved(net, inputShape(set, batch), inputStorage));
  const layers = net.arithmetic(inputStorage);
  return {
    name: label.format,
    format,
    mode,
    predictions,
    seconds,
    bytesPerImage: bytes / batch,
    layers,
  };
}

function summarise(run: Run, reference: Run, labels: LabeledImages["labels"]): PrecisionResult {
  const f = flips(reference.predictions, run.predictions, labels);
  const correct = run.predictions.reduce((n, p, i) => n + (p === labels[i] ? 1 : 0), 0);
  return {
    format: run.name,
    mode: run.mode,
    accuracy: labels.length === 0 ? 0 : correct / labels.length,
    correct,
    total: labels.length,
    unclassified: run.predictions.reduce((n, p) => p < 0 ? n + 1 : n, 0),
    flipsToRight: f.toRight.length,
    flipsToWrong: f.toWrong.length,
    mcnemarP: mcnemarExact(f.toRight.length, f.toWrong.length),
    seconds: run.seconds,
    bytesPerImage: run.bytesPerImage,
    layers: run.layers,
    flips: f,
    ...(run.format.stream ? { seed: run.format.stream.seed } : {}),
    ...(bitFlipsOf(run.format) && { bitFlips: recordOf(bitFlipsOf(run.format)!) }),
  };
}

/** The flips as results record them: the options, without the format they wrap. */
function recordOf(
  { probability, field, target, seed }: Required<BitFlipOptions>,
): Required<BitFlipOptions> {
  return { probability, field, target, seed };
}
