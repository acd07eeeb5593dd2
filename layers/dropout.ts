/**
 * Dropout, as in the reference: in training, each element is kept with probability
 * 1 - ratio (unscaled); at inference every element is multiplied by 1 - ratio.
 *
 * Precision: a product by 0, 1 or (1 - ratio) computed in float64, rounded once to the
 * storage format (exact for ratio 0.5 in every format, barring underflow).
 *
 * @module
 */
import { type Layer, requireInput } from "./layer.ts";
import type { Storage } from "./storage/storage.ts";
import { f64 } from "./storage/f64.ts";
import type { Arithmetic, KernelPath } from "./kernel_path.ts";
import type { Tensor } from "./tensor.ts";
import { reuse } from "./_scratch.ts";
import { mapChunks } from "./_chunks.ts";
import { Random } from "./random.ts";

/** Options of {@linkcode Dropout}. */
export interface DropoutOptions {
  /** Fraction of elements dropped in training, in [0, 1). @default {0.5} */
  ratio?: number;
  /** Seed of the training masks; the same seed gives the same sequence of masks. @default {0} */
  seed?: number;
  /** Format of the output. @default {f64} */
  storage?: Storage;
}

/**
 * Dropout with a seeded mask.
 *
 * @example At inference, values are scaled by 1 - ratio
 * ```ts
 * import { Dropout, tensor } from "@halfprec/halfprec/layers";
 * import assert from "node:assert/strict";
 * const y = new Dropout({ ratio: 0.5 }).forward(tensor([2], [2, 4]));
 * assert.deepEqual([...y.toFloat64()], [1, 2]);
 * ```
 */
export class Dropout implements Layer {
  readonly kind = "dropout";
  name = "dropout";
  readonly storage: Storage;
  readonly params: Readonly<Record<string, Tensor>> = {};
  readonly grads: Readonly<Record<string, Tensor>> = {};
  readonly fanIn = 0;
  /** Dropout has TypeScript code only. */
  readonly kernels: KernelPath = "typescript";
  /** Fraction of elements dropped in training, and the seed of the masks. */
  readonly options: { readonly ratio: number; readonly seed: number };
  #random: Random;
  /** 1 where the last training pass kept the element; undefined after an inference pass. */
  #mask?: Uint8Array;
  #inputShape?: readonly number[];
  #output?: Tensor;
  #dx?: Tensor;

  /** A dropout layer; see {@linkcode DropoutOptions}. */
  constructor(options?: DropoutOptions) {
    const ratio = options?.ratio ?? 0.5;
    if (!(ratio >= 0 && ratio < 1)) {
      throw new RangeError(`Cannot make dropout: ratio is ${ratio}, expected a number in [0, 1)`);
    }
    this.options = { ratio, seed: options?.seed ?? 0 };
    this.#random = new Random(this.options.seed);
    this.storage = options?.storage ?? f64;
  }

  /** Restarts the sequence of training masks from `seed`. */
  reseed(seed: number): void {
    this.#random = new Random(seed);
  }

  /** Masks (train) or scales (inference) every element. */
  forward(x: Tensor, train = false): Tensor {
    this.#inputShape = x.shape;
    const y = this.#output = reuse(this.#output, this.storage, x.shape);
    if (train) {
      const mask = new Uint8Array(x.size);
      for (let i = 0; i < mask.length; i++) {
        mask[i] = this.#random.uniform() > this.options.ratio ? 1 : 0;
      }
      this.#mask = mask;
    } else {
      this.#mask = undefined;
    }
    this.#scale(x, y);
    return y;
  }

  /** The gradient through the same mask, or the same scaling after an inference pass. */
  backward(dout: Tensor): Tensor {
    const dx = this.#dx = reuse(this.#dx, this.storage, requireInput(this, this.#inputShape));
    this.#scale(dout, dx);
    return dx;
  }

  /** `out` = `x` times the current mask, or times 1 - ratio when there is none. */
  #scale(x: Tensor, out: Tensor): void {
    const mask = this.#mask;
    const keep = 1 - this.options.ratio;
    mapChunks([x], out, ([v], start, length) => {
      if (mask) { for (let i = 0; i < length; i++) v[i] *= mask[start + i]; }
      else for (let i = 0; i < length; i++) v[i] *= keep;
    });
  }

  /** Same as the input. */
  outputShape(inputShape: readonly number[]): number[] {
    return [...inputShape];
  }

  /** Products in float64, each rounded once: no sums. */
  arithmetic(): Arithmetic {
    return { path: "typescript", accumulation: "none" };
  }

  /** A copy: dropout has TypeScript code only, on every path. */
  withKernels(): Dropout {
    return new Dropout({ ...this.options, storage: this.storage });
  }

  /** The same dropout (ratio and seed) storing its output in `storage`. */
  to(storage: Storage): Dropout {
    return new Dropout({ ...this.options, storage });
  }
}

/**
 * Restarts every dropout layer of `net` from a seed derived from `seed` and its position, so
 * that a training step's masks depend only on the step's seed: runs are reproducible and can
 * resume mid-way.
 *
 * @example
 * ```ts
 * import { deepConvNet, f64, reseedDropout, Tensor } from "@halfprec/halfprec/layers";
 * import assert from "node:assert/strict";
 * const net = deepConvNet();
 * const x = new Tensor(f64, [1, 1, 28, 28]);
 * x.set(new Float64Array(784).fill(1));
 * reseedDropout(net, 5);
 * const a = net.forward(x, { train: true }).toFloat64();
 * reseedDropout(net, 5);
 * assert.deepEqual(net.forward(x, { train: true }).toFloat64(), a);
 * ```
 */
export function reseedDropout(net: { readonly layers: readonly Layer[] }, seed: number): void {
  net.layers.forEach((layer, i) => {
    if (layer instanceof Dropout) layer.reseed(Math.imul(seed, 0x9e3779b1) + i);
  });
}
