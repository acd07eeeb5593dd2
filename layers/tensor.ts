/**
 * Tensors: a shape, a storage format and the stored elements.
 *
 * @module
 */
import type { Storage, StorageArray } from "./storage/storage.ts";
import { f64 } from "./storage/f64.ts";

/**
 * A dense row-major (NCHW for images) array of numbers held in one storage format.
 *
 * @example Store values in f16 and read them back
 * ```ts
 * import { f16, Tensor } from "@halfprec/halfprec";
 * import assert from "node:assert/strict";
 *
 * const t = Tensor.from(f16, [2, 2], [0.1, 0.2, 0.3, 65520]);
 * assert.deepEqual(t.shape, [2, 2]);
 * assert.deepEqual([...t.toFloat64()], [0.0999755859375, 0.199951171875, 0.300048828125, Infinity]);
 * ```
 */
export class Tensor {
  /** The format the elements are stored in. */
  readonly storage: Storage;
  /** The extent of each dimension, outermost first. */
  readonly shape: readonly number[];
  /** The stored elements (values or codes, see {@linkcode StorageArray}). */
  readonly data: StorageArray;

  /**
   * Wraps `data` (allocates zeros when absent) as a tensor of `shape`.
   *
   * @throws {TypeError} When the shape is not made of non-negative integers, or `data` does not
   * hold exactly as many elements as the shape.
   */
  constructor(storage: Storage, shape: readonly number[], data?: StorageArray) {
    if (!shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new TypeError(
        `Cannot make a tensor: shape [${shape}] must be non-negative integers`,
      );
    }
    const size = shape.reduce((a, b) => a * b, 1);
    if (data && data.length !== size) {
      throw new TypeError(
        `Cannot make a tensor of shape [${shape}]: it needs ${size} elements, data has ${data.length}`,
      );
    }
    this.storage = storage;
    this.shape = [...shape];
    this.data = data ?? storage.alloc(size);
  }

  /**
   * A tensor of `shape` in `storage` holding `values`, each rounded to the format.
   *
   * @example
   * ```ts
   * import { bf16, Tensor } from "@halfprec/halfprec";
   * import assert from "node:assert/strict";
   * assert.equal(Tensor.from(bf16, [1], [1 / 3]).toFloat64()[0], 0.333984375);
   * ```
   */
  static from(storage: Storage, shape: readonly number[], values: ArrayLike<number>): Tensor {
    const t = new Tensor(storage, shape);
    t.set(values);
    return t;
  }

  /** The number of elements. */
  get size(): number {
    return this.data.length;
  }

  /** Bytes the elements occupy in their format. */
  get byteLength(): number {
    return this.size * this.storage.bytesPerElement;
  }

  /**
   * Overwrites every element with `values`, each rounded to this tensor's format.
   *
   * @throws {TypeError} When `values` does not hold exactly {@linkcode Tensor.size} numbers.
   *
   * @example
   * ```ts
   * import { f16, Tensor } from "@halfprec/halfprec";
   * import assert from "node:assert/strict";
   * const t = new Tensor(f16, [2]);
   * t.set([1, 0.1]);
   * assert.deepEqual([...t.toFloat64()], [1, 0.0999755859375]);
   * ```
   */
  set(values: ArrayLike<number>): void {
    if (values.length !== this.size) {
      throw new TypeError(
        `Cannot set a tensor of shape [${this.shape}]: it needs ${this.size} values, got ${values.length}`,
      );
    }
    const wide = values instanceof Float64Array ? values : Float64Array.from(values);
    this.storage.write(wide, 0, this.data, 0, this.size);
  }

  /**
   * The values, widened to float64 (a copy).
   *
   * @example
   * ```ts
   * import { f32, Tensor } from "@halfprec/halfprec";
   * import assert from "node:assert/strict";
   * assert.equal(Tensor.from(f32, [1], [0.5]).toFloat64()[0], 0.5);
   * ```
   */
  toFloat64(): Float64Array {
    const out = new Float64Array(this.size);
    this.storage.read(this.data, 0, out, 0, this.size);
    return out;
  }

  /**
   * The same values re-stored in `storage` (each rounded to it); `this` is unchanged.
   *
   * @example
   * ```ts
   * import { f16, f64, Tensor } from "@halfprec/halfprec";
   * import assert from "node:assert/strict";
   * const t = Tensor.from(f64, [1], [0.1]).to(f16);
   * assert.equal(t.storage, f16);
   * assert.equal(t.toFloat64()[0], 0.0999755859375);
   * ```
   */
  to(storage: Storage): Tensor {
    return Tensor.from(storage, this.shape, this.toFloat64());
  }

  /**
   * Rounds every value to `format` in place, keeping this tensor's storage: what numpy's
   * `param[...] = param.astype(np.float16)` does to a float64 array.
   *
   * @example
   * ```ts
   * import { f16, f64, Tensor } from "@halfprec/halfprec";
   * import assert from "node:assert/strict";
   * const t = Tensor.from(f64, [1], [0.1]);
   * t.roundTo(f16);
   * assert.equal(t.storage, f64);
   * assert.equal(t.toFloat64()[0], 0.0999755859375);
   * ```
   */
  roundTo(format: Storage): void {
    const values = this.toFloat64();
    for (let i = 0; i < values.length; i++) values[i] = format.round(values[i]);
    this.set(values);
  }
}

/**
 * A float64 tensor of `shape` holding `values` (convenience for tests and examples).
 *
 * @example
 * ```ts
 * import { tensor } from "@halfprec/halfprec";
 * import assert from "node:assert/strict";
 * assert.deepEqual(tensor([2], [1, 2]).shape, [2]);
 * ```
 */
export function tensor(shape: readonly number[], values: ArrayLike<number>): Tensor {
  return Tensor.from(f64, shape, values);
}

/**
 * For every row of the last dimension, the index of its largest value (the first one on a tie,
 * as numpy's argmax), or -1 when the row holds a NaN: such a row has no class, and counting it
 * as class 0 would make a broken network look like it guesses.
 *
 * @example
 * ```ts
 * import { argmaxRows, tensor } from "@halfprec/halfprec/layers";
 * import assert from "node:assert/strict";
 * assert.deepEqual([...argmaxRows(tensor([2, 3], [0, 5, 5, 9, 1, 2]))], [1, 0]);
 * assert.deepEqual([...argmaxRows(tensor([2, 2], [NaN, 1, Infinity, 1]))], [-1, 0]);
 * ```
 */
export function argmaxRows(t: Tensor): Int32Array {
  const width = t.shape[t.shape.length - 1];
  const v = t.toFloat64();
  const result = new Int32Array(v.length / width);
  for (let row = 0; row < result.length; row++) {
    const start = row * width;
    let best = 0;
    for (let j = 0; j < width && best >= 0; j++) {
      const x = v[start + j];
      if (x !== x) best = -1;
      else if (x > v[start + best]) best = j;
    }
    result[row] = best;
  }
  return result;
}
