/**
 * Running one GEMM kernel: the tables copied into the memory, float32 or float64 by format.
 *
 * @module
 */
import { heap, type Kernels } from "./kernels.ts";
import { VECTOR_BYTES } from "./_layout.ts";
import type { GemmTables } from "./tables.ts";
import { isF64, valueBytes, type WasmFormat } from "./staging.ts";

/** The operands of {@linkcode gemm}: byte offsets in the memory, and sizes. */
export interface GemmOperands {
  /** Rows of C (and of A). */
  m: number;
  /** Depth. */
  k: number;
  /** A, packed by {@linkcode packA}. */
  a: number;
  /** The base every table offset of B is added to. */
  b: number;
  /** Where the tables were put by {@linkcode putTables}. */
  tables: PlacedTables;
  /** C, row-major. */
  c: number;
  /** C's row stride, in elements. */
  ldc: number;
  /** Bias per row of C, or 0 for none. */
  bias: number;
  /** Add to C instead of overwriting it. */
  accumulate: boolean;
}

/** Tables copied into the memory. */
export interface PlacedTables {
  rows: number;
  strips: number;
  count: number;
}

/** Output columns per half strip (one vector) for `format`: 4 float32 or 2 float64. */
export function halfLanes(format: WasmFormat): number {
  return VECTOR_BYTES / valueBytes(format);
}

/** Bytes of an m x k matrix packed for the GEMM of `format` (see {@linkcode packA}). */
export function packedBytes(
  kernels: Kernels,
  format: WasmFormat,
  m: number,
  k: number,
): number {
  const bytes = valueBytes(format);
  return kernels.packed_rows(m, bytes) * k * bytes;
}

/**
 * Packs the row-major m x k values at `src` into panels as the GEMMs read A: of 4 rows for
 * float64, of 6 rows and then 4 for float32 (the kernels' register blocks).
 */
export function packA(
  kernels: Kernels,
  format: WasmFormat,
  src: number,
  dims: { m: number; k: number },
  dst: number,
): void {
  kernels.pack_a(src, dims.m, dims.k, dst, valueBytes(format));
}

/** Copies `tables` into the memory at the regions `reserve` hands out. */
export function putTables(tables: GemmTables, reserve: (bytes: number) => number): PlacedTables {
  const rows = reserve(tables.rows.byteLength);
  const strips = reserve(tables.strips.byteLength);
  new Int32Array(heap(), rows, tables.rows.length).set(tables.rows);
  new Int32Array(heap(), strips, tables.strips.length).set(tables.strips);
  return { rows, strips, count: tables.strips.length / 6 };
}

/** C = A · B (+ bias) (+ C), in float64 for f64 storage, else in float32. */
export function gemm(kernels: Kernels, format: WasmFormat, o: GemmOperands): void {
  const run = isF64(format) ? kernels.gemm_f64 : kernels.gemm_f32;
  run(
    o.m,
    o.k,
    o.a,
    o.b,
    o.tables.rows,
    o.tables.count,
    o.tables.strips,
    o.c,
    o.ldc,
    o.bias,
    o.accumulate ? 1 : 0,
  );
}
