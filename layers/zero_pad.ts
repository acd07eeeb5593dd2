/**
 * Zero padding: a border of zeros around each plane of (N, C, H, W), its width set per side. An
 * imported model's asymmetric pads (a convolution with `auto_pad` SAME and stride 2, an ONNX
 * `Pad` that folds into nothing) become this layer before a layer without padding.
 *
 * Precision: exact when the input is stored in the layer's format; otherwise each element is
 * rounded once to the format. Zeros are exact in every format. The wasm path (the `kernels`
 * option) moves the same values, each rounded once when the input (backward: the output
 * gradient) is in another format, from float32 (which holds every narrower format exactly) or
 * from float64.
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
import { padPlanes } from "./wasm/zero_pad.ts";

/** Options of {@linkcode ZeroPad}: the border's width on each side, and the format. */
export interface ZeroPadOptions {
  /** Rows of zeros above. @default {0} */
  top?: number;
  /** Columns of zeros on the left. @default {0} */
  left?: number;
  /** Rows of zeros below. @default {0} */
  bottom?: number;
  /** Columns of zeros on the right. @default {0} */
  right?: number;
  /** Format of the output. @default {f64} */
  storage?: Storage;
  /** The code that computes it (see {@linkcode kernelPath}). @default {defaultKernelPath()} */
  kernels?: KernelPath;
}

/**
 * Pads every plane with zeros; backward crops the gradient back to the input's extent.
 *
 * @example One column of zeros on the right
 * ```ts
 * import { tensor, ZeroPad } from "@halfprec/halfprec/layers";
 * import assert from "node:assert/strict";
 * const pad = new ZeroPad({ right: 1 });
 * assert.deepEqual([...pad.forward(tensor([1, 1, 1, 2], [1, 2])).toFloat64()], [1, 2, 0]);
 * assert.deepEqual([...pad.backward(tensor([1, 1, 1, 3], [4, 5, 6])).toFloat64()], [4, 5]);
 * ```
 */
export class ZeroPad implements Layer {
  readonly kind = "zeropad";
  name = "zeropad";
  readonly storage: Storage;
  readonly params: Readonly<Record<string, Tensor>> = {};
  readonly grads: Readonly<Record<string, Tensor>> = {};
  readonly fanIn = 0;
  readonly kernels: KernelPath;
  /** The border's width on each side. */
  readonly options: {
    readonly top: number;
    readonly left: number;
    readonly bottom: number;
    readonly right: number;
  };
  #inputShape?: readonly number[];
  #output?: Tensor;
  #dx?: Tensor;

  /**
   * A zero padding; see {@linkcode ZeroPadOptions}.
   *
   * @throws {RangeError} When a width is not an integer of at least 0.
   */
  constructor(options?: ZeroPadOptions) {
    const { top = 0, left = 0, bottom = 0, right = 0 } = options ?? {};
    if (![top, left, bottom, right].every((p) => Number.isInteger(p) && p >= 0)) {
      throw new RangeError(
        `Cannot make zeropad: top ${top}, left ${left}, bottom ${bottom}, right ${right}; ` +
          `expected integers of at least 0`,
      );
    }
    this.options = { top, left, bottom, right };
    this.storage = options?.storage ?? f64;
    this.kernels = kernelPath(options?.kernels);
  }

  /** (N, C, H + top + bottom, W + left + right). */
  outputShape(inputShape: readonly number[]): number[] {
    checkShape(this, "input", inputShape, [undefined, undefined, undefined, undefined]);
    const [n, c, h, w] = inputShape;
    const { top, left, bottom, right } = this.options;
    return [n, c, h + top + bottom, w + left + right];
  }

  /** The input inside its border of zeros. */
  forward(x: Tensor): Tensor {
    this.#inputShape = x.shape;
    const y = this.#output = reuse(this.#output, this.storage, this.outputShape(x.shape));
    const formats = boundaryFormats(this.kernels, this.storage, x.storage);
    if (formats) {
      padPlanes(formats, { x, y }, { ...this.options, crop: false });
      return y;
    }
    const out = new Float64Array(y.size);
    this.#copy(x.toFloat64(), out, x.shape, true);
    y.set(out);
    return y;
  }

  /** The output gradient without its border. */
  backward(dout: Tensor): Tensor {
    const shape = requireInput(this, this.#inputShape);
    checkShape(this, "output gradient", dout.shape, this.outputShape(shape));
    const dx = this.#dx = reuse(this.#dx, this.storage, shape);
    const formats = boundaryFormats(this.kernels, this.storage, dout.storage);
    if (formats) {
      padPlanes(formats, { x: dout, y: dx }, { ...this.options, crop: true });
      return dx;
    }
    const values = new Float64Array(dx.size);
    this.#copy(dout.toFloat64(), values, shape, false);
    dx.set(values);
    return dx;
  }

  /**
   * Copies the rows of an (N, C, H, W) array into its padded counterpart (`padding`), or back
   * out of it.
   */
  #copy(
    from: Float64Array,
    to: Float64Array,
    [n, c, h, w]: readonly number[],
    padding: boolean,
  ): void {
    const { top, left, bottom, right } = this.options;
    const [ph, pw] = [h + top + bottom, w + left + right];
    for (let plane = 0; plane < n * c; plane++) {
      for (let y = 0; y < h; y++) {
        const inner = (plane * h + y) * w;
        const outer = (plane * ph + y + top) * pw + left;
        const [src, dst] = padding ? [inner, outer] : [outer, inner];
        to.set(from.subarray(src, src + w), dst);
      }
    }
  }

  /** Sums nothing; on the wasm kernels from an input in any format they hold. */
  arithmetic(input: Storage): Arithmetic {
    const path = boundaryFormats(this.kernels, this.storage, input) ? "wasm" : "typescript";
    return { path, accumulation: "none" };
  }

  /** The same padding storing its output in `storage`. */
  to(storage: Storage): ZeroPad {
    return new ZeroPad({ ...this.options, storage, kernels: this.kernels });
  }

  /** The same padding on kernel path `path`. */
  withKernels(path: KernelPath): ZeroPad {
    return new ZeroPad({ ...this.options, storage: this.storage, kernels: path });
  }
}
