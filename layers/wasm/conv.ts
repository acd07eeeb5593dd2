/**
 * Convolution forward on the wasm kernels, image by image: the image widened once to the
 * arithmetic type, padded, multiplied by the packed weights (stride 1 reads the padded image
 * in place; other strides go through an im2col matrix), bias added, each output rounded once.
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { requireKernels, withRegions } from "./kernels.ts";
import { gemm, halfLanes, putTables } from "./gemm.ts";
import { convTables, rowMajorTables } from "./tables.ts";
import {
  loadValues,
  regionBytes,
  stagingBytes,
  storeValues,
  valueBytes,
  type WasmFormat,
} from "./staging.ts";

/** The geometry of one convolution layer. */
export interface ConvGeometry {
  /** Kernel side, step and zero border. */
  size: number;
  stride: number;
  pad: number;
  /** Output height and width. */
  oh: number;
  ow: number;
}

/**
 * `y` (N, outC, OH, OW) = conv(`x` (N, C, H, W), `weights` (outC, C, size, size)) + `bias`,
 * all stored in `format`.
 */
export function convForward(
  format: WasmFormat,
  tensors: { x: Tensor; weights: Tensor; bias: Tensor; y: Tensor },
  geometry: ConvGeometry,
): void {
  const kernels = requireKernels();
  const { x, weights, bias, y } = tensors;
  const { size, stride, pad, oh, ow } = geometry;
  const [n, channels, h, w] = x.shape;
  const outC = weights.shape[0];
  const taps = channels * size * size;
  const hp = h + 2 * pad;
  const wp = w + 2 * pad;
  const positions = oh * ow;
  const imageSize = channels * h * w;
  const bytes = valueBytes(format);
  const tables = stride === 1
    ? convTables({ channels, hp, wp, size, oh, ow }, halfLanes(format), bytes)
    : rowMajorTables(taps, positions, positions, halfLanes(format), bytes);
  withRegions((reserve) => {
    const raw = reserve(regionBytes(outC * taps, bytes));
    const packed = reserve(Math.ceil(outC / 4) * 4 * taps * bytes);
    const b = reserve(regionBytes(outC, bytes));
    const image = reserve(regionBytes(imageSize, bytes));
    const padded = reserve(channels * hp * wp * bytes + 64);
    const col = stride === 1 ? padded : reserve(regionBytes(taps * positions, bytes));
    const out = reserve(regionBytes(outC * positions, bytes));
    const staging = reserve(
      Math.max(...[outC * taps, imageSize, outC * positions].map((c) => stagingBytes(format, c))),
    );
    const placed = putTables(tables, reserve);

    loadValues(kernels, format, weights.data, 0, outC * taps, staging, raw);
    kernels.pack_a(raw, outC, taps, packed, bytes);
    loadValues(kernels, format, bias.data, 0, outC, staging, b);
    for (let i = 0; i < n; i++) {
      loadValues(kernels, format, x.data, i * imageSize, imageSize, staging, image);
      kernels.pad_image(image, channels, h, w, pad, padded, bytes, 64);
      if (stride !== 1) {
        kernels.im2col(padded, channels, hp, wp, size, stride, oh, ow, col, positions, bytes);
      }
      gemm(kernels, format, {
        m: outC,
        k: taps,
        a: packed,
        b: col,
        tables: placed,
        c: out,
        ldc: positions,
        bias: b,
        accumulate: false,
      });
      storeValues(kernels, format, out, staging, y.data, i * outC * positions, outC * positions);
    }
  });
}
