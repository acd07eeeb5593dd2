/**
 * Average pooling over NCHW input, with the options ONNX's `AveragePool` and PyTorch's
 * `AvgPool2d` have: rectangular windows, a stride per axis, a pad per side, whether padding
 * counts in the divisor, and ceil mode. A global average pool is the window of a whole plane.
 *
 * Precision: each output is the float64 sum of its window divided by the window's count, rounded
 * once to the storage format; the input gradient is the float64 sum of the shares each input
 * received, rounded once. The wasm path (the `kernels` option) sums in float64 in the same
 * order, the input (backward: the output gradient) widened exactly from its format or read as
 * float64 values, and rounds each result once: the same results in every format.
 *
 * @module
 */
import { checkShape, type Layer, requireInput } from "./layer.ts";
import type { Storage } from "./storage/storage.ts";
import { f64 } from "./storage/f64.ts";
import type { Tensor } from "./tensor.ts";
import { reuse } from "./_scratch.ts";
import { type Arithmetic, type KernelPath, kernelPath } from "./kernel_path.ts";
import { boundaryFormats } from "./wasm/staging.ts";
import { avgPoolPlanes } from "./wasm/avg_pool.ts";

/** Options of {@linkcode AvgPool}. */
export interface AvgPoolOptions {
  /** Height of the window. */
  kernelHeight: number;
  /** Width of the window. @default {kernelHeight} */
  kernelWidth?: number;
  /** Vertical step between windows. @default {kernelHeight} */
  strideHeight?: number;
  /** Horizontal step between windows. @default {kernelWidth} */
  strideWidth?: number;
  /** Rows of padding above. @default {0} */
  padTop?: number;
  /** Columns of padding on the left. @default {0} */
  padLeft?: number;
  /** Rows of padding below. @default {padTop} */
  padBottom?: number;
  /** Columns of padding on the right. @default {padLeft} */
  padRight?: number;
  /** 1: padding elements count in the divisor (as zeros); 0: only the image's. @default {0} */
  countIncludePad?: number;
  /** 1: the output extent rounds up, so that a last partial window is kept. @default {0} */
  ceilMode?: number;
  /** Format of the output. @default {f64} */
  storage?: Storage;
  /** The code that computes it (see {@linkcode kernelPath}). @default {defaultKernelPath()} */
  kernels?: KernelPath;
}

/** One axis of the window: extent, stride and pads before and after. */
interface Axis {
  kernel: number;
  stride: number;
  before: number;
  after: number;
}

/**
 * Average pooling: each output is the mean of its window, per channel.
 *
 * @example 2x2 windows, and a window with padding not counted
 * ```ts
 * import { AvgPool, tensor } from "@halfprec/halfprec/layers";
 * import assert from "node:assert/strict";
 * const x = tensor([1, 1, 2, 2], [1, 2, 3, 6]);
 * assert.deepEqual([...new AvgPool({ kernelHeight: 2 }).forward(x).toFloat64()], [3]);
 * const padded = new AvgPool({ kernelHeight: 2, strideHeight: 1, strideWidth: 1, padTop: 1, padLeft: 1 });
 * assert.deepEqual([...padded.forward(x).toFloat64()].slice(0, 2), [1, 1.5]);
 * ```
 */
export class AvgPool implements Layer {
  readonly kind = "avgpool";
  name = "avgpool";
  readonly storage: Storage;
  readonly params: Readonly<Record<string, Tensor>> = {};
  readonly grads: Readonly<Record<string, Tensor>> = {};
  readonly fanIn = 0;
  readonly kernels: KernelPath;
  /** The options this layer was made with, defaults filled in. */
  readonly options: Required<Omit<AvgPoolOptions, "storage" | "kernels">>;
  readonly #rows: Axis;
  readonly #columns: Axis;
  #input?: Tensor;
  #output?: Tensor;
  #dx?: Tensor;

  /**
   * An average pool; see {@linkcode AvgPoolOptions}.
   *
   * @throws {RangeError} When an extent or stride is not a positive integer, or a pad not a
   * non-negative integer smaller than the window.
   */
  constructor(options: AvgPoolOptions) {
    const { kernelHeight, kernelWidth = kernelHeight } = options;
    const { strideHeight = kernelHeight, strideWidth = kernelWidth } = options;
    const { padTop = 0, padLeft = 0 } = options;
    const { padBottom = padTop, padRight = padLeft } = options;
    const { countIncludePad = 0, ceilMode = 0 } = options;
    this.options = {
      kernelHeight,
      kernelWidth,
      strideHeight,
      strideWidth,
      padTop,
      padLeft,
      padBottom,
      padRight,
      countIncludePad,
      ceilMode,
    };
    const positive = [kernelHeight, kernelWidth, strideHeight, strideWidth];
    const pads = [[padTop, kernelHeight], [padBottom, kernelHeight], [padLeft, kernelWidth], [
      padRight,
      kernelWidth,
    ]];
    const ok = positive.every((v) => Number.isInteger(v) && v >= 1) &&
      pads.every(([p, k]) => Number.isInteger(p) && p >= 0 && p < k) &&
      [0, 1].includes(countIncludePad) && [0, 1].includes(ceilMode);
    if (!ok) {
      throw new RangeError(
        `Cannot make avgpool: ${JSON.stringify(this.options)}; expected positive integer ` +
          `kernels and strides, pads from 0 to kernel - 1, countIncludePad and ceilMode 0 or 1`,
      );
    }
    this.#rows = { kernel: kernelHeight, stride: strideHeight, before: padTop, after: padBottom };
    this.#columns = { kernel: kernelWidth, stride: strideWidth, before: padLeft, after: padRight };
    this.storage = options.storage ?? f64;
    this.kernels = kernelPath(options.kernels);
  }

  /** Input (N, C, H, W) to output (N, C, OH, OW). */
  outputShape(inputShape: readonly number[]): number[] {
    checkShape(this, "input", inputShape, [undefined, undefined, undefined, undefined]);
    const [n, c, h, w] = inputShape;
    return [n, c, this.#extent(this.#rows, h), this.#extent(this.#columns, w)];
  }

  /**
   * Window positions along an axis: (extent + pads - kernel) / stride + 1, rounded down or, in
   * ceil mode, up, without a last window that would start in the padding after the input.
   */
  #extent(axis: Axis, extent: number): number {
    const span = extent + axis.before + axis.after - axis.kernel;
    const round = this.options.ceilMode ? Math.ceil : Math.floor;
    let out = round(span / axis.stride) + 1;
    if (this.options.ceilMode && (out - 1) * axis.stride >= extent + axis.before) out--;
    if (span < 0 || out < 1) {
      throw new RangeError(
        `Cannot run ${this.name}: input extent ${extent} is smaller than the ${axis.kernel}-wide ` +
          `window with pads ${axis.before} and ${axis.after}`,
      );
    }
    return out;
  }

  /** The input range [start, end) of window `o` along `axis`, and the count it divides by. */
  #window(axis: Axis, extent: number, o: number): [number, number, number] {
    const first = o * axis.stride - axis.before;
    const last = Math.min(first + axis.kernel, extent + axis.after);
    const start = Math.max(first, 0);
    const end = Math.min(last, extent);
    return [start, end, this.options.countIncludePad ? last - first : end - start];
  }

  /** The mean of every window, plane by plane. */
  forward(x: Tensor): Tensor {
    const shape = this.outputShape(x.shape);
    this.#input = x;
    const y = this.#output = reuse(this.#output, this.storage, shape);
    const formats = boundaryFormats(this.kernels, this.storage, x.storage);
    if (formats) {
      avgPoolPlanes(formats, { x, y, backward: false }, this.options);
      return y;
    }
    const v = x.toFloat64();
    const out = new Float64Array(y.size);
    const counts = new Float64Array(out.length);
    this.#each(x.shape, shape, (o, i, count) => {
      out[o] += v[i];
      counts[o] = count;
    });
    for (let o = 0; o < out.length; o++) out[o] /= counts[o];
    y.set(out);
    return y;
  }

  /** Shares each output gradient equally among the inputs of its window. */
  backward(dout: Tensor): Tensor {
    const x = requireInput(this, this.#input);
    const shape = this.outputShape(x.shape);
    checkShape(this, "output gradient", dout.shape, shape);
    const out = this.#dx = reuse(this.#dx, this.storage, x.shape);
    const formats = boundaryFormats(this.kernels, this.storage, dout.storage);
    if (formats) {
      avgPoolPlanes(formats, { x: dout, y: out, backward: true }, this.options);
      return out;
    }
    const dy = dout.toFloat64();
    const dx = new Float64Array(x.size);
    this.#each(x.shape, shape, (o, i, count) => dx[i] += dy[o] / count);
    out.set(dx);
    return out;
  }

  /** Calls `visit(output index, input index, count)` for every input of every window. */
  #each(
    inputShape: readonly number[],
    outputShape: readonly number[],
    visit: (o: number, i: number, count: number) => void,
  ): void {
    const [n, c, h, w] = inputShape;
    const [, , oh, ow] = outputShape;
    for (let plane = 0, o = 0; plane < n * c; plane++) {
      for (let oy = 0; oy < oh; oy++) {
        const [y0, y1, rows] = this.#window(this.#rows, h, oy);
        for (let ox = 0; ox < ow; ox++, o++) {
          const [x0, x1, columns] = this.#window(this.#columns, w, ox);
          for (let iy = y0; iy < y1; iy++) {
            for (let ix = x0; ix < x1; ix++) visit(o, (plane * h + iy) * w + ix, rows * columns);
          }
        }
      }
    }
  }

  /** Sums in float64, on the wasm kernels from an input in any format they hold. */
  arithmetic(input: Storage): Arithmetic {
    const path = boundaryFormats(this.kernels, this.storage, input) ? "wasm" : "typescript";
    return { path, accumulation: "float64" };
  }

  /** The same pool storing its output in `storage`. */
  to(storage: Storage): AvgPool {
    return new AvgPool({ ...this.options, storage, kernels: this.kernels });
  }

  /** The same pool on kernel path `path`. */
  withKernels(path: KernelPath): AvgPool {
    return new AvgPool({ ...this.options, storage: this.storage, kernels: path });
  }
}
