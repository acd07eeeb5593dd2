/**
 * Affine (fully connected) layer: x · W + b, with the input flattened per example.
 *
 * Precision on the TypeScript path (the reference): each output is a float64 dot product over
 * the widened input and weights, plus the bias, rounded once to the storage format. On the wasm
 * path (the `kernels` option), whatever format the input is stored in: f64 storage computes the
 * same float64 dot product (the terms summed in the same order, the relaxed-SIMD build fusing
 * each multiply-add) on the input widened exactly to float64; every other format widens input
 * and weights to float32 (exactly; an f64 input is rounded to float32), accumulates the dot product and adds the bias in float32, and rounds that
 * float32 once to the storage format (nothing to round for f32). Gradients on the TypeScript
 * path are float64 sums (over the batch too), each rounded once to the format. On the wasm path
 * (when input, output gradient and layer share a format) the input and weight gradients are
 * float32 sums (float64 for f64 storage) of the exactly widened values, the bias gradient a
 * float64 sum, each rounded once to the format.
 *
 * @module
 */
import { checkShape, copyParams, type Layer, requireInput } from "./layer.ts";
import type { Storage } from "./storage/storage.ts";
import { f64 } from "./storage/f64.ts";
import { Tensor } from "./tensor.ts";
import { reuse, Scratch } from "./_scratch.ts";
import { identity, matmul, multiply } from "./_matmul.ts";
import { type Arithmetic, type KernelPath, kernelPath } from "./kernel_path.ts";
import { checkedAccumulator } from "./_accumulator.ts";
import {
  backwardFormats,
  type LayerFormats,
  productArithmetic,
  productFormat,
} from "./wasm/staging.ts";
import { affineBackward, affineForward } from "./wasm/affine.ts";
import { matmulRoundedWasm, wasmAccumulator } from "./wasm/rounded_sums.ts";
import { f32 } from "./storage/f32.ts";
import type { ScaledCounts } from "./storage/mx.ts";
import { type OperandLayout, scaledSchemeOf } from "./storage/scaled.ts";
import {
  kernelOperands,
  quantized,
  scaledBackward,
  scaledForward,
  type ScaledOperands,
} from "./_scaled_operands.ts";

/** Options of {@linkcode Affine}. */
export interface AffineOptions {
  /** Values per example in the input (after flattening C x H x W). */
  inputs: number;
  /** Values per example in the output. */
  outputs: number;
  /** Format of weights, gradients and output. @default {f64} */
  storage?: Storage;
  /**
   * Round every partial sum of the forward products to this format (each step a fused
   * multiply-add rounded once), as an accumulator of that width does; the bias is added and
   * rounded likewise (on the wasm path in wasm, to the same sums). A scaled format is refused:
   * its scale comes from a block or a tensor, not from one sum.
   * Without it, sums are float64 (TypeScript path) or as the wasm path computes them. Backward
   * passes ignore it (see the precision note of the module).
   */
  accumulator?: Storage;
  /**
   * For a scaled storage format with per-tensor activation scales (`int8`, `e4m3-tensor`,
   * `nvfp4`…): the calibrated amax of the input, a static scale. Without it the scale is
   * dynamic, from the amax of the batch being computed.
   */
  activationAmax?: number;
  /** The code that computes it (see {@linkcode kernelPath}). @default {defaultKernelPath()} */
  kernels?: KernelPath;
}

/**
 * Fully connected layer with weights `W` (inputs, outputs) and bias `b` (outputs), the
 * reference layout. An input of shape (N, C, H, W) is read as (N, C·H·W) in NCHW order.
 *
 * @example
 * ```ts
 * import { Affine, tensor } from "@halfprec/halfprec/layers";
 * import assert from "node:assert/strict";
 * const fc = new Affine({ inputs: 2, outputs: 1 });
 * fc.params.W.set([2, 3]);
 * fc.params.b.set([1]);
 * assert.deepEqual([...fc.forward(tensor([1, 2], [10, 100])).toFloat64()], [321]);
 * ```
 */
export class Affine implements Layer {
  readonly kind = "affine";
  name = "affine";
  readonly storage: Storage;
  /** The format partial sums are rounded to, when there is one (see the options). */
  readonly accumulator?: Storage;
  readonly kernels: KernelPath;
  readonly params: { readonly W: Tensor; readonly b: Tensor };
  readonly grads: { readonly W: Tensor; readonly b: Tensor };
  readonly fanIn: number;
  /** The options this layer was made with. */
  readonly options:
    & Required<Omit<AffineOptions, "storage" | "accumulator" | "activationAmax" | "kernels">>
    & Pick<AffineOptions, "activationAmax">;
  /** The float32 layer a scaled format computes with, on the quantized operands. */
  #twin?: Affine;
  /** Whether the last forward pass ran on the twin (see {@linkcode Affine.forward}). */
  #onTwin = false;
  readonly #work = new Scratch();
  #input?: Tensor;
  #output?: Tensor;
  #dx?: Tensor;

  /** An affine layer with zero weights; load or initialise them before use. */
  constructor(options: AffineOptions) {
    const { inputs, outputs } = options;
    if (!(Number.isInteger(inputs) && inputs > 0 && Number.isInteger(outputs) && outputs > 0)) {
      throw new RangeError(
        `Cannot make affine: ${inputs} inputs -> ${outputs} outputs, expected positive integers`,
      );
    }
    const { activationAmax } = options;
    this.options = { inputs, outputs, ...(activationAmax !== undefined && { activationAmax }) };
    this.storage = options.storage ?? f64;
    this.accumulator = checkedAccumulator(options.accumulator, "affine");
    this.kernels = kernelPath(options.kernels);
    this.params = {
      W: new Tensor(this.storage, [inputs, outputs]),
      b: new Tensor(this.storage, [outputs]),
    };
    this.grads = {
      W: new Tensor(this.storage, [inputs, outputs]),
      b: new Tensor(this.storage, [outputs]),
    };
    this.fanIn = inputs;
  }

  /** Input (N, ...) with `inputs` values per example to output (N, outputs). */
  outputShape(inputShape: readonly number[]): number[] {
    const perExample = inputShape.slice(1).reduce((a, b) => a * b, 1);
    if (inputShape.length < 2 || perExample !== this.options.inputs) {
      throw new TypeError(
        `Cannot run ${this.name}: input has shape [${inputShape}], expected [N, ...] with ` +
          `${this.options.inputs} values per example`,
      );
    }
    return [inputShape[0], this.options.outputs];
  }

  /**
   * The input `x` and the weights as a scaled storage format's products read them: quantized
   * in blocks along the inputs (of each example, and of each output's weights), or per tensor
   * or output; undefined for other formats. `counts` tallies what quantization did.
   *
   * @example int8: weights per output, activations per tensor
   * ```ts
   * import { Affine, storageByName, tensor } from "@halfprec/halfprec/layers";
   * import assert from "node:assert/strict";
   * const fc = new Affine({ inputs: 2, outputs: 1, storage: storageByName("int8") });
   * fc.params.W.set([127, 0.4]);
   * const { input, weights } = fc.scaledOperands(tensor([1, 2], [1, 127]))!;
   * assert.deepEqual([...input], [1, 127]);
   * assert.deepEqual([...weights], [127, 0]);
   * ```
   */
  scaledOperands(x: Tensor, counts?: ScaledCounts): ScaledOperands | undefined {
    const scheme = scaledSchemeOf(this.storage);
    if (!scheme) return undefined;
    return {
      input: quantized(scheme, x, this.#inputLayout(x.shape), "activations", {
        amax: this.options.activationAmax,
        counts,
        path: this.kernels,
      }),
      weights: this.scaledWeights(counts)!,
    };
  }

  /**
   * The weights as a scaled storage format's products read them (see
   * {@linkcode Affine.scaledOperands}); undefined for other formats.
   */
  scaledWeights(counts?: ScaledCounts): Float32Array | undefined {
    const scheme = scaledSchemeOf(this.storage);
    if (!scheme) return undefined;
    return quantized(scheme, this.params.W, this.#weightsLayout(), "weights", {
      counts,
      path: this.kernels,
    });
  }

  /** An input's layout for quantization: blocks along each example's inputs. */
  #inputLayout([n]: readonly number[]): OperandLayout {
    return { outer: n, length: this.options.inputs, inner: 1, channels: "outer" };
  }

  /** The weights' layout for quantization: blocks along the inputs, for each output. */
  #weightsLayout(): OperandLayout {
    const { inputs, outputs } = this.options;
    return { outer: 1, length: inputs, inner: outputs, channels: "inner" };
  }

  /**
   * x · W + b for every example. In a scaled format, an inference pass on the wasm kernels
   * quantizes the operands in the kernels' memory; a training pass computes on the float32
   * twin, which keeps the quantized operands for the backward pass.
   */
  forward(x: Tensor, train = false): Tensor {
    const [n, outputs] = this.outputShape(x.shape);
    this.#input = x;
    const scheme = scaledSchemeOf(this.storage);
    const format = this.#forwardFormat(x.storage);
    this.#onTwin = scheme !== undefined && (train || !format);
    if (this.#onTwin) return this.#forwardOnTwin(x);
    if (format) {
      const y = this.#output = reuse(this.#output, this.storage, [n, outputs]);
      const { W, b } = this.params;
      if (!scheme) affineForward(format, { x, weights: W, bias: b, y });
      else {
        const layouts = { input: this.#inputLayout(x.shape), weights: this.#weightsLayout() };
        const { input, quantization } = kernelOperands(scheme, x, layouts, this.options);
        affineForward(format, { x: input, weights: W, bias: b, y }, quantization);
      }
      return y;
    }
    // y^T (outputs, N) = W^T · x^T: the examples become the product's columns, whose zeros
    // (most of the input, after ReLU) it skips.
    const work = this.#work;
    const yT = work.floats("affine out transposed", outputs * n);
    const weights = work.widen(this.params.W, "affine weights");
    const dims = { m: outputs, n, k: this.options.inputs, transA: true, transB: true };
    const input = work.widen(x, "affine input");
    const sums = this.accumulator && wasmAccumulator(this.kernels, this.accumulator);
    if (sums) matmulRoundedWasm(yT, weights, input, dims, sums);
    else multiply(yT, weights, input, dims, work, this.accumulator);
    const bias = work.widen(this.params.b, "affine bias");
    const round = this.accumulator?.round ?? identity;
    const out = work.floats("affine out", n * outputs);
    for (let i = 0; i < n; i++) {
      for (let o = 0; o < outputs; o++) out[i * outputs + o] = round(yT[o * n + i] + bias[o]);
    }
    const y = this.#output = reuse(this.#output, this.storage, [n, outputs]);
    y.set(out);
    return y;
  }

  /** Fills `grads.W`, `grads.b` (summed over the batch) and returns the input gradient. */
  backward(dout: Tensor): Tensor {
    const x = requireInput(this, this.#input);
    const [n, outputs] = this.outputShape(x.shape);
    checkShape(this, "output gradient", dout.shape, [n, outputs]);
    if (scaledSchemeOf(this.storage)) {
      // After an inference pass, the operands were quantized in the kernels' memory only.
      if (!this.#onTwin) this.#forwardOnTwin(x);
      return scaledBackward(this.#twin!, dout, this.grads, this.storage);
    }
    const dx = this.#dx = reuse(this.#dx, this.storage, x.shape);
    const formats = backwardFormats(this.kernels, this.storage, x.storage, dout.storage);
    if (formats) {
      const tensors = { x, dy: dout, weights: this.params.W, dx };
      affineBackward(formats, { ...tensors, dWeights: this.grads.W, dBias: this.grads.b });
      return dx;
    }
    const { inputs } = this.options;
    const work = this.#work;
    const dy = work.widen(dout, "affine out");
    const weights = work.widen(this.params.W, "affine weights");
    const dxValues = work.floats("affine dx", n * inputs);
    // dx (N, inputs) = dy (N, outputs) · W^T; W is stored (inputs, outputs)
    matmul(dxValues, dy, weights, { m: n, n: inputs, k: outputs, transB: true }, work);
    const dWeights = work.floats("affine dW", inputs * outputs);
    // dW (inputs, outputs) = x^T · dy; x is stored (N, inputs)
    const input = work.widen(x, "affine input");
    matmul(dWeights, input, dy, { m: inputs, n: outputs, k: n, transA: true }, work);
    const dBias = new Float64Array(outputs);
    for (let i = 0; i < n; i++) {
      for (let o = 0; o < outputs; o++) dBias[o] += dy[i * outputs + o];
    }
    this.grads.W.set(dWeights);
    this.grads.b.set(dBias);
    dx.set(dxValues);
    return dx;
  }

  /** The forward pass of a scaled format on the float32 twin, on quantized operands. */
  #forwardOnTwin(x: Tensor): Tensor {
    this.#twin ??= new Affine({
      ...this.options,
      storage: f32,
      accumulator: this.accumulator,
      kernels: this.kernels,
    });
    return scaledForward(this.#twin, this.scaledOperands(x)!, this.params.b, x, this.storage);
  }

  /** The wasm formats the forward pass of an input stored in `input` runs in, if any. */
  #forwardFormat(input: Storage): LayerFormats | undefined {
    return productFormat(this.kernels, this.storage, input, this.accumulator);
  }

  /** The code the forward pass of an input stored in `input` runs, and how it sums. */
  arithmetic(input: Storage): Arithmetic {
    return productArithmetic(this.#forwardFormat(input), this.kernels, this.accumulator);
  }

  /**
   * The same layer storing weights and output in `storage`, weights rounded to it, with
   * `accumulator` (by default this layer's), on this layer's kernel path.
   */
  to(storage: Storage, accumulator: Storage | undefined = this.accumulator): Affine {
    return this.#copy({ storage, accumulator });
  }

  /** The same layer on kernel path `path`. */
  withKernels(path: KernelPath): Affine {
    return this.#copy({ kernels: path });
  }

  #copy(changes: Partial<AffineOptions>): Affine {
    const { storage, accumulator, kernels } = this;
    const affine = new Affine({ ...this.options, storage, accumulator, kernels, ...changes });
    copyParams(this, affine);
    return affine;
  }
}
