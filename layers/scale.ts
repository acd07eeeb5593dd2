/**
 * Scale: every element multiplied by one constant factor, or divided by one constant divisor, as
 * an imported model's `Mul` or `Div` by a scalar does; with factor 1 it stores its input in its own format, as ONNX's `Cast` to a
 * floating-point type does.
 *
 * Precision: x · factor / divisor is computed in float64 and rounded once to the storage format
 * (one of the two is 1 for an imported `Mul` or `Div`, so that the one operation ONNX names is
 * the one computed), forward and backward. The wasm path (the `kernels` option) computes in
 * float64 from the stored values too, the input (backward: the output gradient) widened exactly
 * from its format or read as float64 values, and rounds each result once: the same results in
 * every format.
 *
 * @module
 */
import { type Layer, requireInput } from "./layer.ts";
import type { Storage } from "./storage/storage.ts";
import { f64 } from "./storage/f64.ts";
import type { Tensor } from "./tensor.ts";
import { reuse } from "./_scratch.ts";
import { mapChunks } from "./_chunks.ts";
import { type Arithmetic, type KernelPath, kernelPath } from "./kernel_path.ts";
import { boundaryFormats } from "./wasm/staging.ts";
import { scaleValues } from "./wasm/scale.ts";

/** Options of {@linkcode Scale}. */
export interface ScaleOptions {
  /** The factor every element is multiplied by; finite. @default {1} */
  factor?: number;
  /** The divisor every element is divided by; finite and not zero. @default {1} */
  divisor?: number;
  /** Format of the output. @default {f64} */
  storage?: Storage;
  /** The code that computes it (see {@linkcode kernelPath}). @default {defaultKernelPath()} */
  kernels?: KernelPath;
}

/**
 * Multiplies a tensor of any shape by a constant.
 *
 * @example Halve, and store in f16
 * ```ts
 * import { f16, Scale, tensor } from "@halfprec/halfprec/layers";
 * import assert from "node:assert/strict";
 * const scale = new Scale({ factor: 0.5, storage: f16 });
 * assert.deepEqual([...scale.forward(tensor([2], [3, 0.1])).toFloat64()], [1.5, 0.04998779296875]);
 * assert.deepEqual([...scale.backward(tensor([2], [4, 8])).toFloat64()], [2, 4]);
 * ```
 */
export class Scale implements Layer {
  readonly kind = "scale";
  name = "scale";
  readonly storage: Storage;
  readonly params: Readonly<Record<string, Tensor>> = {};
  readonly grads: Readonly<Record<string, Tensor>> = {};
  readonly fanIn = 0;
  readonly kernels: KernelPath;
  /** The factor and the divisor. */
  readonly options: { readonly factor: number; readonly divisor: number };
  #inputShape?: readonly number[];
  #output?: Tensor;
  #dx?: Tensor;

  /**
   * A scale by `options.factor / options.divisor`.
   *
   * @throws {RangeError} When the factor or the divisor is not finite, or the divisor is zero.
   */
  constructor(options?: ScaleOptions) {
    const { factor = 1, divisor = 1 } = options ?? {};
    if (!(Number.isFinite(factor) && Number.isFinite(divisor) && divisor !== 0)) {
      throw new RangeError(
        `Cannot make scale: factor ${factor}, divisor ${divisor}; expected finite numbers, ` +
          `the divisor not zero`,
      );
    }
    this.options = { factor, divisor };
    this.storage = options?.storage ?? f64;
    this.kernels = kernelPath(options?.kernels);
  }

  /** Same as the input. */
  outputShape(inputShape: readonly number[]): number[] {
    return [...inputShape];
  }

  /** Every element times `factor`, divided by `divisor`. */
  forward(x: Tensor): Tensor {
    this.#inputShape = x.shape;
    const y = this.#output = reuse(this.#output, this.storage, x.shape);
    this.#multiply(x, y);
    return y;
  }

  /** Every element of the output gradient times `factor`, divided by `divisor`. */
  backward(dout: Tensor): Tensor {
    const dx = this.#dx = reuse(this.#dx, this.storage, requireInput(this, this.#inputShape));
    this.#multiply(dout, dx);
    return dx;
  }

  #multiply(x: Tensor, out: Tensor): void {
    const { factor, divisor } = this.options;
    const formats = boundaryFormats(this.kernels, this.storage, x.storage);
    if (formats) {
      scaleValues(formats, { x, y: out }, this.options);
      return;
    }
    mapChunks([x], out, ([v], _, length) => {
      for (let i = 0; i < length; i++) v[i] = v[i] * factor / divisor;
    });
  }

  /** Sums nothing; on the wasm kernels from an input in any format they hold. */
  arithmetic(input: Storage): Arithmetic {
    const path = boundaryFormats(this.kernels, this.storage, input) ? "wasm" : "typescript";
    return { path, accumulation: "none" };
  }

  /** The same scale storing its output in `storage`. */
  to(storage: Storage): Scale {
    return new Scale({ ...this.options, storage, kernels: this.kernels });
  }

  /** The same scale on kernel path `path`. */
  withKernels(path: KernelPath): Scale {
    return new Scale({ ...this.options, storage: this.storage, kernels: path });
  }
}
