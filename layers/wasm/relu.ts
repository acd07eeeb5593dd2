/**
 * ReLU forward and backward on the wasm kernels, on the stored elements themselves (16-bit
 * formats by their codes, minifloats through tables of every code's ReLU, or in SIMD by the
 * rule the codec checked against that table), in chunks: exact, as the TypeScript layer.
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { heap, type Kernels, requireKernels, withRegions } from "./kernels.ts";
import { wholeBlocks } from "./_layout.ts";
import {
  type BackwardFormats,
  copyIn,
  copyOut,
  gradientStaging,
  type LayerFormats,
  loadValues,
  regionBytes,
  reserveLayerStaging,
  selectionBytes,
  storedBytes,
  storeValues,
  type WasmFormat,
} from "./staging.ts";

/** Elements per chunk: 256 KiB of f32, inside L2. */
const CHUNK = 65536;

/** The code of +Infinity of each 16-bit format (a larger magnitude is a NaN). */
const INFINITY_CODE: Readonly<Record<string, number>> = { f16: 0x7c00, bf16: 0x7f80 };

/** Puts a table of codes in the memory (0 for none). */
function placeTable(
  reserve: (bytes: number) => number,
  table: Uint8Array | Uint16Array | undefined,
): number {
  if (!table) return 0;
  const at = reserve(table.byteLength);
  new Uint8Array(heap(), at, table.byteLength).set(
    new Uint8Array(table.buffer, table.byteOffset, table.byteLength),
  );
  return at;
}

/**
 * Puts what {@linkcode reluInPlace} needs for `format` in the memory: a minifloat's table of
 * every code's ReLU; returns where, or 0 for the formats that need none.
 */
export function reluTable(reserve: (bytes: number) => number, format: WasmFormat): number {
  return placeTable(reserve, format.codec?.relu);
}

/**
 * ReLU in place over `count` stored elements of `format` at `at` in the memory (rounded up to
 * 8), `table` from {@linkcode reluTable}: what the ReLU layer does to its input's elements.
 */
export function reluInPlace(
  kernels: Kernels,
  format: WasmFormat,
  at: number,
  count: number,
  table: number,
): void {
  const rounded = wholeBlocks(count);
  if (format.carrier === "f32") kernels.relu_f32(at, rounded);
  else if (format.carrier === "f64") kernels.relu_f64(at, rounded);
  else if (format.codec?.reluRule) {
    const { low, high, zero, nan, nanCode } = format.codec.reluRule;
    kernels.relu_u8_codes(at, rounded, low, high, zero, nan, nanCode);
  } else if (format.carrier === "u8") kernels.map_u8(at, count, table);
  else if (format.carrier === "u16") kernels.map_u16(at, count, table);
  else kernels.relu_16(at, rounded, INFINITY_CODE[format.carrier]);
}

/**
 * `y` = max(`x`, 0) element-wise, `y` stored in `formats.format`, `x` in `formats.input`: on
 * the stored elements when the two are one format, else on the values (`x` widened exactly, or
 * a float64 `x` as it is, ReLU, each result rounded once to the format).
 */
export function reluForward(formats: LayerFormats, x: Tensor, y: Tensor): void {
  const { format, input } = formats;
  const kernels = requireKernels();
  if (input.name !== format.name) {
    withRegions((reserve) => {
      const bytes = selectionBytes(formats);
      const values = reserve(regionBytes(CHUNK, bytes));
      const { from, to } = reserveLayerStaging(formats, bytes, reserve, CHUNK);
      const relu = bytes === 8 ? kernels.relu_f64 : kernels.relu_f32;
      for (let start = 0; start < x.size; start += CHUNK) {
        const count = Math.min(CHUNK, x.size - start);
        loadValues(kernels, from, x.data, start, count, values);
        relu(values, wholeBlocks(count));
        storeValues(kernels, to, values, y.data, start, count);
      }
    });
    return;
  }
  withRegions((reserve) => {
    const at = reserve(regionBytes(CHUNK, storedBytes(format)));
    const table = reluTable(reserve, format);
    for (let start = 0; start < x.size; start += CHUNK) {
      const count = Math.min(CHUNK, x.size - start);
      copyIn(format, x.data, start, count, at);
      reluInPlace(kernels, format, at, count, table);
      copyOut(format, at, y.data, start, count);
    }
  });
}

/**
 * `dx` = `dy` where `x` > 0, +0 elsewhere, element-wise, `dx` stored in `formats.format`, `x` in
 * `formats.input` and `dy` in `formats.gradient`: on the stored elements when the three are one
 * format, else on the values (each widened exactly, or float64 ones as they are), each result
 * rounded once to the format.
 */
export function reluBackward(
  formats: BackwardFormats,
  tensors: { x: Tensor; dy: Tensor; dx: Tensor },
): void {
  const kernels = requireKernels();
  const { format, input, gradient } = formats;
  const { x, dy, dx } = tensors;
  if (input.name !== format.name || gradient.name !== format.name) {
    withRegions((reserve) => {
      // A tiny positive float64 x is no longer positive as a float32.
      const bytes = selectionBytes(formats);
      const values = reserve(regionBytes(CHUNK, bytes));
      const grad = reserve(regionBytes(CHUNK, bytes));
      const { from, to } = reserveLayerStaging(formats, bytes, reserve, CHUNK);
      const dyFrom = gradientStaging(formats, to, reserve, CHUNK, bytes);
      const backward = bytes === 8 ? kernels.relu_backward_f64 : kernels.relu_backward_f32;
      for (let start = 0; start < x.size; start += CHUNK) {
        const count = Math.min(CHUNK, x.size - start);
        loadValues(kernels, from, x.data, start, count, values);
        loadValues(kernels, dyFrom, dy.data, start, count, grad);
        backward(values, grad, wholeBlocks(count));
        storeValues(kernels, to, grad, dx.data, start, count);
      }
    });
    return;
  }
  withRegions((reserve) => {
    const input = reserve(regionBytes(CHUNK, storedBytes(format)));
    const grad = reserve(regionBytes(CHUNK, storedBytes(format)));
    const keep = placeTable(reserve, format.codec?.positive);
    for (let start = 0; start < x.size; start += CHUNK) {
      const count = Math.min(CHUNK, x.size - start);
      const rounded = wholeBlocks(count);
      copyIn(format, x.data, start, count, input);
      copyIn(format, dy.data, start, count, grad);
      if (format.carrier === "f32") kernels.relu_backward_f32(input, grad, rounded);
      else if (format.carrier === "f64") kernels.relu_backward_f64(input, grad, rounded);
      else if (format.carrier === "u8") kernels.keep_u8(input, grad, count, keep);
      else if (format.carrier === "u16") kernels.keep_u16(input, grad, count, keep);
      else kernels.relu_backward_16(input, grad, rounded, INFINITY_CODE[format.carrier]);
      copyOut(format, grad, dx.data, start, count);
    }
  });
}
