/**
 * Training a network in any format, as the `@halfprec/halfprec/training` entry point: one epoch
 * (`trainEpoch`: seeded image order and dropout, optionally on a `WorkerPool` and with a
 * `LossScale`), several with checkpoints, resume and interruption (`trainEpochs`,
 * `checkpointOf`, `restoreCheckpoint`), delayed scaling of a scaled format's activations from
 * each layer's amax history (`DelayedScaling`, `delayedScaling`, as Transformer Engine does),
 * and the `TrainingDivergedError` that stops a run whose
 * loss or weights stop being numbers. The optimizers (`Adam`, `Sgd`) and loss scaling are layers
 * of the network and live in `@halfprec/halfprec/layers`.
 *
 * @example Two epochs, then the checkpoint of the second
 * ```ts
 * import { type Checkpoint, trainEpochs } from "@halfprec/halfprec/training";
 * import { Adam, deepConvNet, f32 } from "@halfprec/halfprec/layers";
 * import type { LabeledImages } from "@halfprec/halfprec/data";
 * import assert from "node:assert/strict";
 *
 * const data: LabeledImages = {
 *   images: Uint8Array.from({ length: 20 * 784 }, (_, i) => (i * 7919) % 256),
 *   labels: Uint8Array.from({ length: 20 }, (_, i) => i % 10),
 *   shape: [20, 1, 28, 28],
 *   classes: 10,
 * };
 * const net = deepConvNet({ seed: 1 }).to(f32);
 * const saved: Checkpoint[] = [];
 * const result = await trainEpochs(net, data, {
 *   optimizer: new Adam({ lr: 0.001 }),
 *   batch: 10,
 *   seed: 1,
 *   epochs: 2,
 *   checkpoint: async (c) => {
 *     saved.push(c);
 *   },
 * });
 * assert.equal(result.stopped, false);
 * assert.equal(result.epochs.length, 2);
 * assert.equal(saved.at(-1)!.metadata.nextEpoch, "2");
 * ```
 *
 * @module
 */
export * from "./train.ts";
export * from "./train_epochs.ts";
export * from "./checkpoint.ts";
export * from "./training_diverged_error.ts";
export * from "./delayed_scaling.ts";
