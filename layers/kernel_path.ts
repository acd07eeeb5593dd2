/**
 * Which code computes a layer: the WebAssembly SIMD kernels or the TypeScript reference, and
 * how its sums are accumulated. The choice belongs to each layer (its `kernels` option), so it
 * travels with the network: in its spec to workers, in `--config`, and in every result that
 * reports a layer's {@linkcode Arithmetic}. Nothing module-wide decides it.
 *
 * The TypeScript path is the readable reference: float64 sums, each output rounded once to the
 * storage format. The wasm path runs conv, affine, ReLU and max pooling on SIMD kernels
 * (float64 sums for f64 storage, float32 for every other format; see each layer's precision
 * note), and average pooling, batch normalisation, scale and zero padding on kernels that
 * compute in float64, forward and backward, and is tested against the reference. It holds f64, f32, f16,
 * bf16 and every minifloat of up to 16 bits whose values are float32 numbers (fp8, e3m4, e2m1,
 * e6m9, ...) in every rounding mode, read through a table of its values and rounded by its own
 * rule; stochastic rounding draws one number per value written from the format's stream, in
 * element order, as the TypeScript layers' forward passes do. A scaled format's conv and affine
 * quantize their operands in wasm (to the values the TypeScript code computes) and multiply on
 * the f32 kernels. A conv or affine layer whose input is stored in another format than its own
 * converts it on loading, so it computes the same whatever format its input arrived in; the
 * other layers there widen it exactly, or keep a float64 input's values, and round each result
 * once (backward passes across a boundary, but those of average pooling, scale and zero
 * padding, run the TypeScript code). An accumulator of f16, bf16 or f32 width rounds every
 * partial sum in wasm, to the reference's sums; any other accumulator runs the TypeScript code.
 *
 * @module
 */
import { kernels } from "./wasm/kernels.ts";

/** `"wasm"`: the SIMD kernels where a layer has them; `"typescript"`: the reference code only. */
export type KernelPath = "wasm" | "typescript";

/**
 * What one layer computes on, for a given input: the code that runs and how the sums of its
 * products are accumulated.
 *
 * @example
 * ```ts
 * import type { Arithmetic } from "@halfprec/halfprec/layers";
 * const conv: Arithmetic = { path: "wasm", accumulation: "float32" };
 * ```
 */
export interface Arithmetic {
  /** The code that runs the forward pass. */
  path: KernelPath;
  /**
   * How sums are accumulated: `"float64"`, `"float32"`, the name of a format every partial sum
   * is rounded to (an accumulator, `"f16"`), or `"none"` for layers that sum nothing (ReLU,
   * max pooling).
   */
  accumulation: string;
}

/**
 * The {@linkcode Arithmetic} of one layer of a network, by its name; see `Sequential.arithmetic`.
 *
 * @example
 * ```ts
 * import type { LayerArithmetic } from "@halfprec/halfprec/layers";
 * const relu: LayerArithmetic = { layer: "relu1", path: "wasm", accumulation: "none" };
 * ```
 */
export interface LayerArithmetic extends Arithmetic {
  /** The layer's name in its network (`"conv2"`). */
  layer: string;
}

/**
 * The path a layer takes when none is given: `"wasm"` when the runtime has WebAssembly SIMD,
 * else `"typescript"`. A constant of the runtime, not a setting.
 *
 * @example
 * ```ts
 * import { defaultKernelPath } from "@halfprec/halfprec/layers";
 * import assert from "node:assert/strict";
 * assert.ok(["wasm", "typescript"].includes(defaultKernelPath()));
 * ```
 */
export function defaultKernelPath(): KernelPath {
  return kernels ? "wasm" : "typescript";
}

/**
 * `path` checked: a layer's `kernels` option, or a name read from a file or a flag (`"ts"`
 * stands for `"typescript"`); `undefined` gives {@linkcode defaultKernelPath}.
 *
 * @throws {RangeError} When `path` names no kernel path.
 * @throws {Error} When `path` is `"wasm"` and the runtime has no WebAssembly SIMD.
 *
 * @example Compare the two paths on one network
 * ```ts
 * import { deepConvNet, f32, kernelPath, Tensor } from "@halfprec/halfprec/layers";
 * import assert from "node:assert/strict";
 *
 * const net = deepConvNet({ seed: 1 }).to(f32);
 * const x = Tensor.from(f32, [1, 1, 28, 28], Array.from({ length: 784 }, (_, i) => i % 7));
 * const reference = net.withKernels(kernelPath("ts")).logits(x).toFloat64();
 * const fast = net.withKernels(kernelPath("wasm")).logits(x).toFloat64();
 * assert.ok(fast.every((v, i) => Math.abs(v - reference[i]) <= 1e-5 * Math.abs(reference[i]) + 1e-6));
 * ```
 */
export function kernelPath(path?: string): KernelPath {
  if (path === undefined) return defaultKernelPath();
  const named = path === "ts" ? "typescript" : path;
  if (named !== "wasm" && named !== "typescript") {
    throw new RangeError(`Unknown kernel path "${path}": expected "wasm" or "ts"`);
  }
  if (named === "wasm" && !kernels) {
    throw new Error("Cannot use the wasm kernel path: this runtime has no WebAssembly SIMD");
  }
  return named;
}
