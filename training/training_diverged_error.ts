/**
 * The error that stops training when the loss or the weights stop being numbers.
 *
 * A loss of NaN or infinity (a learning rate far too large, a narrow format whose gradients
 * overflowed without loss scaling) means every later step computes from garbage; the weights
 * after it are worth nothing and must not be saved. So the run stops at the first such step and
 * says which one.
 *
 * @module
 */

/**
 * Training stopped because the loss (or, after an update, a weight) was NaN or infinite.
 *
 * `epoch` and `step` count from 0, as training positions do; the message counts from 1, as the
 * command's log does.
 *
 * @example
 * ```ts
 * import { TrainingDivergedError } from "@halfprec/halfprec";
 * import assert from "node:assert/strict";
 * const error = new TrainingDivergedError({ epoch: 0, step: 4, what: "the loss", value: NaN });
 * assert.equal(error.message, "Training diverged: the loss is NaN at epoch 1, step 5; the weights after it were not saved");
 * ```
 */
export class TrainingDivergedError extends Error {
  /** The epoch of the step, from 0. */
  readonly epoch: number;
  /** The step within the epoch, from 0. */
  readonly step: number;

  /** The step `epoch`, `step` (from 0) made `what` (`"the loss"`, `"weight W3[17]"`) `value`. */
  constructor(at: { epoch: number; step: number; what: string; value: number }) {
    super(
      `Training diverged: ${at.what} is ${at.value} at epoch ${at.epoch + 1}, step ${
        at.step + 1
      }; ` +
        "the weights after it were not saved",
    );
    this.name = "TrainingDivergedError";
    this.epoch = at.epoch;
    this.step = at.step;
  }
}
