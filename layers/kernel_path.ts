/**
 * Which code computes the layers' forward and backward passes: the WebAssembly SIMD kernels or
 * the TypeScript reference.
 *
 * The TypeScript path is the readable reference: float64 arithmetic, each output rounded once
 * to the storage format. The wasm path runs conv, affine, ReLU and max pooling on SIMD kernels
 * (float64 arithmetic for f64 storage, float32 for every other format; see each layer's
 * precision note), forward and backward, and is tested against the reference. Dropout and
 * softmax always run the TypeScript code. The setting is per thread; a `WorkerPool` sends it to
 * its workers with the network.
 *
 * @module
 */
import { kernels } from "./wasm/kernels.ts";

/** `"wasm"`: SIMD kernels where a layer has them; `"typescript"`: the reference code only. */
export type KernelPath = "wasm" | "typescript";

let current: KernelPath = kernels ? "wasm" : "typescript";

/**
 * The path layers compute their forward and backward passes on in this thread: `"wasm"` by default when the
 * runtime has WebAssembly SIMD, else `"typescript"`.
 *
 * @example
 * ```ts
 * import { kernelPath } from "@halfprec/halfprec";
 * import assert from "node:assert/strict";
 * assert.ok(["wasm", "typescript"].includes(kernelPath()));
 * ```
 */
export function kernelPath(): KernelPath {
  return current;
}

/**
 * Chooses the path layers compute their forward and backward passes on in this thread.
 *
 * @throws {RangeError} When `path` is neither `"wasm"` nor `"typescript"`.
 * @throws {Error} When `path` is `"wasm"` and the runtime has no WebAssembly SIMD.
 *
 * @example Compare the two paths
 * ```ts
 * import { deepConvNet, f32, kernelPath, setKernelPath, Tensor } from "@halfprec/halfprec";
 * import assert from "node:assert/strict";
 *
 * const net = deepConvNet({ seed: 1 }).to(f32);
 * const x = Tensor.from(f32, [1, 1, 28, 28], Array.from({ length: 784 }, (_, i) => i % 7));
 * const before = kernelPath();
 * setKernelPath("typescript");
 * const reference = net.logits(x).toFloat64();
 * setKernelPath(before);
 * const fast = net.logits(x).toFloat64();
 * assert.ok(fast.every((v, i) => Math.abs(v - reference[i]) <= 1e-5 * Math.abs(reference[i]) + 1e-6));
 * ```
 */
export function setKernelPath(path: KernelPath): void {
  if (path !== "wasm" && path !== "typescript") {
    throw new RangeError(`Unknown kernel path "${path}": expected "wasm" or "typescript"`);
  }
  if (path === "wasm" && !kernels) {
    throw new Error("Cannot use the wasm kernel path: this runtime has no WebAssembly SIMD");
  }
  current = path;
}
