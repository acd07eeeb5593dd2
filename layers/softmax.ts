/**
 * Softmax over the last dimension, and the cross-entropy loss on integer labels.
 *
 * Precision: exponentials and sums in float64 with the row maximum subtracted first (so no
 * exponential overflows), probabilities rounded once to the storage format. The loss is
 * computed from the logits with log-sum-exp, never from rounded probabilities, so it stays
 * finite when a probability rounds to 0.
 *
 * @module
 */
import { checkShape, type Layer, requireInput } from "./layer.ts";
import type { Storage } from "./storage/storage.ts";
import { f64 } from "./storage/f64.ts";
import type { Arithmetic, KernelPath } from "./kernel_path.ts";
import { Tensor } from "./tensor.ts";

/** Options of {@linkcode Softmax}. */
export interface SoftmaxOptions {
  /** Format of the output. @default {f64} */
  storage?: Storage;
}

/** The result of {@linkcode Softmax.crossEntropy}. */
export interface CrossEntropy {
  /** Mean cross-entropy over the batch, in nats. */
  loss: number;
  /** Gradient of `loss` at the softmax input: (softmax(x) - onehot(label)) / N. */
  dlogits: Tensor;
}

/**
 * Softmax over the last dimension of its input.
 *
 * @example
 * ```ts
 * import { Softmax, tensor } from "@halfprec/halfprec/layers";
 * import assert from "node:assert/strict";
 * const softmax = new Softmax();
 * const p = softmax.forward(tensor([1, 2], [0, Math.log(3)])).toFloat64();
 * assert.ok(Math.abs(p[0] - 0.25) < 1e-15 && Math.abs(p[1] - 0.75) < 1e-15);
 * const { loss } = softmax.crossEntropy([1]);
 * assert.ok(Math.abs(loss - Math.log(4 / 3)) < 1e-15);
 * ```
 */
export class Softmax implements Layer {
  readonly kind = "softmax";
  name = "softmax";
  readonly storage: Storage;
  readonly params: Readonly<Record<string, Tensor>> = {};
  readonly grads: Readonly<Record<string, Tensor>> = {};
  readonly options: Readonly<Record<string, number>> = {};
  readonly fanIn = 0;
  /** Softmax has TypeScript code only. */
  readonly kernels: KernelPath = "typescript";
  #input?: Tensor;
  #output?: Tensor;

  /** A softmax storing its output in `options.storage`. */
  constructor(options?: SoftmaxOptions) {
    this.storage = options?.storage ?? f64;
  }

  /** Same as the input. */
  outputShape(inputShape: readonly number[]): number[] {
    if (inputShape.length < 1) throw new TypeError(`Cannot run ${this.name}: input is a scalar`);
    return [...inputShape];
  }

  /** exp(x - max) / sum(exp(x - max)) along the last dimension. */
  forward(x: Tensor): Tensor {
    const shape = this.outputShape(x.shape);
    const classes = shape[shape.length - 1];
    const v = x.toFloat64();
    for (let row = 0; row < v.length; row += classes) softmaxRow(v, row, classes);
    this.#input = x;
    this.#output = Tensor.from(this.storage, shape, v);
    return this.#output;
  }

  /** The Jacobian-vector product: dx = p * (dout - sum(dout * p)) per row. */
  backward(dout: Tensor): Tensor {
    const y = requireInput(this, this.#output);
    checkShape(this, "output gradient", dout.shape, y.shape);
    const classes = y.shape[y.shape.length - 1];
    const p = y.toFloat64();
    const d = dout.toFloat64();
    for (let row = 0; row < p.length; row += classes) {
      let dot = 0;
      for (let j = row; j < row + classes; j++) dot += d[j] * p[j];
      for (let j = row; j < row + classes; j++) d[j] = p[j] * (d[j] - dot);
    }
    return Tensor.from(this.storage, y.shape, d);
  }

  /**
   * Mean cross-entropy of the last forward pass against integer `labels` (one per row), and
   * its gradient at the softmax input (softmax and loss differentiated together, which is
   * both cheaper and better conditioned than chaining through `backward`). The gradient is
   * multiplied by `scale` before it is rounded to the storage format: loss scaling, which lifts
   * small gradients of a narrow format out of its underflow range.
   *
   * @throws {RangeError} When there is not one label per row or a label is not a class index.
   */
  crossEntropy(labels: ArrayLike<number>, scale = 1): CrossEntropy {
    const x = requireInput(this, this.#input);
    const classes = x.shape[x.shape.length - 1];
    const rows = x.size / classes;
    if (labels.length !== rows) {
      throw new RangeError(`Cannot compute the loss: ${labels.length} labels for ${rows} rows`);
    }
    const v = x.toFloat64();
    let loss = 0;
    for (let r = 0; r < rows; r++) {
      const label = labels[r];
      if (!(Number.isInteger(label) && label >= 0 && label < classes)) {
        throw new RangeError(
          `Cannot compute the loss: label ${r} is ${label}, expected an integer in [0, ${classes})`,
        );
      }
      const row = r * classes;
      const logit = v[row + label];
      loss += softmaxRow(v, row, classes) - logit;
      v[row + label] -= 1;
      for (let j = row; j < row + classes; j++) v[j] *= scale / rows;
    }
    return { loss: loss / rows, dlogits: Tensor.from(this.storage, x.shape, v) };
  }

  /** Sums of exponentials in float64, on the TypeScript code. */
  arithmetic(): Arithmetic {
    return { path: "typescript", accumulation: "float64" };
  }

  /** A copy: softmax has TypeScript code only, on every path. */
  withKernels(): Softmax {
    return new Softmax({ storage: this.storage });
  }

  /** A softmax storing its output in `storage`. */
  to(storage: Storage): Softmax {
    return new Softmax({ storage });
  }
}

/**
 * Replaces v[start .. start + length] by its softmax, exp(v - max) / sum(exp(v - max)), and
 * returns the log-sum-exp of the original values. Subtracting the maximum keeps every
 * exponential in (0, 1], so nothing overflows.
 */
function softmaxRow(v: Float64Array, start: number, length: number): number {
  let max = -Infinity;
  for (let j = start; j < start + length; j++) max = Math.max(max, v[j]);
  let sum = 0;
  for (let j = start; j < start + length; j++) sum += v[j] = Math.exp(v[j] - max);
  for (let j = start; j < start + length; j++) v[j] /= sum;
  return max + Math.log(sum);
}
