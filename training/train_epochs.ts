/**
 * Training for several epochs, with checkpoints, resume and interruption: the loop of
 * `deno task train`, as a function a program can call.
 *
 * After every epoch (and when the run is interrupted) the run hands a {@linkcode Checkpoint} to
 * the caller's `checkpoint` function, which stores it where it likes (`writeSafetensorsFile` of
 * `@halfprec/halfprec/files` writes it atomically); `restoreCheckpoint` loads one back and gives
 * the position to start from. A resumed run ends with the same weights as an uninterrupted one:
 * everything random in a step comes from the seed and the step's position (see `trainEpoch`).
 *
 * @module
 */
import { imageCount, type LabeledImages } from "../data/labeled_images.ts";
import type { Sequential } from "../layers/sequential.ts";
import { type Checkpoint, checkpointOf } from "./checkpoint.ts";
import { trainEpoch, type TrainOptions } from "./train.ts";

/** Where a run is: the next step to run, `step` of epoch `epoch` (both from 0). */
export interface TrainingPosition {
  /** The epoch, from 0. */
  epoch: number;
  /** The step within the epoch, from 0. */
  step: number;
}

/** Options of {@linkcode trainEpochs}: those of `trainEpoch` (but the start), and the run's. */
export interface TrainEpochsOptions extends Omit<TrainOptions, "startStep" | "shouldStop"> {
  /** Train until this many epochs are done (counting those of a resumed run). */
  epochs: number;
  /** Where to start: what `restoreCheckpoint` returned. @default {{ epoch: 0, step: 0 }} */
  start?: TrainingPosition;
  /**
   * Stores a checkpoint: called after every epoch and when the run is interrupted. A run whose
   * weights are not finite raises a `TrainingDivergedError` instead of calling it.
   */
  checkpoint?: (checkpoint: Checkpoint) => Promise<void>;
  /** Stops the run after the current step; a checkpoint is saved and the result says `stopped`. */
  signal?: AbortSignal;
  /** Called after every epoch, once its checkpoint is saved. */
  onEpoch?: (epoch: EpochSummary) => void | Promise<void>;
  /**
   * Further settings that define the run (the data set's name, say), recorded in the checkpoint
   * and checked on resume, beside those the run knows: the formats of the network, the
   * optimizer and its `settings()` (learning rate, master format), batch, seed, images, workers
   * and loss scaling.
   */
  settings?: Record<string, string>;
}

/** One epoch of a {@linkcode trainEpochs} run. */
export interface EpochSummary {
  /** The epoch, from 0. */
  epoch: number;
  /** The mean loss of its steps run in this call. */
  loss: number;
  /** Steps run in this call (fewer than an epoch's when it was resumed or interrupted). */
  steps: number;
  /** Images per second over those steps. */
  imagesPerSecond: number;
  /** Whether the epoch ran to its end. */
  finished: boolean;
}

/** What {@linkcode trainEpochs} did. */
export interface TrainingResult {
  /** True when `signal` stopped the run before its last epoch ended. */
  stopped: boolean;
  /** Where the run stopped: where a resumed run starts. */
  next: TrainingPosition;
  /** The epochs run (in part, for the first of a resumed run and the last of a stopped one). */
  epochs: EpochSummary[];
}

/**
 * Trains `net` on `data` until `options.epochs` epochs are done, starting at `options.start`,
 * saving a checkpoint through `options.checkpoint` after every epoch and when `options.signal`
 * aborts (then the result says `stopped`).
 *
 * @throws {RangeError} When `limit` is more than the images of `data`, or `batch` more than the
 * images trained on (no step would run).
 * @throws {TrainingDivergedError} When a loss or a weight becomes NaN or infinite: the run stops
 * at that step, and nothing from its epoch is saved, so the last checkpoint stays the last good
 * one.
 *
 * @example Train, stop, resume: the same weights as one run
 * ```ts
 * import { Adam, deepConvNet, type LabeledImages, restoreCheckpoint, trainEpochs } from "@halfprec/halfprec";
 * import type { Checkpoint } from "@halfprec/halfprec/training";
 * import assert from "node:assert/strict";
 * const data: LabeledImages = {
 *   images: Uint8Array.from({ length: 40 * 784 }, (_, i) => (i * 7919) % 256),
 *   labels: Uint8Array.from({ length: 40 }, (_, i) => i % 10),
 *   shape: [40, 1, 28, 28],
 *   classes: 10,
 * };
 * const run = () => ({ optimizer: new Adam({ lr: 0.001 }), batch: 20, seed: 1, epochs: 2 });
 *
 * const whole = deepConvNet({ seed: 1 });
 * await trainEpochs(whole, data, run());
 *
 * const net = deepConvNet({ seed: 1 });
 * const stop = new AbortController();
 * let saved: Checkpoint | undefined;
 * const first = await trainEpochs(net, data, {
 *   ...run(),
 *   signal: stop.signal,
 *   onStep: () => stop.abort(),
 *   checkpoint: async (c) => { saved = c; },
 * });
 * assert.deepEqual(first, { stopped: true, next: { epoch: 0, step: 1 }, epochs: [first.epochs[0]] });
 *
 * const again = deepConvNet({ seed: 7 });
 * const options = run();
 * const start = restoreCheckpoint(again, data, options, saved!, "in memory");
 * await trainEpochs(again, data, { ...options, start });
 * assert.deepEqual(again.params().get("W1")!.toFloat64(), whole.params().get("W1")!.toFloat64());
 * ```
 */
export async function trainEpochs(
  net: Sequential,
  data: LabeledImages,
  options: TrainEpochsOptions,
): Promise<TrainingResult> {
  const images = options.limit ?? imageCount(data);
  if (images > imageCount(data)) {
    throw new RangeError(`Cannot train on ${images} images: the data holds ${imageCount(data)}`);
  }
  if (options.batch > images) {
    throw new RangeError(
      `Cannot train with batches of ${options.batch} on ${images} images: no step would run`,
    );
  }
  if (options.pool) await options.pool.load(net);
  let next = options.start ?? { epoch: 0, step: 0 };
  let last = next;
  const epochs: EpochSummary[] = [];
  const save = async (stopped: boolean): Promise<TrainingResult> => {
    await options.checkpoint?.(checkpointOf(net, data, options, next, last));
    return { stopped, next, epochs };
  };
  while (next.epoch < options.epochs) {
    // Right after an epoch's end, its checkpoint is the one to keep.
    if (options.signal?.aborted) {
      return epochs.length > 0 ? { stopped: true, next, epochs } : await save(true);
    }
    const started = performance.now();
    const report = await trainEpoch(net, data, next.epoch, {
      ...options,
      startStep: next.step,
      shouldStop: () => options.signal?.aborted ?? false,
      onStep: (step) => {
        last = { epoch: step.epoch, step: step.step };
        options.onStep?.(step);
      },
    });
    const steps = report.nextStep - next.step;
    const finished = report.nextStep === report.steps;
    const summary = {
      epoch: next.epoch,
      loss: report.loss,
      steps,
      imagesPerSecond: steps * options.batch / ((performance.now() - started) / 1000),
      finished,
    };
    epochs.push(summary);
    next = finished
      ? { epoch: next.epoch + 1, step: 0 }
      : { epoch: next.epoch, step: report.nextStep };
    if (!finished) return await save(true);
    await save(false);
    await options.onEpoch?.(summary);
  }
  return { stopped: false, next, epochs };
}
