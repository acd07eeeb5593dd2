/**
 * Affine forward on the wasm kernels: the whole batch in one product, the input batch packed
 * as A and the weights read in place as B; C starts as the bias, each output rounded once.
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { heap, requireKernels, withRegions } from "./kernels.ts";
import { gemm, halfLanes, putTables } from "./gemm.ts";
import { rowMajorTables } from "./tables.ts";
import {
  loadValues,
  regionBytes,
  stagingBytes,
  storeValues,
  valueBytes,
  type WasmFormat,
} from "./staging.ts";

/** `y` (N, outputs) = `x` (N, inputs) · `weights` (inputs, outputs) + `bias`, all in `format`. */
export function affineForward(
  format: WasmFormat,
  tensors: { x: Tensor; weights: Tensor; bias: Tensor; y: Tensor },
): void {
  const kernels = requireKernels();
  const { x, weights, bias, y } = tensors;
  const [inputs, outputs] = weights.shape;
  const n = x.shape[0];
  const bytes = valueBytes(format);
  withRegions((reserve) => {
    const input = reserve(regionBytes(n * inputs, bytes));
    const packed = reserve(Math.ceil(n / 4) * 4 * inputs * bytes);
    const w = reserve(regionBytes(inputs * outputs, bytes));
    const b = reserve(regionBytes(outputs, bytes));
    const out = reserve(regionBytes(n * outputs, bytes));
    const staging = reserve(
      Math.max(...[n * inputs, inputs * outputs, n * outputs].map((c) => stagingBytes(format, c))),
    );
    const tables = putTables(
      rowMajorTables(inputs, outputs, outputs, halfLanes(format), bytes),
      reserve,
    );

    loadValues(kernels, format, x.data, 0, n * inputs, staging, input);
    kernels.pack_a(input, n, inputs, packed, bytes);
    loadValues(kernels, format, weights.data, 0, inputs * outputs, staging, w);
    loadValues(kernels, format, bias.data, 0, outputs, staging, b);
    // The bias is per column here, and the kernel adds it per row: start C as the bias in
    // every row and let the kernel add the products to it (one rounding, as bias + sum).
    const Values = bytes === 8 ? Float64Array : Float32Array;
    const c = new Values(heap(), out, n * outputs);
    const biasValues = new Values(heap(), b, outputs);
    for (let i = 0; i < n; i++) c.set(biasValues, i * outputs);
    gemm(kernels, format, {
      m: n,
      k: inputs,
      a: packed,
      b: w,
      tables,
      c: out,
      ldc: outputs,
      bias: 0,
      accumulate: true,
    });
    storeValues(kernels, format, out, staging, y.data, 0, n * outputs);
  });
}
