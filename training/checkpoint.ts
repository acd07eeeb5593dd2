/**
 * Training checkpoints: everything a run needs to continue exactly where it stopped, as one
 * safetensors file.
 *
 * A checkpoint holds the parameters, the optimizer's state (moments, master weights, step count)
 * as `optimizer.<name>` float64 tensors, and in its metadata a marker
 * ({@linkcode CHECKPOINT_MARKER}), the position of the next step, the loss scale's state and the
 * settings that define the run (formats, optimizer and its settings, batch, seed, images,
 * workers, loss scaling and whatever the caller adds). Resuming with other settings would not continue the same run,
 * so {@linkcode restoreCheckpoint} refuses it, as it refuses a file that is not a checkpoint (a
 * weights file, whose tensors alone would resume "somewhere").
 *
 * @module
 */
import { DataError } from "../data/data_error.ts";
import { quote } from "../data/_quote.ts";
import type { Safetensors } from "../data/safetensors.ts";
import type { Sequential } from "../layers/sequential.ts";
import { imageCount, type LabeledImages } from "../data/labeled_images.ts";
import { f64 } from "../layers/storage/f64.ts";
import { Tensor } from "../layers/tensor.ts";
import type { TrainEpochsOptions, TrainingPosition } from "./train_epochs.ts";
import { TrainingDivergedError } from "./training_diverged_error.ts";

/**
 * The metadata key that marks a safetensors file as a halfprec checkpoint; its value is the
 * version.
 *
 * @example Tell a checkpoint from a weights file
 * ```ts
 * import type { Safetensors } from "@halfprec/halfprec/data";
 * import { CHECKPOINT_MARKER } from "@halfprec/halfprec/training";
 * import assert from "node:assert/strict";
 * const isCheckpoint = (file: Safetensors) => file.metadata[CHECKPOINT_MARKER] !== undefined;
 * assert.equal(isCheckpoint({ tensors: new Map(), metadata: { format: "f32" } }), false);
 * ```
 */
export const CHECKPOINT_MARKER = "halfprec.checkpoint";

/** The version of the checkpoint layout this module writes and reads. */
const VERSION = "1";

/** The prefix of the optimizer's tensors. */
const OPTIMIZER = "optimizer.";

/** The prefix of delayed scaling's amax histories, one tensor per layer. */
const SCALING = "scaling.";

/** What a checkpoint is made of: a safetensors file's tensors and metadata. */
export type Checkpoint = Safetensors;

/** The options a checkpoint depends on (those of {@linkcode trainEpochs} that define a run). */
export type CheckpointOptions = Pick<
  TrainEpochsOptions,
  "optimizer" | "batch" | "seed" | "limit" | "pool" | "lossScale" | "scaling" | "settings"
>;

/**
 * The settings that define a run, as strings: those a resumed run must share with the one that
 * saved the checkpoint.
 */
function runSettings(
  net: Sequential,
  data: LabeledImages,
  options: CheckpointOptions,
): Record<string, string> {
  const formats = [...new Set(net.layers.map((l) => l.storage.name))];
  return {
    ...options.settings,
    ...options.optimizer.settings?.(),
    formats: formats.join(","),
    optimizer: options.optimizer.constructor.name,
    batch: String(options.batch),
    seed: String(options.seed),
    images: String(options.limit ?? imageCount(data)),
    workers: String(options.pool?.size ?? 0),
    lossScale: options.lossScale ? "dynamic" : "off",
    // Only with delayed scaling, so that checkpoints written before it existed still resume.
    ...(options.scaling && { scaling: options.scaling.name }),
  };
}

/**
 * The checkpoint of `net` and `options.optimizer` before step `next.step` of epoch
 * `next.epoch` of a run on `data` (as `trainEpochs` saves it).
 *
 * @throws {TrainingDivergedError} When a weight is NaN or infinite (such a checkpoint is never
 * written); `last` is the step that made it.
 *
 * @example
 * ```ts
 * import { Adam, deepConvNet, type LabeledImages } from "@halfprec/halfprec";
 * import { CHECKPOINT_MARKER, checkpointOf } from "@halfprec/halfprec/training";
 * import assert from "node:assert/strict";
 * const data: LabeledImages = { images: new Uint8Array(1000 * 784), labels: new Uint8Array(1000), shape: [1000, 1, 28, 28], classes: 10 };
 * const net = deepConvNet({ seed: 1 });
 * const checkpoint = checkpointOf(net, data, { optimizer: new Adam({ lr: 0.001 }), batch: 100, seed: 1 }, { epoch: 2, step: 0 });
 * assert.equal(checkpoint.metadata[CHECKPOINT_MARKER], "1");
 * assert.equal(checkpoint.metadata.nextEpoch, "2");
 * assert.ok(checkpoint.tensors.has("W1"));
 * ```
 */
export function checkpointOf(
  net: Sequential,
  data: LabeledImages,
  options: CheckpointOptions,
  next: TrainingPosition,
  last: TrainingPosition = next,
): Checkpoint {
  const tensors = new Map<string, Tensor>();
  for (const [name, t] of net.params()) {
    const values = t.toFloat64();
    const bad = values.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) {
      throw new TrainingDivergedError({
        ...last,
        what: `weight ${name}[${bad}]`,
        value: values[bad],
      });
    }
    tensors.set(name, t.to(t.storage));
  }
  for (const [name, values] of options.optimizer.state()) {
    tensors.set(OPTIMIZER + name, Tensor.from(f64, [values.length], values));
  }
  for (const [layer, maxima] of options.scaling?.state() ?? []) {
    tensors.set(SCALING + layer, Tensor.from(f64, [maxima.length], maxima));
  }
  const scale = options.lossScale;
  return {
    tensors,
    metadata: {
      [CHECKPOINT_MARKER]: VERSION,
      ...runSettings(net, data, options),
      nextEpoch: String(next.epoch),
      nextStep: String(next.step),
      lossScaleValue: String(scale?.value ?? 1),
      lossScaleSkipped: String(scale?.skipped ?? 0),
      lossScaleClean: String(scale?.cleanSteps ?? 0),
    },
  };
}

/**
 * Loads `checkpoint` (read from `source`) into `net`, `options.optimizer` and
 * `options.lossScale` for a run on `data`, and returns where the run continues (pass it to
 * `trainEpochs` as `start`). `options` are those the run will be given (its pool included:
 * the number of workers is one of the settings checked).
 *
 * @throws {DataError} Naming `source` and the field, when the file is not a halfprec checkpoint
 * (no {@linkcode CHECKPOINT_MARKER}, as in a weights file), was saved by a run with other
 * settings, or holds a position, loss scale or tensor that this run cannot use. Nothing is
 * loaded then.
 *
 * @example A weights file is not a checkpoint
 * ```ts
 * import { Adam, DataError, deepConvNet, type LabeledImages, restoreCheckpoint } from "@halfprec/halfprec";
 * import { checkpointOf } from "@halfprec/halfprec/training";
 * import assert from "node:assert/strict";
 * const data: LabeledImages = { images: new Uint8Array(1000 * 784), labels: new Uint8Array(1000), shape: [1000, 1, 28, 28], classes: 10 };
 * const options = { optimizer: new Adam({ lr: 0.001 }), batch: 100, seed: 1 };
 * const net = deepConvNet({ seed: 1 });
 * const saved = checkpointOf(net, data, options, { epoch: 1, step: 3 });
 * assert.deepEqual(restoreCheckpoint(net, data, options, saved, "run.checkpoint"), { epoch: 1, step: 3 });
 * const weights = { tensors: net.params(), metadata: {} };
 * assert.throws(() => restoreCheckpoint(net, data, options, weights, "w.safetensors"), DataError);
 * assert.throws(() => restoreCheckpoint(net, data, { ...options, batch: 50 }, saved, "run.checkpoint"), /metadata "batch": expected 50/);
 * ```
 */
export function restoreCheckpoint(
  net: Sequential,
  data: LabeledImages,
  options: CheckpointOptions,
  checkpoint: Checkpoint,
  source = "the checkpoint",
): TrainingPosition {
  const { metadata, tensors } = checkpoint;
  const refuse = (key: string, expected: string, found = metadata[key]): never => {
    throw new DataError(source, {
      field: `metadata ${quote(key)}`,
      expected,
      found: found === undefined ? "nothing" : quote(found),
    });
  };
  if (metadata[CHECKPOINT_MARKER] !== VERSION) {
    refuse(
      CHECKPOINT_MARKER,
      `"${VERSION}" (a halfprec training checkpoint${
        metadata[CHECKPOINT_MARKER] === undefined ? "; this file is not one" : ""
      })`,
    );
  }
  for (const [key, value] of Object.entries(runSettings(net, data, options))) {
    if (metadata[key] !== value) refuse(key, `${value}, as in this run`);
  }
  if (metadata.scaling !== undefined && !options.scaling) {
    refuse("scaling", "nothing (this run has no delayed scaling)");
  }
  const steps = Math.floor(Number(metadata.images) / options.batch);
  const position = {
    epoch: wholeNumber(metadata.nextEpoch) ?? refuse("nextEpoch", "a whole number"),
    step: wholeNumber(metadata.nextStep) ?? refuse("nextStep", "a whole number"),
  };
  if (position.step >= steps) refuse("nextStep", `below ${steps}, the steps of an epoch`);
  const scale = {
    value: Number(metadata.lossScaleValue),
    skipped: wholeNumber(metadata.lossScaleSkipped) ?? refuse("lossScaleSkipped", "a whole number"),
    cleanSteps: wholeNumber(metadata.lossScaleClean) ?? refuse("lossScaleClean", "a whole number"),
  };
  if (!(scale.value > 0 && Number.isFinite(scale.value))) {
    refuse("lossScaleValue", "a positive number");
  }
  const state = optimizerState(net, checkpoint, source);
  const histories = scalingState(checkpoint, source);
  const params = new Map(
    [...tensors].filter(([name]) => !name.startsWith(OPTIMIZER) && !name.startsWith(SCALING)),
  );
  try {
    net.loadParams(params, source);
  } catch (error) {
    if (error instanceof DataError) throw error;
    throw new DataError(source, {
      field: "tensors",
      expected: "the parameters of this network",
      found: (error as Error).message.replace(/^Cannot load parameters from .*?: /, ""),
    });
  }
  options.optimizer.restore(state);
  if (options.lossScale) Object.assign(options.lossScale, scale);
  options.scaling?.restore(histories);
  return position;
}

/**
 * The optimizer's state in `checkpoint`, checked: every value finite, and a state kept per
 * parameter (`m.W1`, `master.W1`) as long as that parameter of `net`.
 */
function optimizerState(
  net: Sequential,
  checkpoint: Checkpoint,
  source: string,
): Map<string, Float64Array> {
  const params = net.params();
  const state = new Map<string, Float64Array>();
  for (const [name, t] of checkpoint.tensors) {
    if (!name.startsWith(OPTIMIZER)) continue;
    const values = t.toFloat64();
    const param = params.get(name.slice(name.indexOf(".", OPTIMIZER.length) + 1));
    const bad = values.findIndex((v) => !Number.isFinite(v));
    const problem = param && param.size !== values.length
      ? { expected: `${param.size} values, as the parameter`, found: `${values.length}` }
      : bad >= 0
      ? { expected: "finite values", found: `${values[bad]} at index ${bad}` }
      : undefined;
    if (problem) throw new DataError(source, { field: `tensor ${quote(name)}`, ...problem });
    state.set(name.slice(OPTIMIZER.length), values);
  }
  return state;
}

/** The amax histories of delayed scaling in `checkpoint`, by layer, checked: finite, not negative. */
function scalingState(checkpoint: Checkpoint, source: string): Map<string, Float64Array> {
  const state = new Map<string, Float64Array>();
  for (const [name, t] of checkpoint.tensors) {
    if (!name.startsWith(SCALING)) continue;
    const values = t.toFloat64();
    const bad = values.findIndex((v) => !(v >= 0 && v < Infinity));
    if (bad >= 0) {
      throw new DataError(source, {
        field: `tensor ${quote(name)}`,
        expected: "amax values, finite and not negative",
        found: `${values[bad]} at index ${bad}`,
      });
    }
    state.set(name.slice(SCALING.length), values);
  }
  return state;
}

/** `text` as a non-negative safe integer, or undefined. */
function wholeNumber(text: string | undefined): number | undefined {
  const n = Number(text);
  return text !== undefined && /^\d+$/.test(text) && Number.isSafeInteger(n) ? n : undefined;
}
