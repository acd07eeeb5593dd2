/**
 * 2-D convolution (cross-correlation, as in every deep learning framework) over NCHW input.
 *
 * Precision on the TypeScript path (the reference): each output is a float64 dot product over
 * the widened input and weights, plus the bias, rounded once to the storage format. On the wasm
 * path (the `kernels` option), whatever format the input is stored in: f64 storage computes the
 * same float64 dot product (the terms summed in the same order, the relaxed-SIMD build fusing
 * each multiply-add) on the input widened exactly to float64; every other format widens input
 * and weights to float32 (exactly; an f64 input is rounded to float32), accumulates the dot product and adds the bias in float32, and rounds that
 * float32 once to the storage format (nothing to round for f32). Gradients on the TypeScript
 * path are float64 sums (over the batch too), each rounded once to the format. On the wasm path
 * (when input, output gradient and layer share a format) the input gradient and the weight
 * gradient of each group of images (at most 1024 terms, or one image) are float32 sums (float64
 * for f64 storage) of the exactly widened values; the groups' weight gradients and the bias
 * gradient are summed in float64, and every result is rounded once to the format.
 *
 * @module
 */
import { checkShape, copyParams, type FusedOutputs, type Layer, requireInput } from "./layer.ts";
import { Relu } from "./relu.ts";
import { Pool } from "./pool.ts";
import type { Storage } from "./storage/storage.ts";
import { f64 } from "./storage/f64.ts";
import { Tensor } from "./tensor.ts";
import { reuse, Scratch } from "./_scratch.ts";
import { outputExtents, type Window, windowAsymmetry, windowOf } from "./_geometry.ts";
import {
  allFinite,
  identity,
  matmul,
  matmulRounded,
  multiplySparse,
  packedLength,
  packRows,
  type SparseColumns,
  sparseColumns,
} from "./_matmul.ts";
import { type Arithmetic, type KernelPath, kernelPath } from "./kernel_path.ts";
import { checkedAccumulator } from "./_accumulator.ts";
import {
  backwardFormats,
  boundaryFormats,
  type LayerFormats,
  productArithmetic,
  productFormat,
} from "./wasm/staging.ts";
import { convBackward, convForward, type ConvOutputs } from "./wasm/conv.ts";
import { matmulRoundedWasm, wasmAccumulator } from "./wasm/rounded_sums.ts";
import { f32 } from "./storage/f32.ts";
import type { ScaledCounts } from "./storage/mx.ts";
import { type OperandLayout, scaledSchemeOf } from "./storage/scaled.ts";
import {
  kernelOperands,
  productQuantization,
  quantized,
  scaledBackward,
  scaledForward,
  type ScaledOperands,
} from "./_scaled_operands.ts";

/** What a convolution's fused pass runs (see `Conv.forwardWith`). */
interface Fusion {
  formats: LayerFormats;
  outputs: ConvOutputs;
  /** Layers of the following ones it computes. */
  count: number;
  /** The tensors it writes, in order. */
  tensors: Tensor[];
  /** The convolution's output shape. */
  shape: number[];
}

/**
 * Options of {@linkcode Conv}: a square kernel, or a rectangular one with `kernelWidth` (and a
 * step and border across of their own with `strideWidth` and `padWidth`).
 */
export interface ConvOptions {
  /** Channels of the input. */
  inChannels: number;
  /** Channels of the output (the number of filters). */
  outChannels: number;
  /** Side of the square kernel (its height, with `kernelWidth`). */
  kernel: number;
  /** Step between kernel positions (down, with `strideWidth`). @default {1} */
  stride?: number;
  /** Zeros added on every side of the input (above and below, with `padWidth`). @default {0} */
  pad?: number;
  /** Columns of the kernel. @default {kernel} */
  kernelWidth?: number;
  /** Step between kernel positions across. @default {stride} */
  strideWidth?: number;
  /** Zeros added left and right. @default {pad} */
  padWidth?: number;
  /** Format of weights, gradients and output. @default {f64} */
  storage?: Storage;
  /**
   * Round every partial sum of the forward products to this format (each step a fused
   * multiply-add rounded once), as an accumulator of that width does; the bias is added and
   * rounded likewise (on the wasm path in wasm, to the same sums). A scaled format is refused:
   * its scale comes from a block or a tensor, not from one sum.
   * Without it, sums are float64 (TypeScript path) or as the wasm path computes them. Backward
   * passes ignore it (see the precision note of the module).
   */
  accumulator?: Storage;
  /**
   * For a scaled storage format with per-tensor activation scales (`int8`, `e4m3-tensor`,
   * `nvfp4`…): the calibrated amax of the input, a static scale. Without it the scale is
   * dynamic, from the amax of the batch being computed.
   */
  activationAmax?: number;
  /** The code that computes it (see {@linkcode kernelPath}). @default {defaultKernelPath()} */
  kernels?: KernelPath;
}

/**
 * Convolution with weights `W` (outChannels, inChannels, kernel, kernelWidth) and bias `b`
 * (outChannels), computed per image as im2col followed by a matrix multiply.
 *
 * @example A 2x2 kernel of ones sums each window
 * ```ts
 * import { Conv, tensor } from "@halfprec/halfprec/layers";
 * import assert from "node:assert/strict";
 *
 * const conv = new Conv({ inChannels: 1, outChannels: 1, kernel: 2 });
 * conv.params.W.set([1, 1, 1, 1]);
 * const y = conv.forward(tensor([1, 1, 2, 3], [1, 2, 3, 4, 5, 6]));
 * assert.deepEqual(y.shape, [1, 1, 1, 2]);
 * assert.deepEqual([...y.toFloat64()], [12, 16]);
 * ```
 */
export class Conv implements Layer {
  readonly kind = "conv";
  name = "conv";
  readonly storage: Storage;
  /** The format partial sums are rounded to, when there is one (see the options). */
  readonly accumulator?: Storage;
  readonly kernels: KernelPath;
  readonly params: { readonly W: Tensor; readonly b: Tensor };
  readonly grads: { readonly W: Tensor; readonly b: Tensor };
  readonly fanIn: number;
  /** The options this layer was made with, defaults filled in. */
  readonly options:
    & Required<Pick<ConvOptions, "inChannels" | "outChannels" | "kernel" | "stride" | "pad">>
    & Pick<ConvOptions, "kernelWidth" | "strideWidth" | "padWidth" | "activationAmax">;
  readonly #window: Window;
  /** The float32 layer a scaled format computes with, on the quantized operands. */
  #twin?: Conv;
  /** Whether the last forward pass ran on the twin (see {@linkcode Conv.forward}). */
  #onTwin = false;
  readonly #work = new Scratch();
  #input?: Tensor;
  #output?: Tensor;
  #dx?: Tensor;

  /** A convolution with zero weights; load or initialise them before use. */
  constructor(options: ConvOptions) {
    const { inChannels, outChannels, kernel, stride = 1, pad = 0 } = options;
    if (
      !(Number.isInteger(inChannels) && inChannels > 0 && Number.isInteger(outChannels) &&
        outChannels > 0)
    ) {
      throw new RangeError(
        `Cannot make conv: channels ${inChannels} -> ${outChannels}, expected positive integers`,
      );
    }
    const { kernelWidth, strideWidth, padWidth } = options; // a border the same on both sides
    this.#window = windowOf("conv", {
      size: kernel,
      stride,
      pad,
      kernelWidth,
      strideWidth,
      padWidth,
    });
    const { activationAmax } = options;
    this.options = {
      inChannels,
      outChannels,
      kernel,
      stride,
      pad,
      ...windowAsymmetry(this.#window),
      ...(activationAmax !== undefined && { activationAmax }),
    };
    this.storage = options.storage ?? f64;
    this.accumulator = checkedAccumulator(options.accumulator, "conv");
    this.kernels = kernelPath(options.kernels);
    const { kh, kw } = this.#window;
    const wShape = [outChannels, inChannels, kh, kw];
    this.params = {
      W: new Tensor(this.storage, wShape),
      b: new Tensor(this.storage, [outChannels]),
    };
    this.grads = {
      W: new Tensor(this.storage, wShape),
      b: new Tensor(this.storage, [outChannels]),
    };
    this.fanIn = inChannels * kh * kw;
  }

  /** Input (N, inChannels, H, W) to output (N, outChannels, OH, OW). */
  outputShape(inputShape: readonly number[]): number[] {
    checkShape(this, "input", inputShape, [
      undefined,
      this.options.inChannels,
      undefined,
      undefined,
    ]);
    const [n, , h, w] = inputShape;
    return [n, this.options.outChannels, ...outputExtents(this, this.#window, h, w)];
  }

  /**
   * The input `x` and the weights as a scaled storage format's products read them: quantized
   * in blocks along the input channels (at each position, and of each filter at each tap), or
   * per tensor or output channel; undefined for other formats. `counts` tallies what
   * quantization did.
   *
   * @example MXFP4 operands
   * ```ts
   * import { Conv, storageByName, tensor } from "@halfprec/halfprec/layers";
   * import assert from "node:assert/strict";
   * const conv = new Conv({ inChannels: 1, outChannels: 1, kernel: 1, storage: storageByName("mxfp4") });
   * conv.params.W.set([0.7]);
   * const { input, weights } = conv.scaledOperands(tensor([1, 1, 1, 2], [5, 0.3]))!;
   * assert.deepEqual([...input], [4, 0.25]); // one channel: a block per value
   * assert.equal(weights[0], 0.75);
   * ```
   */
  scaledOperands(x: Tensor, counts?: ScaledCounts): ScaledOperands | undefined {
    const scheme = scaledSchemeOf(this.storage);
    if (!scheme) return undefined;
    return {
      input: quantized(scheme, x, this.#inputLayout(x.shape), "activations", {
        amax: this.options.activationAmax,
        counts,
        path: this.kernels,
      }),
      weights: this.scaledWeights(counts)!,
    };
  }

  /**
   * The weights as a scaled storage format's products read them (see
   * {@linkcode Conv.scaledOperands}); undefined for other formats.
   */
  scaledWeights(counts?: ScaledCounts): Float32Array | undefined {
    const scheme = scaledSchemeOf(this.storage);
    if (!scheme) return undefined;
    return quantized(scheme, this.params.W, this.#weightsLayout(), "weights", {
      counts,
      path: this.kernels,
    });
  }

  /** An input's layout for quantization: blocks along the channels, at each position. */
  #inputLayout([n, c, h, w]: readonly number[]): OperandLayout {
    return { outer: n, length: c, inner: h * w, channels: "outer" };
  }

  /** The weights' layout for quantization: blocks along the input channels, at each tap. */
  #weightsLayout(): OperandLayout {
    const { inChannels, outChannels } = this.options;
    const taps = this.#window.kh * this.#window.kw;
    return { outer: outChannels, length: inChannels, inner: taps, channels: "outer" };
  }

  /**
   * Convolves every image of the batch. In a scaled format, an inference pass on the wasm
   * kernels quantizes the operands in the kernels' memory; a training pass computes on the
   * float32 twin, which keeps the quantized operands for the backward pass.
   */
  forward(x: Tensor, train = false): Tensor {
    const [n, outC, oh, ow] = this.outputShape(x.shape);
    this.#input = x;
    const scheme = scaledSchemeOf(this.storage);
    const format = this.#forwardFormat(x.storage);
    this.#onTwin = scheme !== undefined && (train || !format);
    if (this.#onTwin) return this.#forwardOnTwin(x);
    const y = this.#output = reuse(this.#output, this.storage, [n, outC, oh, ow]);
    if (format) {
      this.#forwardOnKernels(format, x, { y });
      return y;
    }
    const work = this.#work;
    const weights = work.widen(this.params.W, "conv weights"); // (outC, K), K = inC * kh * kw
    const bias = work.widen(this.params.b, "conv bias");
    const round = this.accumulator?.round ?? identity;
    const imageSize = x.size / n;
    const positions = oh * ow;
    const dims = { m: outC, n: positions, k: this.fanIn };
    const image = work.floats("conv image", imageSize);
    const out = work.floats("conv out", outC * positions);
    // The float64 product packs the weights once per batch and writes each image's patches
    // as sparse columns directly; an accumulator's step-by-step rounding reads plain matrices.
    const packedWeights = work.floats("conv weights packed", packedLength(outC, this.fanIn));
    packRows(weights, outC, this.fanIn, this.fanIn, 1, packedWeights);
    const patches = sparseColumns(work, "conv patches", positions, this.fanIn);
    const skipZeros = allFinite(weights);
    for (let i = 0; i < n; i++) {
      x.storage.read(x.data, i * imageSize, image, 0, imageSize);
      if (this.accumulator) {
        const col = work.floats("conv col", this.fanIn * positions);
        this.#im2col(image, x.shape, oh, ow, col);
        const sums = wasmAccumulator(this.kernels, this.accumulator);
        if (sums) matmulRoundedWasm(out, weights, col, dims, sums);
        else matmulRounded(out, weights, col, dims, round);
      } else {
        this.#patches(image, x.shape, oh, ow, patches, skipZeros);
        multiplySparse(out, packedWeights, patches, dims);
      }
      for (let o = 0; o < outC; o++) {
        for (let j = o * positions; j < (o + 1) * positions; j++) out[j] = round(out[j] + bias[o]);
      }
      this.storage.write(out, 0, y.data, i * outC * positions, outC * positions);
    }
    return y;
  }

  /**
   * The convolution and the layers after it in one pass (see {@linkcode Layer.forwardWith})
   * when `following` starts with a ReLU storing in this layer's format (after a scaled format,
   * in f32 or any scaled format: float32 values alike), and then, if a max pooling of the
   * ReLU's format follows, that too; all on the wasm kernels. Each image's stored outputs go
   * through the ReLU layer's own kernel in the kernels' memory before they are copied out, and
   * the pooling's kernel reads them there: this saves each of them a pass over the batch, with
   * its copy into the memory and back. What comes out goes on, image by image in the memory,
   * into a next convolution of the format and the layers it takes in after it, and so on: the
   * values of the stored elements (a coded format's widened from its codes), as the next
   * convolution would read them from the tensor; in a scaled format, whose scale may be the
   * batch's, the whole batch into a next scaled convolution once every image is in; not in a
   * stochastic one (whose layers draw from one stream in turn). Without `keep`,
   * only the last output is written (nothing reads the others; the backward pass of a layer
   * whose input was not written asks for a forward first).
   *
   * @example The same elements as the two layers one by one
   * ```ts
   * import { Conv, f16, Relu, Tensor } from "@halfprec/halfprec/layers";
   * import assert from "node:assert/strict";
   * const conv = new Conv({ inChannels: 1, outChannels: 2, kernel: 2, storage: f16, kernels: "wasm" });
   * conv.params.W.set([1, -2, 3, -4, -1, 2, -3, 4]);
   * const relu = new Relu({ storage: f16, kernels: "wasm" });
   * const x = Tensor.from(f16, [1, 1, 3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]);
   * const apart = [...relu.forward(conv.forward(x)).toFloat64()];
   * const fused = conv.forwardWith(x, [relu], false);
   * assert.deepEqual([...fused!.outputs[0].toFloat64()], apart);
   * assert.deepEqual(apart, [0, 0, 0, 0, 11, 13, 17, 19]);
   * ```
   */
  forwardWith(x: Tensor, following: readonly Layer[], keep: boolean): FusedOutputs | undefined {
    const fusion = this.#fuse(x, following, keep);
    if (!fusion) return undefined;
    this.#forwardOnKernels(fusion.formats, x, fusion.outputs);
    return { fused: fusion.count, outputs: fusion.tensors };
  }

  /**
   * What {@linkcode Conv.forwardWith} runs from this convolution on `x`: its formats, the
   * outputs for the kernels, how many of `following` it computes and the tensors it writes
   * (every layer's with `keep`, else the last one's); undefined when `following` does not
   * start with a ReLU it can take in. Records every layer's input and output as their forward
   * passes do; a layer whose input is left unwritten gets none, so that its backward asks for
   * a forward first.
   */
  #fuse(x: Tensor, following: readonly Layer[], keep: boolean): Fusion | undefined {
    const [relu, pool] = following;
    if (!(relu instanceof Relu)) return undefined;
    const formats = this.#forwardFormat(x.storage);
    const after = boundaryFormats(relu.kernels, relu.storage, this.storage);
    // A scaled format's outputs are float32 values, which a ReLU on float32 carriers (f32, or
    // any scaled format) reads as they are.
    const scaled = scaledSchemeOf(this.storage);
    const same = scaled
      ? after?.format.carrier === "f32"
      : after?.format.name === formats?.format.name;
    if (!formats || !same) return undefined;
    const shape = this.outputShape(x.shape);
    this.#input = x;
    this.#onTwin = false;
    const own = keep ? this.#output = reuse(this.#output, this.storage, shape) : undefined;
    const reluOut = relu.fusedOutput(shape, own);
    const pooled = pool instanceof Pool && pool.fusesAfter(relu.storage) ? pool : undefined;
    const pooling = pooled &&
      { ...pooled.fusedOutput(reluOut), window: windowOf("pool", pooled.options) };
    const handed = pooling?.y ?? reluOut;
    // The values of the stored elements go on into a convolution of the format in the memory,
    // image by image (a scaled format's as a batch), instead of through a tensor; not a
    // stochastic format's, whose layers draw from one stream a layer's whole batch after another.
    const [next, ...rest] = following.slice(pooling ? 2 : 1);
    const chained = next instanceof Conv && !formats.format.stream &&
        next.#chainsAfter(handed.storage, formats, !!scaled)
      ? next
      : undefined;
    const chain = chained ? chained.#fuse(handed, rest, keep) : undefined;
    if (chained && chain && !keep) chained.#input = undefined;
    const reluStored = keep || (!pooling && !chain);
    if (!reluStored) relu.fusedAway();
    const poolStored = keep || !chain;
    const scheme = chained && scaledSchemeOf(chained.storage);
    const then = chained && chain && {
      weights: chained.params.W,
      bias: chained.params.b,
      geometry: { ...chained.#window, oh: chain.shape[2], ow: chain.shape[3] },
      outputs: chain.outputs,
      ...(scheme && {
        quantization: productQuantization(scheme, chained.#layouts(handed.shape), chained.options),
      }),
    };
    const reluOutputs = {
      ...(reluStored ? { y: reluOut } : {}),
      pool: pooling && { ...pooling, store: poolStored },
      then,
    };
    const tensors = [
      ...(own ? [own] : []),
      ...(reluStored ? [reluOut] : []),
      ...(pooling && poolStored ? [pooling.y] : []),
      ...(chain?.tensors ?? []),
    ];
    const count = (pooling ? 2 : 1) + (chain ? 1 + chain.count : 0);
    return { formats, outputs: { y: own, relu: reluOutputs }, count, tensors, shape };
  }

  /**
   * Whether this convolution can read the values a convolution of `formats` hands on in the
   * memory, stored in `input`, on the wasm kernels: in the same format, image by image; or,
   * after one in a scaled format (`scaled`), in a scaled format too (whose input is the float32
   * values handed on), the whole batch (see {@linkcode ChainedConv}).
   */
  #chainsAfter(input: Storage, formats: LayerFormats, scaled: boolean): boolean {
    const own = this.#forwardFormat(input);
    if (!own || scaled !== (scaledSchemeOf(this.storage) !== undefined)) return false;
    const { name } = formats.format;
    return scaled || (own.format.name === name && own.input.name === name);
  }

  /** The layouts of the operands of an input of `shape`, for quantization. */
  #layouts(shape: readonly number[]): { input: OperandLayout; weights: OperandLayout } {
    return { input: this.#inputLayout(shape), weights: this.#weightsLayout() };
  }

  /**
   * The forward pass of `x` on the wasm kernels into `outputs`; in a scaled format, the
   * kernels quantize the operands in their memory first.
   */
  #forwardOnKernels(formats: LayerFormats, x: Tensor, outputs: ConvOutputs): void {
    const { W, b } = this.params;
    const [, , oh, ow] = this.outputShape(x.shape);
    const geometry = { ...this.#window, oh, ow };
    const scheme = scaledSchemeOf(this.storage);
    if (!scheme) return convForward(formats, { x, weights: W, bias: b, ...outputs }, geometry);
    const { input, quantization } = kernelOperands(scheme, x, this.#layouts(x.shape), this.options);
    convForward(formats, { x: input, weights: W, bias: b, ...outputs }, geometry, quantization);
  }

  /** Fills `grads.W`, `grads.b` (summed over the batch) and returns the input gradient. */
  backward(dout: Tensor): Tensor {
    const x = requireInput(this, this.#input);
    const [n, outC, oh, ow] = this.outputShape(x.shape);
    checkShape(this, "output gradient", dout.shape, [n, outC, oh, ow]);
    if (scaledSchemeOf(this.storage)) {
      // After an inference pass, the operands were quantized in the kernels' memory only.
      if (!this.#onTwin) this.#forwardOnTwin(x);
      return scaledBackward(this.#twin!, dout, this.grads, this.storage);
    }
    const dx = this.#dx = reuse(this.#dx, this.storage, x.shape);
    const formats = backwardFormats(this.kernels, this.storage, x.storage, dout.storage);
    if (formats) {
      const tensors = { x, dy: dout, weights: this.params.W, dx };
      const grads = { dWeights: this.grads.W, dBias: this.grads.b };
      convBackward(formats, { ...tensors, ...grads }, { ...this.#window, oh, ow });
      return dx;
    }
    const weights = this.params.W.toFloat64();
    const dWeights = new Float64Array(weights.length);
    const dBias = new Float64Array(outC);
    const imageSize = x.size / n;
    const positions = oh * ow;
    const work = this.#work;
    const image = work.floats("conv image", imageSize);
    const col = work.floats("conv col", this.fanIn * positions);
    const dy = work.floats("conv out", outC * positions);
    for (let i = 0; i < n; i++) {
      x.storage.read(x.data, i * imageSize, image, 0, imageSize);
      this.#im2col(image, x.shape, oh, ow, col);
      dout.storage.read(dout.data, i * outC * positions, dy, 0, outC * positions);
      // dW (outC, K) += dy (outC, P) · col^T (P, K)
      matmul(dWeights, dy, col, {
        m: outC,
        n: this.fanIn,
        k: positions,
        transB: true,
        accumulate: true,
      }, work);
      for (let o = 0; o < outC; o++) {
        for (let p = 0; p < positions; p++) dBias[o] += dy[o * positions + p];
      }
      // dcol (K, P) = W^T (K, outC) · dy (outC, P), reusing col's memory
      matmul(col, weights, dy, { m: this.fanIn, n: positions, k: outC, transA: true }, work);
      this.#col2im(col, x.shape, oh, ow, image);
      this.storage.write(image, 0, dx.data, i * imageSize, imageSize);
    }
    this.storage.write(dWeights, 0, this.grads.W.data, 0, dWeights.length);
    this.storage.write(dBias, 0, this.grads.b.data, 0, outC);
    return dx;
  }

  /**
   * Unrolls one image (C, H, W) into `col` (C * kh * kw, OH * OW): row r holds, for
   * every output position, the input element that kernel tap r multiplies (0 in the padding).
   */
  #im2col(
    image: Float64Array,
    shape: readonly number[],
    oh: number,
    ow: number,
    col: Float64Array,
  ): void {
    const [, channels, h, w] = shape;
    const { kh, kw, sh, sw, ph, pw } = this.#window;
    let r = 0;
    for (let c = 0; c < channels; c++) {
      for (let ky = 0; ky < kh; ky++) {
        for (let kx = 0; kx < kw; kx++, r++) {
          let dst = r * oh * ow;
          for (let oy = 0; oy < oh; oy++) {
            const iy = oy * sh - ph + ky;
            const rowStart = (c * h + iy) * w; // seek to input row iy of channel c
            for (let ox = 0; ox < ow; ox++, dst++) {
              const ix = ox * sw - pw + kx;
              col[dst] = iy >= 0 && iy < h && ix >= 0 && ix < w ? image[rowStart + ix] : 0;
            }
          }
        }
      }
    }
  }

  /**
   * im2col for the sparse product: writes the patch of every output position of one image
   * (C, H, W) as a column (see `SparseColumns`), entry r being the input element that kernel
   * tap r multiplies there (0 in the padding); with `skipZeros`, only the non-zero entries.
   */
  #patches(
    image: Float64Array,
    shape: readonly number[],
    oh: number,
    ow: number,
    dst: SparseColumns,
    skipZeros: boolean,
  ): void {
    const [, channels, h, w] = shape;
    const { kh, kw, sh, sw, ph, pw } = this.#window;
    const { values, depths, counts } = dst;
    // The image inside its border of zeros: then every tap is one load, without a test.
    const [hp, wp] = [h + 2 * ph, w + 2 * pw];
    const padded = this.#work.floats("conv padded image", channels * hp * wp).fill(0);
    for (let c = 0; c < channels; c++) {
      for (let y = 0; y < h; y++) {
        const to = (c * hp + y + ph) * wp + pw; // seek to row y of channel c, in both
        for (let x = 0, from = (c * h + y) * w; x < w; x++) padded[to + x] = image[from + x];
      }
    }
    // Where each tap (c, ky, kx) sits relative to its window's first element.
    const offsets = this.#work.indices("conv tap offsets", this.fanIn);
    for (let c = 0, r = 0; c < channels; c++) {
      for (let ky = 0; ky < kh; ky++) {
        for (let kx = 0; kx < kw; kx++, r++) offsets[r] = (c * hp + ky) * wp + kx;
      }
    }
    const taps = this.fanIn;
    const keepAll = skipZeros ? 0 : 1;
    for (let oy = 0, p = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++, p++) {
        const corner = oy * sh * wp + ox * sw; // the window's first element in `padded`
        let kept = p * taps;
        for (let r = 0; r < taps; r++) {
          // Written always, kept unless zero: no branch to mispredict on random zeros.
          const v = padded[corner + offsets[r]];
          values[kept] = v;
          depths[kept] = r;
          kept += Number(v !== 0) | keepAll;
        }
        counts[p] = kept - p * taps;
      }
    }
  }

  /** The adjoint of im2col: sums every `col` entry back onto the input element it came from. */
  #col2im(
    col: Float64Array,
    shape: readonly number[],
    oh: number,
    ow: number,
    image: Float64Array,
  ): void {
    const [, channels, h, w] = shape;
    const { kh, kw, sh, sw, ph, pw } = this.#window;
    image.fill(0);
    let r = 0;
    for (let c = 0; c < channels; c++) {
      for (let ky = 0; ky < kh; ky++) {
        for (let kx = 0; kx < kw; kx++, r++) {
          let src = r * oh * ow;
          for (let oy = 0; oy < oh; oy++) {
            const iy = oy * sh - ph + ky;
            const rowStart = (c * h + iy) * w;
            for (let ox = 0; ox < ow; ox++, src++) {
              const ix = ox * sw - pw + kx;
              if (iy >= 0 && iy < h && ix >= 0 && ix < w) image[rowStart + ix] += col[src];
            }
          }
        }
      }
    }
  }

  /** The forward pass of a scaled format on the float32 twin, on quantized operands. */
  #forwardOnTwin(x: Tensor): Tensor {
    this.#twin ??= new Conv({
      ...this.options,
      storage: f32,
      accumulator: this.accumulator,
      kernels: this.kernels,
    });
    return scaledForward(this.#twin, this.scaledOperands(x)!, this.params.b, x, this.storage);
  }

  /** The wasm formats the forward pass of an input stored in `input` runs in, if any. */
  #forwardFormat(input: Storage): LayerFormats | undefined {
    return productFormat(this.kernels, this.storage, input, this.accumulator);
  }

  /** The code the forward pass of an input stored in `input` runs, and how it sums. */
  arithmetic(input: Storage): Arithmetic {
    return productArithmetic(this.#forwardFormat(input), this.kernels, this.accumulator);
  }

  /**
   * The same convolution storing weights and output in `storage`, weights rounded to it, with
   * `accumulator` (by default this layer's), on this layer's kernel path.
   */
  to(storage: Storage, accumulator: Storage | undefined = this.accumulator): Conv {
    return this.#copy({ storage, accumulator });
  }

  /** The same convolution on kernel path `path`. */
  withKernels(path: KernelPath): Conv {
    return this.#copy({ kernels: path });
  }

  #copy(changes: Partial<ConvOptions>): Conv {
    const { storage, accumulator, kernels } = this;
    const conv = new Conv({ ...this.options, storage, accumulator, kernels, ...changes });
    copyParams(this, conv);
    return conv;
  }
}
