/**
 * Batch normalisation at inference: a scale and a shift per channel, the running statistics
 * folded in (scale = γ / √(var + ε), shift = β − mean · scale), as an imported model's
 * `BatchNormalization` that no convolution or affine layer precedes computes.
 *
 * Precision: x · scale + shift is computed in float64 and rounded once to the storage format;
 * gradients are float64 sums (over the batch and positions for the parameters), each rounded
 * once. The wasm path (the `kernels` option) computes in float64 from the stored values too,
 * the input (and, backward, the output gradient) widened exactly from its format or read as
 * float64 values, and rounds each result once: the same results in every format.
 *
 * @module
 */
import { checkShape, copyParams, type Layer, requireInput } from "./layer.ts";
import type { Storage } from "./storage/storage.ts";
import { f64 } from "./storage/f64.ts";
import { Tensor } from "./tensor.ts";
import { reuse } from "./_scratch.ts";
import { type Arithmetic, type KernelPath, kernelPath } from "./kernel_path.ts";
import { backwardFormats, boundaryFormats } from "./wasm/staging.ts";
import { batchNormBackward, batchNormForward } from "./wasm/batch_norm.ts";

/** Options of {@linkcode BatchNorm}. */
export interface BatchNormOptions {
  /** Channels: the extent of the input's second dimension. */
  channels: number;
  /** Format of parameters, gradients and output. @default {f64} */
  storage?: Storage;
  /** The code that computes it (see {@linkcode kernelPath}). @default {defaultKernelPath()} */
  kernels?: KernelPath;
}

/**
 * y = x · scale[c] + shift[c] for every element of channel c, over input (N, C, ...).
 *
 * @example
 * ```ts
 * import { BatchNorm, tensor } from "@halfprec/halfprec/layers";
 * import assert from "node:assert/strict";
 * const bn = new BatchNorm({ channels: 2 });
 * bn.params.scale.set([2, 10]);
 * bn.params.shift.set([1, 0]);
 * const y = bn.forward(tensor([1, 2, 2], [1, 2, 3, 4]));
 * assert.deepEqual([...y.toFloat64()], [3, 5, 30, 40]);
 * ```
 */
export class BatchNorm implements Layer {
  readonly kind = "batchnorm";
  name = "batchnorm";
  readonly storage: Storage;
  readonly params: { readonly scale: Tensor; readonly shift: Tensor };
  readonly grads: { readonly scale: Tensor; readonly shift: Tensor };
  /** No weights to initialise from a fan-in: the scale starts at 1, the shift at 0. */
  readonly fanIn = 0;
  readonly kernels: KernelPath;
  /** The channels. */
  readonly options: { readonly channels: number };
  #input?: Tensor;
  #output?: Tensor;
  #dx?: Tensor;

  /**
   * A batch normalisation of scale 1 and shift 0.
   *
   * @throws {RangeError} When `channels` is not a positive integer.
   */
  constructor(options: BatchNormOptions) {
    const { channels } = options;
    if (!(Number.isInteger(channels) && channels > 0)) {
      throw new RangeError(
        `Cannot make batchnorm: ${channels} channels, expected a positive integer`,
      );
    }
    this.options = { channels };
    this.storage = options.storage ?? f64;
    this.kernels = kernelPath(options.kernels);
    const make = () => new Tensor(this.storage, [channels]);
    this.params = { scale: make(), shift: make() };
    this.params.scale.set(new Float64Array(channels).fill(1));
    this.grads = { scale: make(), shift: make() };
  }

  /** Same as the input, (N, channels, ...). */
  outputShape(inputShape: readonly number[]): number[] {
    const expected = inputShape.map((_, i) => i === 1 ? this.options.channels : undefined);
    checkShape(this, "input", inputShape, inputShape.length >= 2 ? expected : [undefined, 1]);
    return [...inputShape];
  }

  /** Scales and shifts every element by its channel's parameters. */
  forward(x: Tensor): Tensor {
    const shape = this.outputShape(x.shape);
    this.#input = x;
    const scale = this.params.scale.toFloat64();
    const shift = this.params.shift.toFloat64();
    const y = this.#output = reuse(this.#output, this.storage, shape);
    const formats = boundaryFormats(this.kernels, this.storage, x.storage);
    if (formats) {
      batchNormForward(formats, { x, y }, { scale, shift });
      return y;
    }
    const v = x.toFloat64();
    const inner = this.#inner(shape);
    for (let i = 0; i < v.length; i++) {
      const c = Math.floor(i / inner) % scale.length;
      v[i] = v[i] * scale[c] + shift[c];
    }
    y.set(v);
    return y;
  }

  /** Fills `grads.scale` and `grads.shift` and returns the input gradient. */
  backward(dout: Tensor): Tensor {
    const x = requireInput(this, this.#input);
    checkShape(this, "output gradient", dout.shape, x.shape);
    const scale = this.params.scale.toFloat64();
    const out = this.#dx = reuse(this.#dx, this.storage, x.shape);
    const formats = backwardFormats(this.kernels, this.storage, x.storage, dout.storage);
    if (formats) {
      const sums = batchNormBackward(formats, { x, dy: dout, dx: out }, scale);
      this.grads.scale.set(sums.scale);
      this.grads.shift.set(sums.shift);
      return out;
    }
    const dy = dout.toFloat64();
    const xs = x.toFloat64();
    const inner = this.#inner(x.shape);
    const dScale = new Float64Array(scale.length);
    const dShift = new Float64Array(scale.length);
    const dx = new Float64Array(dy.length);
    for (let i = 0; i < dy.length; i++) {
      const c = Math.floor(i / inner) % scale.length;
      dx[i] = dy[i] * scale[c];
      dScale[c] += dy[i] * xs[i];
      dShift[c] += dy[i];
    }
    // The input gradient first, as the wasm path writes it: a stochastic format draws its
    // numbers in the order the tensors are written.
    out.set(dx);
    this.grads.scale.set(dScale);
    this.grads.shift.set(dShift);
    return out;
  }

  /** Elements per channel of one example. */
  #inner(shape: readonly number[]): number {
    return shape.slice(2).reduce((a, b) => a * b, 1);
  }

  /** Sums nothing forward; on the wasm kernels from an input in any format they hold. */
  arithmetic(input: Storage): Arithmetic {
    const path = boundaryFormats(this.kernels, this.storage, input) ? "wasm" : "typescript";
    return { path, accumulation: "none" };
  }

  /** The same layer storing parameters and output in `storage`, parameters rounded to it. */
  to(storage: Storage): BatchNorm {
    const bn = new BatchNorm({ ...this.options, storage, kernels: this.kernels });
    copyParams(this, bn);
    return bn;
  }

  /** The same layer (parameters copied) on kernel path `path`. */
  withKernels(path: KernelPath): BatchNorm {
    const bn = new BatchNorm({ ...this.options, storage: this.storage, kernels: path });
    copyParams(this, bn);
    return bn;
  }
}
