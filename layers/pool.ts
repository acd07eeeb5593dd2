/**
 * Max pooling over NCHW input.
 *
 * Precision: exact in every format (the output is one of the stored inputs); NaN propagates.
 * The wasm path (the `kernels` option) makes the same comparisons on exactly widened values
 * (on the float64 values, for a float64 input to a narrower layer) and gives the same outputs,
 * each rounded once to the layer's format; backward too, from an output gradient in any format,
 * summing the gradients that overlapping windows send to one input in float64, as the
 * TypeScript code does.
 *
 * @module
 */
import { checkShape, type Layer, requireInput } from "./layer.ts";
import type { Storage } from "./storage/storage.ts";
import { f64 } from "./storage/f64.ts";
import type { Tensor } from "./tensor.ts";
import { reuse, Scratch } from "./_scratch.ts";
import { outputExtents, type Window, windowAsymmetry, windowOf } from "./_geometry.ts";
import { type Arithmetic, type KernelPath, kernelPath } from "./kernel_path.ts";
import { boundaryFormats } from "./wasm/staging.ts";
import { poolBackward, poolForward } from "./wasm/pool.ts";

/** The current maximum (index 0) and a candidate (index 1), chosen between by index. */
const pick = new Float64Array(2);

/** Options of {@linkcode Pool}: a square window, or a rectangular one with `kernelWidth`. */
export interface PoolOptions {
  /** Side of the square window (its height, with `kernelWidth`). */
  size: number;
  /** Step between windows (down, with `strideWidth`). @default {size} */
  stride?: number;
  /**
   * Border of -Infinity on every side (never chosen by the max); above and below, with
   * `padWidth`. @default {0}
   */
  pad?: number;
  /** Columns of the window. @default {size} */
  kernelWidth?: number;
  /** Step between windows across. @default {stride} */
  strideWidth?: number;
  /** Columns of -Infinity left and right. @default {pad} */
  padWidth?: number;
  /** Rows of -Infinity below. @default {pad} */
  padBottom?: number;
  /** Columns of -Infinity on the right. @default {padWidth} */
  padRight?: number;
  /** Format of the output. @default {f64} */
  storage?: Storage;
  /** The code that computes it (see {@linkcode kernelPath}). @default {defaultKernelPath()} */
  kernels?: KernelPath;
}

/**
 * Max pooling: each output is the largest input in its window, per channel.
 *
 * @example 2x2 windows with stride 2
 * ```ts
 * import { Pool, tensor } from "@halfprec/halfprec/layers";
 * import assert from "node:assert/strict";
 * const y = new Pool({ size: 2 }).forward(tensor([1, 1, 2, 4], [1, 5, 2, 0, 3, 4, 7, 8]));
 * assert.deepEqual([...y.toFloat64()], [5, 8]);
 * ```
 */
export class Pool implements Layer {
  readonly kind = "pool";
  name = "pool";
  readonly storage: Storage;
  readonly params: Readonly<Record<string, Tensor>> = {};
  readonly grads: Readonly<Record<string, Tensor>> = {};
  readonly fanIn = 0;
  readonly kernels: KernelPath;
  /** The options this layer was made with, defaults filled in. */
  readonly options:
    & Required<Pick<PoolOptions, "size" | "stride" | "pad">>
    & Pick<PoolOptions, "kernelWidth" | "strideWidth" | "padWidth" | "padBottom" | "padRight">;
  readonly #window: Window;
  readonly #work = new Scratch();
  #input?: Tensor;
  #output?: Tensor;
  #dx?: Tensor;
  /** For every output element, the index within its input plane of the maximum. */
  #argmax = new Int32Array(0);

  /** A max pool; see {@linkcode PoolOptions}. */
  constructor(options: PoolOptions) {
    const { size, stride = size, pad = 0 } = options;
    this.#window = windowOf("pool", { ...options, size, stride, pad });
    this.options = { size, stride, pad, ...windowAsymmetry(this.#window) };
    this.storage = options.storage ?? f64;
    this.kernels = kernelPath(options.kernels);
  }

  /** Input (N, C, H, W) to output (N, C, OH, OW). */
  outputShape(inputShape: readonly number[]): number[] {
    checkShape(this, "input", inputShape, [undefined, undefined, undefined, undefined]);
    const [n, c, h, w] = inputShape;
    return [n, c, ...outputExtents(this, this.#window, h, w)];
  }

  /** The maximum of every window, plane by plane. */
  forward(x: Tensor): Tensor {
    const shape = this.outputShape(x.shape);
    const [, , h, w] = x.shape;
    const [, , oh, ow] = shape;
    const { kh, kw, sh, sw, ph, pw } = this.#window;
    this.#input = x;
    const y = this.#output = reuse(this.#output, this.storage, shape);
    if (this.#argmax.length !== y.size) this.#argmax = new Int32Array(y.size);
    const argmax = this.#argmax;
    const formats = boundaryFormats(this.kernels, this.storage, x.storage);
    if (formats) {
      poolForward(formats, { x, y, argmax }, this.#window);
      return y;
    }
    // Image by image: one read and one write per image, planes in between.
    const [n, channels] = x.shape;
    const planes = this.#work.floats("pool planes", channels * h * w);
    const out = this.#work.floats("pool out", channels * oh * ow);
    for (let i = 0; i < n; i++) {
      x.storage.read(x.data, i * channels * h * w, planes, 0, channels * h * w);
      for (let c = 0, o = 0; c < channels; c++) {
        const plane = c * h * w; // seek to plane c
        for (let oy = 0; oy < oh; oy++) {
          const y0 = Math.max(0, oy * sh - ph);
          const y1 = Math.min(h, oy * sh - ph + kh);
          for (let ox = 0; ox < ow; ox++, o++) {
            const x0 = Math.max(0, ox * sw - pw);
            const x1 = Math.min(w, ox * sw - pw + kw);
            // The first maximum, or the last NaN: `v !== v` lets a NaN take over, and no number
            // compares greater than it. Chosen by index, without a branch: which element wins
            // is a coin toss that a branch predictor loses (1.3x faster, measured).
            let at = y0 * w + x0;
            let best = planes[plane + at];
            for (let iy = y0; iy < y1; iy++) {
              for (let ix = x0; ix < x1; ix++) {
                const v = planes[plane + iy * w + ix];
                const take = Number(v > best) | Number(v !== v);
                pick[0] = best, pick[1] = v;
                best = pick[take];
                at += take * (iy * w + ix - at);
              }
            }
            out[o] = best;
            argmax[i * channels * oh * ow + o] = at;
          }
        }
      }
      this.storage.write(out, 0, y.data, i * channels * oh * ow, channels * oh * ow);
    }
    return y;
  }

  /**
   * Whether a layer can compute this pooling within its own pass (see
   * {@linkcode Layer.forwardWith}) on an input stored in `input`: when this layer runs on the
   * wasm kernels, `input` is its format and it rounds without a stream (it would draw from it
   * image by image, between the other layer's draws).
   */
  fusesAfter(input: Storage): boolean {
    const formats = boundaryFormats(this.kernels, this.storage, input);
    return formats !== undefined && formats.input.name === formats.format.name &&
      !this.storage.stream;
  }

  /**
   * For a layer that computes this pooling within its own pass (see
   * {@linkcode Layer.forwardWith}, {@linkcode Pool.fusesAfter}), on the input `x` (recorded as
   * the input, though the pass may not write it): the output tensor and argmax `forward` fills.
   */
  fusedOutput(x: Tensor): { y: Tensor; argmax: Int32Array } {
    this.#input = x;
    const y = this.#output = reuse(this.#output, this.storage, this.outputShape(x.shape));
    if (this.#argmax.length !== y.size) this.#argmax = new Int32Array(y.size);
    return { y, argmax: this.#argmax };
  }

  /** Routes each output gradient to the input element that was the maximum. */
  backward(dout: Tensor): Tensor {
    const x = requireInput(this, this.#input);
    const [, , h, w] = x.shape;
    const shape = this.outputShape(x.shape);
    checkShape(this, "output gradient", dout.shape, shape);
    const [, , oh, ow] = shape;
    const dx = this.#dx = reuse(this.#dx, this.storage, x.shape);
    // Overlapping windows can pick an input twice: the kernels sum in float64, as the reference.
    const { kh, kw, sh, sw } = this.#window;
    const overlapping = sh < kh || sw < kw;
    const formats = boundaryFormats(this.kernels, this.storage, dout.storage);
    if (formats) {
      poolBackward(formats, { dy: dout, dx, argmax: this.#argmax }, overlapping);
      return dx;
    }
    const plane = this.#work.floats("pool plane", h * w);
    const dy = this.#work.floats("pool out", oh * ow);
    for (let p = 0; p < x.size / (h * w); p++) {
      dout.storage.read(dout.data, p * oh * ow, dy, 0, oh * ow);
      plane.fill(0);
      // Overlapping windows (stride < size) can pick the same input twice: accumulate.
      for (let o = 0; o < oh * ow; o++) plane[this.#argmax[p * oh * ow + o]] += dy[o];
      this.storage.write(plane, 0, dx.data, p * h * w, h * w);
    }
    return dx;
  }

  /** Max pooling sums nothing; it runs on the wasm kernels when its input is in its format. */
  arithmetic(input: Storage): Arithmetic {
    const path = boundaryFormats(this.kernels, this.storage, input) ? "wasm" : "typescript";
    return { path, accumulation: "none" };
  }

  /** The same pool storing its output in `storage`. */
  to(storage: Storage): Pool {
    return new Pool({ ...this.options, storage, kernels: this.kernels });
  }

  /** The same pool on kernel path `path`. */
  withKernels(path: KernelPath): Pool {
    return new Pool({ ...this.options, storage: this.storage, kernels: path });
  }
}
