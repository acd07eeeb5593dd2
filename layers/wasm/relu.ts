/**
 * ReLU forward and backward on the wasm kernels, on the stored elements themselves (16-bit
 * formats by their codes), in chunks: exact, as the TypeScript layer.
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { requireKernels, withRegions } from "./kernels.ts";
import { copyIn, copyOut, regionBytes, STORED_BYTES, type WasmFormat } from "./staging.ts";

/** Elements per chunk: 256 KiB of f32, inside L2. */
const CHUNK = 65536;

/** The code of +Infinity of each 16-bit format (a larger magnitude is a NaN). */
const INFINITY_CODE = { f16: 0x7c00, bf16: 0x7f80 };

/** `y` = max(`x`, 0) element-wise, both stored in `format`. */
export function reluForward(format: WasmFormat, x: Tensor, y: Tensor): void {
  const kernels = requireKernels();
  withRegions((reserve) => {
    const at = reserve(regionBytes(CHUNK, STORED_BYTES[format]));
    for (let start = 0; start < x.size; start += CHUNK) {
      const count = Math.min(CHUNK, x.size - start);
      const rounded = Math.ceil(count / 8) * 8;
      copyIn(format, x.data, start, count, at);
      if (format === "f32") kernels.relu_f32(at, rounded);
      else if (format === "f64") kernels.relu_f64(at, rounded);
      else kernels.relu_16(at, rounded, INFINITY_CODE[format]);
      copyOut(format, at, y.data, start, count);
    }
  });
}

/** `dx` = `dy` where `x` > 0, +0 elsewhere, element-wise; all three stored in `format`. */
export function reluBackward(
  format: WasmFormat,
  tensors: { x: Tensor; dy: Tensor; dx: Tensor },
): void {
  const kernels = requireKernels();
  const { x, dy, dx } = tensors;
  withRegions((reserve) => {
    const input = reserve(regionBytes(CHUNK, STORED_BYTES[format]));
    const grad = reserve(regionBytes(CHUNK, STORED_BYTES[format]));
    for (let start = 0; start < x.size; start += CHUNK) {
      const count = Math.min(CHUNK, x.size - start);
      const rounded = Math.ceil(count / 8) * 8;
      copyIn(format, x.data, start, count, input);
      copyIn(format, dy.data, start, count, grad);
      if (format === "f32") kernels.relu_backward_f32(input, grad, rounded);
      else if (format === "f64") kernels.relu_backward_f64(input, grad, rounded);
      else kernels.relu_backward_16(input, grad, rounded, INFINITY_CODE[format]);
      copyOut(format, grad, dx.data, start, count);
    }
  });
}
