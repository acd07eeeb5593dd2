/**
 * Affine forward and backward on the wasm kernels. Forward: the whole batch in one product,
 * the input batch packed as A and the weights read in place as B; C starts as the bias, each
 * output rounded once. Backward: two more products over operands transposed in the memory.
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { heap, requireKernels, withRegions } from "./kernels.ts";
import { SUM_BYTES } from "./_layout.ts";
import { gemm, packA, packedBytes, putTables } from "./gemm.ts";
import { rowMajorTables } from "./tables.ts";
import { type ProductQuantization, quantizeInMemory } from "./quantize.ts";
import {
  type BackwardFormats,
  gradientStaging,
  inputStaging,
  type LayerFormats,
  loadValues,
  regionBytes,
  reserveStaging,
  storeValues,
  valueBytes,
} from "./staging.ts";

/**
 * `y` (N, outputs) = `x` (N, inputs) · `weights` (inputs, outputs) + `bias`, stored in
 * `formats.format`, `x` in `formats.input`; for a scaled format, `quantization` quantizes the
 * input and the weights in the memory first.
 */
export function affineForward(
  formats: LayerFormats,
  tensors: { x: Tensor; weights: Tensor; bias: Tensor; y: Tensor },
  quantization?: ProductQuantization,
): void {
  const { format } = formats;
  const kernels = requireKernels();
  const { x, weights, bias, y } = tensors;
  const [inputs, outputs] = weights.shape;
  const n = x.shape[0];
  const bytes = valueBytes(format);
  withRegions((reserve) => {
    const input = reserve(regionBytes(n * inputs, bytes));
    const packed = reserve(packedBytes(kernels, format, n, inputs));
    const w = reserve(regionBytes(inputs * outputs, bytes));
    const b = reserve(regionBytes(outputs, bytes));
    const out = reserve(regionBytes(n * outputs, bytes));
    const staging = reserveStaging(format, reserve, n * inputs, inputs * outputs, n * outputs);
    const tables = putTables(rowMajorTables(inputs, outputs, outputs, bytes), reserve);

    const fromStaging = inputStaging(formats, staging, reserve, n * inputs);
    loadValues(kernels, fromStaging, x.data, 0, n * inputs, input);
    if (quantization) quantizeInMemory(kernels, quantization, "activations", input, n * inputs);
    packA(kernels, format, input, { m: n, k: inputs }, tables.rows, packed);
    loadValues(kernels, staging, weights.data, 0, inputs * outputs, w);
    if (quantization) quantizeInMemory(kernels, quantization, "weights", w, inputs * outputs);
    loadValues(kernels, staging, bias.data, 0, outputs, b);
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
    storeValues(kernels, staging, out, y.data, 0, n * outputs);
  });
}

/**
 * Given `dy` (N, outputs), the gradient at the output of the affine layer that read `x` (N,
 * inputs) with `weights` (inputs, outputs): `dx` = dy · Wᵀ, `dWeights` = xᵀ · dy (summed over
 * the batch in the arithmetic type), `dBias` = the column sums of dy (in float64); all stored in
 * `formats.format`, each rounded once; `x` read from `formats.input`, `dy` from
 * `formats.gradient`.
 */
export function affineBackward(
  formats: BackwardFormats,
  tensors: { x: Tensor; dy: Tensor; weights: Tensor; dx: Tensor; dWeights: Tensor; dBias: Tensor },
): void {
  const kernels = requireKernels();
  const { format } = formats;
  const { x, dy, weights, dx, dWeights, dBias } = tensors;
  const [inputs, outputs] = weights.shape;
  const n = x.shape[0];
  const bytes = valueBytes(format);
  withRegions((reserve) => {
    const input = reserve(regionBytes(n * inputs, bytes));
    const inputT = reserve(regionBytes(n * inputs, bytes));
    const inputPacked = reserve(packedBytes(kernels, format, inputs, n));
    const grad = reserve(regionBytes(n * outputs, bytes));
    const gradT = reserve(regionBytes(n * outputs, bytes));
    const gradPacked = reserve(packedBytes(kernels, format, n, outputs));
    const w = reserve(regionBytes(inputs * outputs, bytes));
    const wT = reserve(regionBytes(inputs * outputs, bytes));
    const dxValues = reserve(regionBytes(n * inputs, bytes));
    const dwValues = reserve(regionBytes(inputs * outputs, bytes));
    const dbSum = reserve(outputs * SUM_BYTES);
    const staging = reserveStaging(format, reserve, n * inputs, inputs * outputs, n * outputs);
    const xStaging = inputStaging(formats, staging, reserve, n * inputs);
    const dyStaging = gradientStaging(formats, staging, reserve, n * outputs);
    const dxTables = putTables(rowMajorTables(outputs, inputs, inputs, bytes), reserve);
    const dwTables = putTables(rowMajorTables(n, outputs, outputs, bytes), reserve);

    loadValues(kernels, xStaging, x.data, 0, n * inputs, input);
    loadValues(kernels, dyStaging, dy.data, 0, n * outputs, grad);
    loadValues(kernels, staging, weights.data, 0, inputs * outputs, w);
    // dx (N, inputs) = dy (N, outputs) · Wᵀ (outputs, inputs)
    packA(kernels, format, grad, { m: n, k: outputs }, dxTables.rows, gradPacked);
    kernels.transpose(w, inputs, outputs, wT, bytes);
    gemm(kernels, format, {
      m: n,
      k: outputs,
      a: gradPacked,
      b: wT,
      tables: dxTables,
      c: dxValues,
      ldc: inputs,
      bias: 0,
      accumulate: false,
    });
    storeValues(kernels, staging, dxValues, dx.data, 0, n * inputs);
    // dW (inputs, outputs) = xᵀ (inputs, N) · dy (N, outputs)
    kernels.transpose(input, n, inputs, inputT, bytes);
    packA(kernels, format, inputT, { m: inputs, k: n }, dwTables.rows, inputPacked);
    gemm(kernels, format, {
      m: inputs,
      k: n,
      a: inputPacked,
      b: grad,
      tables: dwTables,
      c: dwValues,
      ldc: outputs,
      bias: 0,
      accumulate: false,
    });
    storeValues(kernels, staging, dwValues, dWeights.data, 0, inputs * outputs);
    // db (outputs) = the row sums of dyᵀ
    kernels.transpose(grad, n, outputs, gradT, bytes);
    const dbTotal = new Float64Array(heap(), dbSum, outputs).fill(0);
    kernels.add_row_sums(gradT, outputs, n, dbSum, bytes);
    dBias.storage.write(dbTotal, 0, dBias.data, 0, outputs);
  });
}
