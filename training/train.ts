/**
 * Training DeepConvNet-style classifiers on MNIST, one epoch at a time, on one thread or on a
 * worker pool, reproducibly from a seed.
 *
 * Everything random in a step comes from the seed and the step's position: the epoch's order
 * of images from (seed, epoch), the dropout masks from (seed, global step). So a run stopped
 * after any step and resumed from that step ends with the same weights as an uninterrupted
 * one (for the same pool size).
 *
 * @module
 */
import { imageBatchAt, imageCount, type LabeledImages } from "../data/labeled_images.ts";
import { TrainingDivergedError } from "./training_diverged_error.ts";
import { reseedDropout } from "../layers/dropout.ts";
import { lossAndGradients } from "../layers/loss.ts";
import { gradientsFinite, type LossScale } from "../layers/loss_scale.ts";
import type { Optimizer } from "../layers/optimizer.ts";
import { Random } from "../layers/random.ts";
import type { Sequential } from "../layers/sequential.ts";
import type { WorkerPool } from "../workers/worker_pool.ts";
import type { DelayedScaling } from "./delayed_scaling.ts";

/** Options of {@linkcode trainEpoch}. */
export interface TrainOptions {
  /** The update rule. */
  optimizer: Optimizer;
  /** Images per step. */
  batch: number;
  /** Seed of the image order and the dropout masks. */
  seed: number;
  /** Train on the first `limit` images only. @default {all} */
  limit?: number;
  /** Start at this step of the epoch (resuming). @default {0} */
  startStep?: number;
  /** Workers to compute the gradients on; without one, this thread does. */
  pool?: WorkerPool;
  /** Dynamic loss scaling (for float16 gradients); without one, the loss is not scaled. */
  lossScale?: LossScale;
  /**
   * Delayed scaling of the activations (see {@linkcode DelayedScaling}): each step scales the
   * product layers' inputs from their amax history, which takes the step's amax afterwards.
   * Without it, activation scales are the layers' own (dynamic, or calibrated).
   */
  scaling?: DelayedScaling;
  /** Called after every step. */
  onStep?: (step: StepReport) => void;
  /** Checked after every step; the epoch stops early when it returns true. */
  shouldStop?: () => boolean;
}

/** What one step did. */
export interface StepReport {
  /** The epoch, from 0. */
  epoch: number;
  /** The step's index within the epoch. */
  step: number;
  /** Steps in the whole epoch. */
  steps: number;
  /** Mean cross-entropy of the step's batch. */
  loss: number;
  /** Whether the update was applied (false when the loss scale skipped it). */
  applied: boolean;
}

/** The result of {@linkcode trainEpoch}. */
export interface EpochReport {
  /** Mean loss over the steps run. */
  loss: number;
  /** The index of the next step to run: `steps` when the epoch finished. */
  nextStep: number;
  /** Steps in the whole epoch. */
  steps: number;
}

/**
 * Runs the steps of epoch `epoch` (from `options.startStep`) over a seeded shuffle of `set`.
 * For several epochs with checkpoints, resume and interruption, see `trainEpochs`.
 *
 * @throws {TrainingDivergedError} When a step's loss is NaN or infinite (before its update).
 *
 * @example Two steps on random images lower the loss
 * ```ts
 * import { Adam, deepConvNet, type LabeledImages } from "@halfprec/halfprec";
 * import { trainEpoch } from "@halfprec/halfprec/training";
 * import assert from "node:assert/strict";
 * const images = Uint8Array.from({ length: 40 * 784 }, (_, i) => (i * 7919) % 256);
 * const set: LabeledImages = { images, labels: Uint8Array.from({ length: 40 }, (_, i) => i % 10), shape: [40, 1, 28, 28], classes: 10 };
 * const net = deepConvNet({ seed: 1 });
 * const report = await trainEpoch(net, set, 0, { optimizer: new Adam({ lr: 0.001 }), batch: 20, seed: 1 });
 * assert.equal(report.nextStep, 2);
 * assert.ok(Number.isFinite(report.loss));
 * ```
 */
export async function trainEpoch(
  net: Sequential,
  set: LabeledImages,
  epoch: number,
  options: TrainOptions,
): Promise<EpochReport> {
  const { optimizer, batch, seed, pool, lossScale, scaling } = options;
  const count = options.limit ?? imageCount(set);
  const steps = Math.floor(count / batch);
  const order = new Random(seed * 1009 + epoch).permutation(count);
  const inputStorage = net.layers[0].storage;
  let total = 0;
  let step = options.startStep ?? 0;
  const first = step;
  while (step < steps) {
    const indices = order.subarray(step * batch, (step + 1) * batch);
    const x = imageBatchAt(set, indices, inputStorage);
    const labels = Int32Array.from(indices, (i) => set.labels[i]);
    const stepSeed = seed + (epoch * steps + step) * 7;
    const scale = lossScale?.value ?? 1;
    const scales = scaling?.nextStep();
    let loss: number;
    if (pool) {
      loss = await pool.gradients(net, x, labels, { lossScale: scale, seed: stepSeed, scales });
    } else {
      reseedDropout(net, stepSeed);
      loss = lossAndGradients(net, x, labels, { lossScale: scale, scales });
    }
    // Checked before the update: the weights that gave this loss are the last ones trained.
    if (!Number.isFinite(loss)) {
      throw new TrainingDivergedError({ epoch, step, what: "the loss", value: loss });
    }
    if (scales) scaling!.record(scales.seen);
    const applied = lossScale ? lossScale.update(gradientsFinite(net)) : true;
    if (applied) optimizer.step(net, { lossScale: scale });
    total += loss;
    options.onStep?.({ epoch, step, steps, loss, applied });
    step++;
    if (options.shouldStop?.()) break;
  }
  return { loss: step > first ? total / (step - first) : NaN, nextStep: step, steps };
}
