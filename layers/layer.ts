/**
 * The layer interface every layer implements, and the checks they share.
 *
 * @module
 */
import type { Storage } from "./storage/storage.ts";
import type { Tensor } from "./tensor.ts";
import type { Arithmetic, KernelPath } from "./kernel_path.ts";

/**
 * One layer: a forward pass, its backward pass, and the parameters it owns.
 *
 * A layer stores its parameters, gradients and outputs in its own {@linkcode Storage}; its
 * input may come in any storage (the previous layer's), which is how one network mixes
 * formats. Forward keeps what backward needs (a reference to its input or output), so call
 * `backward` after the `forward` it belongs to.
 *
 * The tensors `forward` and `backward` return belong to the layer and are overwritten by its
 * next call, as in llm.c: allocating fresh activations every batch costs more than some layers'
 * whole work. Copy one to keep it (`y.to(y.storage)`).
 *
 * @example Run a layer forward and backward
 * ```ts
 * import { Relu, tensor } from "@halfprec/halfprec/layers";
 * import assert from "node:assert/strict";
 *
 * const relu = new Relu();
 * const y = relu.forward(tensor([3], [-1, 0, 2]));
 * assert.deepEqual([...y.toFloat64()], [0, 0, 2]);
 * const dx = relu.backward(tensor([3], [5, 5, 5]));
 * assert.deepEqual([...dx.toFloat64()], [0, 0, 5]);
 * ```
 */
export interface Layer {
  /** What the layer computes: `"conv"`, `"relu"`, ... */
  readonly kind: string;
  /** The layer's name in its network (`"conv2"`), set by `Sequential`; `kind` until then. */
  name: string;
  /** The format of the layer's parameters, gradients and outputs. */
  readonly storage: Storage;
  /** Learnable parameters by local name (`W`, `b`); empty for layers without any. */
  readonly params: Readonly<Record<string, Tensor>>;
  /** Gradients of the loss with respect to `params`, filled by `backward`. */
  readonly grads: Readonly<Record<string, Tensor>>;
  /** The numeric options the layer was made with (all but `storage`): enough to rebuild it. */
  readonly options: Readonly<Record<string, number>>;
  /** How many inputs feed one output unit (He initialisation needs it); 0 without weights. */
  readonly fanIn: number;
  /**
   * The kernel path the layer was made with (its `kernels` option). A layer with only
   * TypeScript code may leave these three members out: it counts as `"typescript"`, float64
   * sums, and a network on another path copies it with `to(storage)`.
   */
  readonly kernels?: KernelPath;
  /** The code that computes the forward pass of an input stored in `input`, and its sums. */
  arithmetic?(input: Storage): Arithmetic;
  /** The same layer (parameters copied) on kernel path `path`. */
  withKernels?(path: KernelPath): Layer;
  /** Computes the output; `train` switches dropout to its training behaviour. */
  forward(x: Tensor, train?: boolean): Tensor;
  /**
   * Inference through this layer and the first of `following` (the layers after it, in order)
   * that it can compute within its own pass (a convolution, the ReLU after it and a max pooling
   * after that, in its format on the wasm kernels; unless scaled or stochastic, the next
   * convolution and what it takes in, too): the elements the layers give one by one, every
   * layer's output written with `keep`, else only the last one's. Undefined when it
   * computes none of them: then run them one by one.
   */
  forwardWith?(x: Tensor, following: readonly Layer[], keep: boolean): FusedOutputs | undefined;
  /** Given the gradient at the output, fills `grads` and returns the gradient at the input. */
  backward(dout: Tensor): Tensor;
  /** The output shape for an input of `inputShape` (throws when the input does not fit). */
  outputShape(inputShape: readonly number[]): number[];
  /**
   * The same layer in another storage format, its parameters re-stored (rounded) in it; layers
   * that sum products (conv, affine) also take the format of their partial sums, `accumulator`.
   */
  to(storage: Storage, accumulator?: Storage): Layer;
}

/** What {@linkcode Layer.forwardWith} computed. */
export interface FusedOutputs {
  /** How many of the following layers ran within the layer's pass. */
  fused: number;
  /** The outputs of the layer and of those, in order, when asked to keep them; else the last. */
  outputs: Tensor[];
}

/**
 * Throws a `TypeError` unless `shape` has `rank` dimensions and matches `expected` where
 * `expected` has a number (`undefined` means any extent).
 */
export function checkShape(
  layer: Layer,
  what: string,
  shape: readonly number[],
  expected: readonly (number | undefined)[],
): void {
  const fits = shape.length === expected.length &&
    expected.every((e, i) => e === undefined || e === shape[i]);
  if (!fits) {
    const want = expected.map((e) => e ?? "*").join(", ");
    throw new TypeError(
      `Cannot run ${layer.name}: ${what} has shape [${shape}], expected [${want}]`,
    );
  }
}

/** What a forward pass kept for backward, or an error saying backward came first. */
export function requireInput<T>(layer: Layer, kept: T | undefined): T {
  if (kept === undefined) {
    throw new Error(`Cannot run ${layer.name} backward: call forward first`);
  }
  return kept;
}

/** Copies every parameter of `from` into the same-named parameter of `to`, re-storing it. */
export function copyParams(from: Layer, to: Layer): void {
  for (const [key, t] of Object.entries(from.params)) to.params[key].set(t.toFloat64());
}
