/**
 * Convolution on the wasm kernels, forward and backward, image by image.
 *
 * Forward: the image widened once to the arithmetic type, padded, multiplied by the packed
 * weights (stride 1 reads the padded image in place; other strides go through an im2col
 * matrix), bias added, each output rounded once.
 *
 * Backward: for stride 1 (DeepConvNet's convolutions), the input gradient is itself a stride-1
 * convolution, of the output gradient padded by the kernel's extent - 1 - pad on each axis,
 * with the weights flipped and their two channel axes swapped, so it runs on the forward code;
 * for other strides it is the GEMM Wᵀ · dy summed back onto the image (col2im). The weight
 * gradient is a GEMM of the output gradient by the taps of the input, read in place from the
 * padded images stored channels-last (no im2col matrix), a group of images at a time, in the
 * arithmetic type; groups are summed in float64, as are the bias gradients, and both are
 * rounded once to the format.
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { type Window, windowWords } from "../_geometry.ts";
import { heap, type Kernels, requireKernels, withRegions } from "./kernels.ts";
import { SUM_BYTES } from "./_layout.ts";
import { gemm, packA, packedBytes, putTables } from "./gemm.ts";
import { channelsLastTables, convTables, rowMajorTables } from "./tables.ts";
import { reluInPlace, reluTable } from "./relu.ts";
import { type ProductQuantization, quantizeInMemory } from "./quantize.ts";
import {
  type BackwardFormats,
  copyOut,
  gradientStaging,
  inputStaging,
  isF64,
  type LayerFormats,
  loadValues,
  narrowValues,
  placeWords,
  regionBytes,
  reserveStaging,
  type Staging,
  storeValues,
  valueBytes,
  type WasmFormat,
  widenValues,
} from "./staging.ts";
import { imagePooler } from "./pool.ts";

/** Most terms of one float32 sum of the weight gradient (see `convBackward`). */
const GROUP_DEPTH = 1024;

/** The geometry of one convolution layer: its window, and the output's height and width. */
export interface ConvGeometry extends Window {
  oh: number;
  ow: number;
}

/** Where a convolution's outputs go, and what follows it; something is stored. */
export interface ConvOutputs {
  /** The convolution's outputs. */
  y?: Tensor;
  /**
   * With it, ReLU applied to them: stored into `relu.y`, pooled into `relu.pool`, and what
   * results (the ReLU's values, or the maxima) read by the convolution `relu.then`.
   */
  relu?: { y?: Tensor; pool?: PooledOutputs; then?: ChainedConv };
}

/** A max pooling's outputs and window (see `poolForward`); `y` unwritten when `store` is false. */
export interface PooledOutputs {
  y: Tensor;
  argmax: Int32Array;
  window: Window;
  store?: boolean;
}

/**
 * A convolution that reads the values the one before it hands on in the memory instead of a
 * tensor: both in one format, not scaled and not rounding stochastically, image by image, the
 * values of the stored elements (a coded format's widened from its codes after the ReLU), so
 * that it reads what it would read from the stored tensor; or both in scaled formats (float32
 * carriers), the whole batch, which `quantization` quantizes once every image is in (its scale
 * may be the batch's).
 */
export interface ChainedConv {
  weights: Tensor;
  bias: Tensor;
  geometry: ConvGeometry;
  outputs: ConvOutputs;
  quantization?: ProductQuantization;
}

/** The weights (row-major, a filter a row) and their bias, in the memory. */
interface Filters {
  /** Output channels: rows of the weights. */
  count: number;
  /** Offset of the weights' values, packed by each convolution with its own tables. */
  values: number;
  /** Offset of the bias values, or 0 for none. */
  bias: number;
}

/**
 * `y` (N, outC, OH, OW) = conv(`x` (N, C, H, W), `weights` (outC, C, kh, kw)) + `bias`,
 * stored in `formats.format`, `x` in `formats.input`; and, with `relu`, the layers after it in
 * the same format computed on each image's stored outputs before they leave the memory (see
 * {@linkcode ConvOutputs}). For a scaled format, `quantization` quantizes the weights and the
 * input batch in the memory first.
 */
export function convForward(
  formats: LayerFormats,
  tensors: { x: Tensor; weights: Tensor; bias: Tensor } & ConvOutputs,
  geometry: ConvGeometry,
  quantization?: ProductQuantization,
): void {
  const { format, input } = formats;
  const kernels = requireKernels();
  withRegions((reserve) => {
    const filters = placeFilters(kernels, format, reserve, tensors, quantization);
    convolve(kernels, format, reserve, filters, tensors, geometry, input, quantization);
  });
}

/** The weights (quantized with `quantization`) and the bias, in the memory. */
function placeFilters(
  kernels: Kernels,
  format: WasmFormat,
  reserve: (bytes: number) => number,
  tensors: { weights: Tensor; bias: Tensor },
  quantization?: ProductQuantization,
): Filters {
  const { weights, bias } = tensors;
  const [outC, channels, kh, kw] = weights.shape;
  const taps = channels * kh * kw;
  const bytes = valueBytes(format);
  const raw = reserve(regionBytes(outC * taps, bytes));
  const b = reserve(regionBytes(outC, bytes));
  const staging = reserveStaging(format, reserve, outC * taps);
  loadValues(kernels, staging, weights.data, 0, outC * taps, raw);
  if (quantization) quantizeInMemory(kernels, quantization, "weights", raw, outC * taps);
  loadValues(kernels, staging, bias.data, 0, outC, b);
  return { count: outC, values: raw, bias: b };
}

/**
 * Given `dy` (N, outC, OH, OW), the gradient at the output of the convolution that read `x`
 * with `weights`: `dx` (x's shape) = the input gradient, `dWeights` and `dBias` = the weight and
 * bias gradients summed over the batch; all stored in `formats.format`, `x` read from
 * `formats.input` and `dy` from `formats.gradient`.
 */
export function convBackward(
  formats: BackwardFormats,
  tensors: { x: Tensor; dy: Tensor; weights: Tensor; dx: Tensor; dWeights: Tensor; dBias: Tensor },
  geometry: ConvGeometry,
): void {
  const { format, gradient } = formats;
  const kernels = requireKernels();
  const { x, dy, weights, dx, dWeights, dBias } = tensors;
  const { kh, kw, sh, sw, ph, pw, oh, ow } = geometry;
  const [n, channels, h, w] = x.shape;
  const outC = weights.shape[0];
  const taps = channels * kh * kw;
  const positions = oh * ow;
  const imageSize = channels * h * w;
  const hp = h + 2 * ph;
  const wp = w + 2 * pw;
  const bytes = valueBytes(format);
  withRegions((reserve) => {
    const raw = reserve(regionBytes(outC * taps, bytes));
    const staging = reserveStaging(format, reserve, outC * taps);
    loadValues(kernels, staging, weights.data, 0, outC * taps, raw);
    // A conv's pad is below its size, so stride 1 always convolves back with a pad >= 0.
    const inputGradient = sh === 1 && sw === 1 ? convolveBack : col2imBack;
    inputGradient(kernels, { format, input: gradient }, reserve, { raw, outC, dy, dx }, geometry);

    // Images go through the weight-gradient GEMM in groups, so that each float32 sum has at
    // least a few hundred terms (a short depth spends more on a tile's setup and store than on
    // its sums) and at most GROUP_DEPTH, or one image's positions.
    const group = Math.max(1, Math.min(n, Math.floor(GROUP_DEPTH / positions)));
    const paddedSize = channels * hp * wp;
    const image = reserve(regionBytes(imageSize, bytes));
    const padded = reserve(paddedSize * bytes);
    const channelsLast = reserve(group * paddedSize * bytes);
    const dyValues = reserve(regionBytes(group * outC * positions, bytes));
    const dyRows = reserve(regionBytes(group * outC * positions, bytes));
    const dyPacked = reserve(packedBytes(kernels, format, outC, group * positions));
    const dwGroup = reserve(regionBytes(outC * taps, bytes));
    const dwSum = reserve(outC * taps * SUM_BYTES);
    const dbSum = reserve(outC * SUM_BYTES);
    const own = reserveStaging(format, reserve, imageSize, group * outC * positions);
    const xStaging = inputStaging(formats, own, reserve, imageSize);
    const dyStaging = gradientStaging(formats, own, reserve, group * outC * positions);
    const tables = putTables(
      channelsLastTables({ channels, hp, wp, kh, kw, oh, ow }, { sh, sw, images: group }, bytes),
      reserve,
    );
    const dwTotal = new Float64Array(heap(), dwSum, outC * taps).fill(0);
    const dbTotal = new Float64Array(heap(), dbSum, outC).fill(0);
    // float64 sums accumulate in the GEMM itself; float32 ones per group, then into float64.
    const f64Sums = bytes === 8;
    for (let first = 0; first < n; first += group) {
      const images = Math.min(group, n - first);
      for (let g = 0; g < images; g++) {
        const start = (first + g) * imageSize;
        loadValues(kernels, xStaging, x.data, start, imageSize, image);
        kernels.pad_image(image, channels, h, w, ph, pw, padded, bytes);
        const at = channelsLast + g * paddedSize * bytes;
        kernels.transpose(padded, channels, hp * wp, at, bytes);
      }
      const count = images * outC * positions;
      loadValues(kernels, dyStaging, dy.data, first * outC * positions, count, dyValues);
      // (images, outC, P) to (outC, images·P): every filter's gradients, image after image
      kernels.transpose(dyValues, images, outC, dyRows, positions * bytes);
      packA(kernels, format, dyRows, { m: outC, k: images * positions }, tables.rows, dyPacked);
      // dW (outC, kh, kw, C) (+)= dy (outC, images·P) · taps (images·P, kh·kw·C)
      gemm(kernels, format, {
        m: outC,
        k: images * positions,
        a: dyPacked,
        b: channelsLast,
        tables,
        c: f64Sums ? dwSum : dwGroup,
        ldc: taps,
        bias: 0,
        accumulate: f64Sums,
      });
      if (!f64Sums) kernels.add_f32_to_f64(dwGroup, dwSum, outC * taps);
      kernels.add_row_sums(dyRows, outC, images * positions, dbSum, bytes);
    }
    // (outC, kh, kw, C) to the weights' layout (outC, C, kh, kw)
    const dw = new Float64Array(outC * taps);
    const area = kh * kw;
    for (let o = 0; o < outC; o++) {
      for (let t = 0; t < area; t++) {
        const src = (o * area + t) * channels; // seek to tap t of filter o
        for (let c = 0; c < channels; c++) dw[(o * channels + c) * area + t] = dwTotal[src + c];
      }
    }
    dWeights.storage.write(dw, 0, dWeights.data, 0, outC * taps);
    dBias.storage.write(dbTotal, 0, dBias.data, 0, outC);
  });
}

/** What the input gradient needs: the weights' values in the memory, dy and dx. */
interface InputGradient {
  /** Offset of the weights' values (outC, C, kh, kw). */
  raw: number;
  /** Output channels. */
  outC: number;
  dy: Tensor;
  dx: Tensor;
}

/**
 * dx for stride 1: the stride-1 convolution of dy, padded by kh - 1 - ph rows and kw - 1 - pw
 * columns,
 * with the weights rotated by 180 degrees and their channel axes swapped, on the forward code.
 */
function convolveBack(
  kernels: Kernels,
  formats: LayerFormats,
  reserve: (bytes: number) => number,
  operands: InputGradient,
  geometry: ConvGeometry,
): void {
  const { format, input } = formats;
  const { raw, outC, dy, dx } = operands;
  const { kh, kw, ph, pw } = geometry;
  const [, channels, h, w] = dx.shape;
  const area = kh * kw;
  const count = outC * channels * area;
  const bytes = valueBytes(format);
  const flipped = reserve(regionBytes(count, bytes));
  const Values = bytes === 8 ? Float64Array : Float32Array;
  const from = new Values(heap(), raw, count);
  const to = new Values(heap(), flipped, count);
  for (let o = 0; o < outC; o++) {
    for (let c = 0; c < channels; c++) {
      const src = (o * channels + c) * area; // seek to W[o][c]; it goes to W'[c][o], rotated
      const dst = (c * outC + o) * area;
      for (let t = 0; t < area; t++) to[dst + area - 1 - t] = from[src + t];
    }
  }
  const [top, left] = [kh - 1 - ph, kw - 1 - pw];
  const back = { kh, kw, sh: 1, sw: 1, ph: top, pw: left, pb: top, pr: left, oh: h, ow: w };
  const filters = { count: channels, values: flipped, bias: 0 };
  convolve(kernels, format, reserve, filters, { x: dy, y: dx }, back, input);
}

/**
 * dx for any geometry, image by image: the im2col matrix's gradient Wᵀ (C·kh·kw, outC) ·
 * dy (outC, P), summed back onto the image by col2im.
 */
function col2imBack(
  kernels: Kernels,
  formats: LayerFormats,
  reserve: (bytes: number) => number,
  operands: InputGradient,
  geometry: ConvGeometry,
): void {
  const { format } = formats;
  const { raw, outC, dy, dx } = operands;
  const { kh, kw, oh, ow } = geometry;
  const [n, channels, h, w] = dx.shape;
  const taps = channels * kh * kw;
  const positions = oh * ow;
  const imageSize = channels * h * w;
  const bytes = valueBytes(format);
  const transposed = reserve(regionBytes(outC * taps, bytes));
  const packed = reserve(packedBytes(kernels, format, taps, outC));
  const grad = reserve(regionBytes(outC * positions, bytes));
  const col = reserve(regionBytes(taps * positions, bytes));
  const image = reserve(regionBytes(imageSize, bytes));
  const staging = reserveStaging(format, reserve, outC * positions, imageSize);
  const dyStaging = inputStaging(formats, staging, reserve, outC * positions);
  const tables = putTables(rowMajorTables(outC, positions, positions, bytes), reserve);
  kernels.transpose(raw, outC, taps, transposed, bytes);
  packA(kernels, format, transposed, { m: taps, k: outC }, tables.rows, packed);
  const col2im = isF64(format) ? kernels.col2im_f64 : kernels.col2im_f32;
  const win = placeWords(reserve, windowWords(geometry));
  for (let i = 0; i < n; i++) {
    loadValues(kernels, dyStaging, dy.data, i * outC * positions, outC * positions, grad);
    // dcol (K, P) = Wᵀ (K, outC) · dy (outC, P)
    gemm(kernels, format, {
      m: taps,
      k: outC,
      a: packed,
      b: grad,
      tables,
      c: col,
      ldc: positions,
      bias: 0,
      accumulate: false,
    });
    col2im(col, channels, h, w, win, oh, ow, image);
    storeValues(kernels, staging, image, dx.data, i * imageSize, imageSize);
  }
}

/**
 * `y` = conv(`x`) with filters already in the memory, image by image, in `format`, `x` stored
 * in `input`, and the layers after it as `tensors` says (see {@linkcode ConvOutputs}); the
 * regions it needs come from `reserve`. With `quantization`, the whole batch is loaded and
 * quantized first (a per-tensor scale needs all of it), and each image is read where it lies.
 */
function convolve(
  kernels: Kernels,
  format: WasmFormat,
  reserve: (bytes: number) => number,
  filters: Filters,
  tensors: { x: Tensor } & ConvOutputs,
  geometry: ConvGeometry,
  input: WasmFormat = format,
  quantization?: ProductQuantization,
): void {
  const { x } = tensors;
  const [n, channels, h, w] = x.shape;
  const imageSize = channels * h * w;
  const bytes = valueBytes(format);
  // The input's values: an image at a time, or the whole batch to quantize.
  const loaded = quantization ? x.size : imageSize;
  const values = reserve(regionBytes(loaded, bytes));
  const outputs = filters.count * geometry.oh * geometry.ow;
  const staging = reserveStaging(format, reserve, loaded, outputs);
  const from = inputStaging({ format, input }, staging, reserve, loaded);
  const shaped = { ...tensors, shape: x.shape };
  const convolveImage = imageConvolver(
    kernels,
    format,
    reserve,
    filters,
    shaped,
    geometry,
    staging,
  );
  if (quantization) {
    loadValues(kernels, from, x.data, 0, x.size, values);
    return convolveBatch(kernels, quantization, values, x.shape, bytes, convolveImage);
  }
  for (let i = 0; i < n; i++) {
    loadValues(kernels, from, x.data, i * imageSize, imageSize, values);
    convolveImage(values, i);
  }
}

/**
 * Quantizes the batch of `shape` whose values are at `values` in the memory, then convolves
 * it image by image with `convolveImage`, each image read where it lies.
 */
function convolveBatch(
  kernels: Kernels,
  quantization: ProductQuantization,
  values: number,
  shape: readonly number[],
  bytes: number,
  convolveImage: (source: number, i: number) => void,
): void {
  const [n, ...image] = shape;
  const imageSize = image.reduce((a, b) => a * b, 1);
  quantizeInMemory(kernels, quantization, "activations", values, n * imageSize);
  for (let i = 0; i < n; i++) convolveImage(values + i * imageSize * bytes, i);
}

/**
 * The work of a convolution on one image of `tensors.shape` whose values are in the memory:
 * returns the function that convolves image `i` from its values at `source` and stores or hands
 * on what follows as `tensors` says (see {@linkcode ConvOutputs}), narrowing through `staging`.
 */
function imageConvolver(
  kernels: Kernels,
  format: WasmFormat,
  reserve: (bytes: number) => number,
  filters: Filters,
  tensors: { shape: readonly number[] } & ConvOutputs,
  geometry: ConvGeometry,
  staging: Staging,
): (source: number, i: number) => void {
  const { shape, y, relu } = tensors;
  const { kh, kw, sh, sw, ph, pw, oh, ow } = geometry;
  const [n, channels, h, w] = shape;
  const outC = filters.count;
  const taps = channels * kh * kw;
  const hp = h + 2 * ph;
  const wp = w + 2 * pw;
  const unit = sh === 1 && sw === 1;
  const positions = oh * ow;
  const bytes = valueBytes(format);
  const tables = unit
    ? convTables({ channels, hp, wp, kh, kw, oh, ow }, bytes)
    : rowMajorTables(taps, positions, positions, bytes);
  const padded = reserve(channels * hp * wp * bytes);
  const col = unit ? padded : reserve(regionBytes(taps * positions, bytes));
  const own = reserve(regionBytes(outC * positions, bytes));
  const placed = putTables(tables, reserve);
  const packed = reserve(packedBytes(kernels, format, outC, taps));
  packA(kernels, format, filters.values, { m: outC, k: taps }, placed.rows, packed);
  const reluCodes = relu ? reluTable(reserve, format) : 0;
  const pool = relu?.pool;
  const poolImage = pool &&
    imagePooler(
      staging,
      reserve,
      { x: { shape: [n, outC, oh, ow] }, ...pool },
      pool.window,
      pool.store,
    );
  const then = relu?.then;
  if (then && format.stream) {
    throw new TypeError(`Cannot chain convolutions in ${format.name}: it rounds stochastically`);
  }
  const handed = pool?.y.shape ?? [n, outC, oh, ow];
  const quantization = then?.quantization;
  const batch = quantization &&
    batchConvolver(kernels, format, reserve, then, quantization, handed);
  const next = then && !quantization
    ? chainedConvolver(kernels, format, reserve, then, handed)
    : undefined;
  const count = outC * positions;
  return (source, i) => {
    // Handing the batch on, the last layer writes each image where the next one reads it.
    const into = batch?.at(i);
    const out = into !== undefined && !poolImage ? into : own;
    kernels.pad_image(source, channels, h, w, ph, pw, padded, bytes);
    if (!unit) {
      kernels.im2col(padded, channels, hp, wp, kh, kw, sh, sw, oh, ow, col, positions, bytes);
    }
    gemm(kernels, format, {
      m: outC,
      k: taps,
      a: packed,
      b: col,
      tables: placed,
      c: out,
      ldc: positions,
      bias: filters.bias,
      accumulate: false,
    });
    const stored = narrowValues(kernels, staging, out, count);
    if (y) copyOut(format, stored, y.data, i * count, count);
    if (!relu) return;
    // The ReLU layer's own operation on the stored elements, while they are in the cache.
    reluInPlace(kernels, format, stored, count, reluCodes);
    if (relu.y) copyOut(format, stored, relu.y.data, i * count, count);
    if (!poolImage && !next && !batch) return;
    // What the pooling or the next convolution reads: the values of the stored elements, which
    // a coded format's ReLU changed as codes (f32 and f64 elements are already the values).
    widenValues(kernels, staging, count, out);
    // The pooling layer's, on those values (exact: the maxima are stored).
    const values = poolImage ? poolImage(out, i, into) : out;
    next?.(values, i);
    if (i === n - 1) batch?.convolve();
  };
}

/**
 * {@linkcode imageConvolver} for a convolution in a chain (see {@linkcode ChainedConv}), its
 * weights quantized with `quantization` when it is scaled.
 */
function chainedConvolver(
  kernels: Kernels,
  format: WasmFormat,
  reserve: (bytes: number) => number,
  chained: ChainedConv,
  shape: readonly number[],
  quantization?: ProductQuantization,
): (source: number, i: number) => void {
  const filters = placeFilters(kernels, format, reserve, chained, quantization);
  const { oh, ow } = chained.geometry;
  const staging = reserveStaging(format, reserve, filters.count * oh * ow);
  const tensors = { ...chained.outputs, shape };
  return imageConvolver(kernels, format, reserve, filters, tensors, chained.geometry, staging);
}

/**
 * A scaled convolution in a chain (see {@linkcode ChainedConv}), reading the batch of `shape`
 * the one before it hands on: where image `i` goes in the memory, and the function that
 * quantizes and convolves the batch once every image is in.
 */
function batchConvolver(
  kernels: Kernels,
  format: WasmFormat,
  reserve: (bytes: number) => number,
  chained: ChainedConv,
  quantization: ProductQuantization,
  shape: readonly number[],
): { at: (i: number) => number; convolve: () => void } {
  const [n, channels, h, w] = shape;
  const bytes = valueBytes(format);
  const imageBytes = channels * h * w * bytes;
  const values = reserve(regionBytes(n * channels * h * w, bytes));
  const convolveImage = chainedConvolver(kernels, format, reserve, chained, shape, quantization);
  return {
    at: (i) => values + i * imageBytes,
    convolve: () => convolveBatch(kernels, quantization, values, shape, bytes, convolveImage),
  };
}
