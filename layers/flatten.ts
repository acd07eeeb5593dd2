/**
 * Flatten: each example of a batch as one row, (N, C, H, W) to (N, C·H·W), as an imported
 * model's `Flatten` or `Reshape` to (N, -1) does. Affine layers read any input as rows already,
 * so a network needs this only where something else follows (a softmax, the output).
 *
 * Precision: exact when the input is stored in the layer's format (the output shares its
 * elements); otherwise each element is rounded once to the format.
 *
 * @module
 */
import { type Layer, requireInput } from "./layer.ts";
import type { Storage } from "./storage/storage.ts";
import { f64 } from "./storage/f64.ts";
import { Tensor } from "./tensor.ts";

/** Options of {@linkcode Flatten}. */
export interface FlattenOptions {
  /** Format of the output. @default {f64} */
  storage?: Storage;
}

/**
 * Reshapes every example to a row.
 *
 * @example
 * ```ts
 * import { Flatten, tensor } from "@halfprec/halfprec/layers";
 * import assert from "node:assert/strict";
 * const flatten = new Flatten();
 * assert.deepEqual(flatten.forward(tensor([2, 1, 1, 2], [1, 2, 3, 4])).shape, [2, 2]);
 * assert.deepEqual(flatten.backward(tensor([2, 2], [5, 6, 7, 8])).shape, [2, 1, 1, 2]);
 * ```
 */
export class Flatten implements Layer {
  readonly kind = "flatten";
  name = "flatten";
  readonly storage: Storage;
  readonly params: Readonly<Record<string, Tensor>> = {};
  readonly grads: Readonly<Record<string, Tensor>> = {};
  readonly options: Readonly<Record<string, number>> = {};
  readonly fanIn = 0;
  #inputShape?: readonly number[];

  /** A flatten layer; see {@linkcode FlattenOptions}. */
  constructor(options?: FlattenOptions) {
    this.storage = options?.storage ?? f64;
  }

  /** (N, ...) to (N, product of the rest). */
  outputShape(inputShape: readonly number[]): number[] {
    if (inputShape.length < 1) throw new TypeError(`Cannot run ${this.name}: input is a scalar`);
    return [inputShape[0], inputShape.slice(1).reduce((a, b) => a * b, 1)];
  }

  /** The input's elements as rows. */
  forward(x: Tensor): Tensor {
    this.#inputShape = x.shape;
    return this.#reshape(x, this.outputShape(x.shape));
  }

  /** The output gradient in the input's shape. */
  backward(dout: Tensor): Tensor {
    return this.#reshape(dout, requireInput(this, this.#inputShape));
  }

  #reshape(x: Tensor, shape: readonly number[]): Tensor {
    const stored = x.storage === this.storage ? x : x.to(this.storage);
    return new Tensor(this.storage, shape, stored.data);
  }

  /** A flatten layer storing its output in `storage`. */
  to(storage: Storage): Flatten {
    return new Flatten({ storage });
  }
}
