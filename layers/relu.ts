/**
 * ReLU: max(x, 0), element-wise.
 *
 * Precision: exact in every format (a stored value or zero is stored again), so ReLU never
 * adds rounding error; NaN passes through. An input in another format is rounded once to the
 * layer's. The wasm path (the `kernels` option) works on the stored bits when the input (and,
 * backward, the output gradient) is stored in the layer's own format, and on exactly widened
 * values at a format boundary (on the float64 values, for a float64 input to a narrower layer);
 * it gives the same elements, forward and backward.
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
import { backwardFormats, boundaryFormats } from "./wasm/staging.ts";
import { reluBackward, reluForward } from "./wasm/relu.ts";

/** A choice between +0 (index 0, never written) and a value (index 1), made by index. */
const pick = new Float64Array(2);

/** Options of {@linkcode Relu}. */
export interface ReluOptions {
  /** Format of the output. @default {f64} */
  storage?: Storage;
  /** The code that computes it (see {@linkcode kernelPath}). @default {defaultKernelPath()} */
  kernels?: KernelPath;
}

/**
 * Rectified linear unit over a tensor of any shape.
 *
 * @example
 * ```ts
 * import { f16, Relu, Tensor } from "@halfprec/halfprec/layers";
 * import assert from "node:assert/strict";
 * const y = new Relu({ storage: f16 }).forward(Tensor.from(f16, [2], [-3, 3]));
 * assert.deepEqual([...y.toFloat64()], [0, 3]);
 * ```
 */
export class Relu implements Layer {
  readonly kind = "relu";
  name = "relu";
  readonly storage: Storage;
  readonly params: Readonly<Record<string, Tensor>> = {};
  readonly grads: Readonly<Record<string, Tensor>> = {};
  readonly options: Readonly<Record<string, number>> = {};
  readonly fanIn = 0;
  readonly kernels: KernelPath;
  #input?: Tensor;
  #output?: Tensor;
  #dx?: Tensor;

  /** A ReLU storing its output in `options.storage`. */
  constructor(options?: ReluOptions) {
    this.storage = options?.storage ?? f64;
    this.kernels = kernelPath(options?.kernels);
  }

  /** max(x, 0) for every element. */
  forward(x: Tensor): Tensor {
    this.#input = x;
    const y = this.#output = reuse(this.#output, this.storage, x.shape);
    const formats = boundaryFormats(this.kernels, this.storage, x.storage);
    if (formats) {
      reluForward(formats, x, y);
      return y;
    }
    mapChunks([x], y, ([v], _start, length) => {
      for (let i = 0; i < length; i++) {
        // v[i] < 0 ? +0 : v[i] without a branch (-0 and NaN stay): a sign is a coin toss that
        // a branch predictor loses, 10x slower on random signs (measured).
        pick[1] = v[i];
        v[i] = pick[Number(!(v[i] < 0))];
      }
    });
    return y;
  }

  /**
   * The tensor `forward` fills for an input of `shape`, for a layer that computes this ReLU
   * within its own pass (see {@linkcode Layer.forwardWith}): kept as this layer's output, with
   * `input` as the input `backward` reads, or else the output itself, which is positive
   * exactly where the input was.
   */
  fusedOutput(shape: readonly number[], input?: Tensor): Tensor {
    const y = this.#output = reuse(this.#output, this.storage, shape);
    this.#input = input ?? y;
    return y;
  }

  /**
   * For a layer whose pass computed this ReLU without writing its output (it went on into the
   * next layer in the memory): backward has nothing to read until the next forward.
   */
  fusedAway(): void {
    this.#input = undefined;
  }

  /** dout where the input was positive, 0 elsewhere. */
  backward(dout: Tensor): Tensor {
    const x = requireInput(this, this.#input);
    const dx = this.#dx = reuse(this.#dx, this.storage, x.shape);
    const formats = backwardFormats(this.kernels, this.storage, x.storage, dout.storage);
    if (formats) {
      reluBackward(formats, { x, dy: dout, dx });
      return dx;
    }
    mapChunks([dout, x], dx, ([d, v], _start, length) => {
      for (let i = 0; i < length; i++) if (!(v[i] > 0)) d[i] = 0;
    });
    return dx;
  }

  /** Same as the input. */
  outputShape(inputShape: readonly number[]): number[] {
    return [...inputShape];
  }

  /** ReLU sums nothing; it runs on the wasm kernels when its input is in its format. */
  arithmetic(input: Storage): Arithmetic {
    const path = boundaryFormats(this.kernels, this.storage, input) ? "wasm" : "typescript";
    return { path, accumulation: "none" };
  }

  /** A ReLU storing its output in `storage`. */
  to(storage: Storage): Relu {
    return new Relu({ storage, kernels: this.kernels });
  }

  /** The same ReLU on kernel path `path`. */
  withKernels(path: KernelPath): Relu {
    return new Relu({ storage: this.storage, kernels: path });
  }
}
