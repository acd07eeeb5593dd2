/**
 * Running one GEMM kernel: the tables copied into the memory, float32 or float64 by format.
 *
 * @module
 */
import { heap, type Kernels } from "./kernels.ts";
import type { GemmTables } from "./tables.ts";
import { isF64, valueBytes, type WasmFormat } from "./staging.ts";

/** The operands of {@linkcode gemm}: byte offsets in the memory, and sizes. */
export interface GemmOperands {
  /** Rows of C (and of A). */
  m: number;
  /** Depth. */
  k: number;
  /** A, packed by {@linkcode packA} with the same tables. */
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
  /** Offset of the row table. */
  rows: number;
  /** Offset of the column table. */
  columns: number;
  /** Columns of B and C. */
  count: number;
}

/** Bytes of an m x k matrix packed for the GEMM of `format` (see {@linkcode packA}). */
export function packedBytes(
  kernels: Kernels,
  format: WasmFormat,
  m: number,
  k: number,
): number {
  return kernels.packed_bytes(m, k, valueBytes(format));
}

/**
 * Packs the row-major m x k values at `src` into panels as the GEMMs read A, each depth step
 * with B's row offset from the row table at `rows` (placed by {@linkcode putTables}).
 */
export function packA(
  kernels: Kernels,
  format: WasmFormat,
  src: number,
  dims: { m: number; k: number },
  rows: number,
  dst: number,
): void {
  kernels.pack_a(src, dims.m, dims.k, rows, dst, valueBytes(format));
}

/** Copies `tables` into the memory at the regions `reserve` hands out. */
export function putTables(tables: GemmTables, reserve: (bytes: number) => number): PlacedTables {
  const rows = reserve(tables.rows.byteLength);
  const columns = reserve(tables.columns.byteLength);
  new Int32Array(heap(), rows, tables.rows.length).set(tables.rows);
  new Int32Array(heap(), columns, tables.columns.length).set(tables.columns);
  return { rows, columns, count: tables.columns.length };
}

/** C = A · B (+ bias) (+ C), in float64 for f64 storage, else in float32. */
export function gemm(kernels: Kernels, format: WasmFormat, o: GemmOperands): void {
  const run = isF64(format) ? kernels.gemm_f64 : kernels.gemm_f32;
  run(
    o.m,
    o.k,
    o.a,
    o.b,
    o.tables.count,
    o.tables.columns,
    o.c,
    o.ldc,
    o.bias,
    o.accumulate ? 1 : 0,
  );
}
