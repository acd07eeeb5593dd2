/**
 * Moving stored tensor elements into the kernels' memory and back.
 *
 * Elements cross as raw bytes (every {@linkcode StorageArray} exposes its buffer, and the
 * f16-polyfill's buffer holds plain float16 codes). 16-bit formats are widened to float32 once
 * inside the memory, and results narrowed back there, by the SIMD conversion kernels; f32 and
 * f64 elements are used as they are.
 *
 * @module
 */
import type { Storage, StorageArray } from "../storage/storage.ts";
import { f64 } from "../storage/f64.ts";
import { f32 } from "../storage/f32.ts";
import { f16 } from "../storage/f16.ts";
import { f16Polyfill } from "../storage/f16_polyfill.ts";
import { bf16 } from "../storage/bf16.ts";
import { heap, type Kernels } from "./kernels.ts";
import type { Arithmetic, KernelPath } from "../kernel_path.ts";

/** How a storage format's elements sit in the kernels' memory. */
export type WasmFormat = "f64" | "f32" | "f16" | "bf16";

/** Bytes per stored element of each format. */
export const STORED_BYTES: Readonly<Record<WasmFormat, number>> = {
  f64: 8,
  f32: 4,
  f16: 2,
  bf16: 2,
};

const FORMATS = new Map<Storage, WasmFormat>([
  [f64, "f64"],
  [f32, "f32"],
  [f16, "f16"],
  [f16Polyfill, "f16"], // the same bits as f16
  [bf16, "bf16"],
]);

/**
 * The format all of `storages` store their elements in, or undefined when they differ or one
 * is not a built-in format (such layers keep their TypeScript code).
 */
export function commonFormat(...storages: Storage[]): WasmFormat | undefined {
  const formats = new Set(storages.map((s) => FORMATS.get(s)));
  const [format] = formats;
  return formats.size === 1 ? format : undefined;
}

/**
 * The format a layer on kernel path `path` hands to the wasm kernels when its tensors are
 * stored in `storages`, or undefined when it runs its TypeScript code.
 */
export function wasmFormat(path: KernelPath, ...storages: Storage[]): WasmFormat | undefined {
  return path === "wasm" ? commonFormat(...storages) : undefined;
}

/**
 * The arithmetic of a layer that sums products (conv, affine): on the wasm kernels of `format`
 * (float64 sums for f64, float32 for the rest), or, without a format, on the TypeScript code
 * (float64 sums, or every partial sum rounded to `accumulator`).
 */
export function productArithmetic(
  format: WasmFormat | undefined,
  accumulator?: Storage,
): Arithmetic {
  if (format) return { path: "wasm", accumulation: format === "f64" ? "float64" : "float32" };
  return { path: "typescript", accumulation: accumulator?.name ?? "float64" };
}

/** Bytes per element of the type a format computes in: float64 for f64, else float32. */
export function valueBytes(format: WasmFormat): 4 | 8 {
  return format === "f64" ? 8 : 4;
}

/**
 * Bytes to reserve for `count` elements of `bytes` each: rounded up to 8 elements for the
 * conversion kernels, plus 64 for the GEMMs' reads past the last element.
 */
export function regionBytes(count: number, bytes: number): number {
  return Math.ceil(count / 8) * 8 * bytes + 64;
}

/** Bytes to reserve for staging `count` stored elements before widening (0 for f32 and f64). */
export function stagingBytes(format: WasmFormat, count: number): number {
  return STORED_BYTES[format] === 2 ? regionBytes(count, 2) : 0;
}

/** The bytes of elements `start .. start + count` of `data`, `bytes` each. */
function storedBytes(data: StorageArray, start: number, count: number, bytes: number): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset + start * bytes, count * bytes);
}

/**
 * Copies elements `start .. start + count` of `src` into the memory at `values`, as float32
 * (widened through `staging` for 16-bit formats) or float64.
 */
export function loadValues(
  kernels: Kernels,
  format: WasmFormat,
  src: StorageArray,
  start: number,
  count: number,
  staging: number,
  values: number,
): void {
  copyIn(format, src, start, count, STORED_BYTES[format] === 2 ? staging : values);
  const rounded = Math.ceil(count / 8) * 8;
  if (format === "f16") kernels.widen_f16(staging, values, rounded);
  if (format === "bf16") kernels.widen_bf16(staging, values, rounded);
}

/**
 * Stores `count` values at `values` in the memory (float32 or float64) into `dst` from element
 * `start`, each float32 narrowed once (through `staging`) for 16-bit formats.
 */
export function storeValues(
  kernels: Kernels,
  format: WasmFormat,
  values: number,
  staging: number,
  dst: StorageArray,
  start: number,
  count: number,
): void {
  const rounded = Math.ceil(count / 8) * 8;
  if (format === "f16") kernels.narrow_f16(values, staging, rounded);
  if (format === "bf16") kernels.narrow_bf16(values, staging, rounded);
  copyOut(format, STORED_BYTES[format] === 2 ? staging : values, dst, start, count);
}

/** Copies `count` stored elements of `src` from `start` into the memory at `at`, as they are. */
export function copyIn(
  format: WasmFormat,
  src: StorageArray,
  start: number,
  count: number,
  at: number,
): void {
  const bytes = STORED_BYTES[format];
  new Uint8Array(heap(), at, count * bytes).set(storedBytes(src, start, count, bytes));
}

/** Copies `count` stored elements at `at` in the memory into `dst` from `start`, as they are. */
export function copyOut(
  format: WasmFormat,
  at: number,
  dst: StorageArray,
  start: number,
  count: number,
): void {
  const bytes = STORED_BYTES[format];
  storedBytes(dst, start, count, bytes).set(new Uint8Array(heap(), at, count * bytes));
}
