/**
 * Labelled images: the one data type every evaluation, analysis, search, report, benchmark and
 * training run takes, whatever the data set (MNIST, or a user's own images), and how its images
 * become network input in a storage format.
 *
 * The geometry lives in the data: an image is `C × H × W` values (NCHW), and the network sees
 * `[batch, C, H, W]`. Nothing outside `data/` assumes 28 × 28 pixels or 10 classes.
 *
 * @example Three 2×2 RGB images as input in f16
 * ```ts
 * import { f16, imageBatch, type LabeledImages } from "@halfprec/halfprec";
 * import assert from "node:assert/strict";
 *
 * const set: LabeledImages = {
 *   images: new Float32Array(3 * 3 * 2 * 2).fill(0.1),
 *   shape: [3, 3, 2, 2],
 *   labels: new Uint8Array([0, 1, 0]),
 *   classes: 2,
 * };
 * const x = imageBatch(set, 1, 2, f16);
 * assert.deepEqual(x.shape, [2, 3, 2, 2]);
 * assert.equal(x.toFloat64()[0], f16.round(Math.fround(0.1)));
 * ```
 *
 * @module
 */
import type { Storage } from "../layers/storage/storage.ts";
import { Tensor } from "../layers/tensor.ts";

/**
 * Images with one class label each.
 *
 * @example One 28×28 grey image of class 3, as MNIST is read
 * ```ts
 * import type { LabeledImages } from "@halfprec/halfprec";
 * import assert from "node:assert/strict";
 * const set: LabeledImages = { images: new Uint8Array(784), shape: [1, 1, 28, 28], labels: new Uint8Array([3]), classes: 10 };
 * assert.equal(set.images.length, set.shape.reduce((a, b) => a * b));
 * ```
 */
export interface LabeledImages {
  /**
   * The images' values, image after image, each channel after channel, row by row (NCHW).
   * Bytes (`Uint8Array`) are pixels from 0 to 255, which become `pixel / 255` as input; floats
   * are the input values as they are.
   */
  readonly images: Uint8Array | Float32Array | Float64Array;
  /** `[N, C, H, W]`: N images of C channels of H rows of W values. */
  readonly shape: readonly [number, number, number, number];
  /** N class indices, each from 0 to `classes - 1`. */
  readonly labels: Uint8Array | Int32Array;
  /** How many classes there are. */
  readonly classes: number;
}

/**
 * The number of images of `set`.
 *
 * @example
 * ```ts
 * import { imageCount } from "@halfprec/halfprec/data";
 * import assert from "node:assert/strict";
 * assert.equal(imageCount({ images: new Uint8Array(8), shape: [2, 1, 2, 2], labels: new Uint8Array(2), classes: 2 }), 2);
 * ```
 */
export function imageCount(set: LabeledImages): number {
  return set.shape[0];
}

/**
 * The input shape of `batch` images of `set`: `[batch, C, H, W]`.
 *
 * @example
 * ```ts
 * import { inputShape } from "@halfprec/halfprec/data";
 * import assert from "node:assert/strict";
 * const set = { images: new Uint8Array(784), shape: [1, 1, 28, 28], labels: new Uint8Array(1), classes: 10 } as const;
 * assert.deepEqual(inputShape(set, 100), [100, 1, 28, 28]);
 * ```
 */
export function inputShape(set: LabeledImages, batch: number): number[] {
  return [batch, ...set.shape.slice(1)];
}

/**
 * Every byte's input value. Dividing in float64 gives exactly numpy's
 * `images.astype(np.float64) / 255.0`; a storage then rounds it once.
 */
const BYTE_VALUES = Float64Array.from({ length: 256 }, (_, pixel) => pixel / 255);

/**
 * Images `start` to `start + count - 1` of `set` as a `[count, C, H, W]` tensor in `storage`:
 * bytes divided by 255 in float64, floats taken as they are, then rounded to the storage once.
 *
 * @param set The images.
 * @param start The first image.
 * @param count How many images.
 * @param storage The format of the tensor.
 * @returns The input tensor, NCHW.
 * @throws {RangeError} When the images are not all in the set.
 *
 * @example
 * ```ts
 * import { f64, imageBatch, type LabeledImages } from "@halfprec/halfprec";
 * import assert from "node:assert/strict";
 *
 * const set: LabeledImages = { images: new Uint8Array(2 * 784).fill(255, 784), shape: [2, 1, 28, 28], labels: new Uint8Array([0, 1]), classes: 10 };
 * const second = imageBatch(set, 1, 1, f64);
 * assert.equal(second.toFloat64()[0], 1);
 * assert.throws(() => imageBatch(set, 1, 2, f64), RangeError);
 * ```
 */
export function imageBatch(
  set: LabeledImages,
  start: number,
  count: number,
  storage: Storage,
): Tensor {
  const n = imageCount(set);
  if (
    !Number.isInteger(start) || !Number.isInteger(count) || start < 0 || count < 0 ||
    start + count > n
  ) {
    throw new RangeError(`Cannot take ${count} images from image ${start}: the set has ${n}`);
  }
  return imageBatchAt(set, Uint32Array.from({ length: count }, (_, i) => start + i), storage);
}

/**
 * The images of `set` at `indices`, in that order, as a `[indices.length, C, H, W]` tensor in
 * `storage` (values as {@linkcode imageBatch} makes them): a shuffled training batch.
 *
 * @throws {RangeError} When an index is not an image of the set.
 *
 * @example
 * ```ts
 * import { f64, type LabeledImages } from "@halfprec/halfprec";
 * import { imageBatchAt } from "@halfprec/halfprec/data";
 * import assert from "node:assert/strict";
 * const set: LabeledImages = { images: new Uint8Array(2 * 784).fill(255, 784), shape: [2, 1, 28, 28], labels: new Uint8Array([0, 1]), classes: 10 };
 * assert.deepEqual([...imageBatchAt(set, [1, 0], f64).toFloat64()].filter((_, i) => i % 784 === 0), [1, 0]);
 * assert.throws(() => imageBatchAt(set, [2], f64), RangeError);
 * ```
 */
export function imageBatchAt(
  set: LabeledImages,
  indices: ArrayLike<number>,
  storage: Storage,
): Tensor {
  const size = imageSize(set);
  const input = new Tensor(storage, inputShape(set, indices.length));
  // One image at a time keeps the float64 staging small: the whole MNIST training set would
  // take 376 MB of float64 next to its stored copy.
  const values = new Float64Array(size);
  const bytes = set.images instanceof Uint8Array ? set.images : undefined;
  for (let i = 0; i < indices.length; i++) {
    const index = indices[i];
    if (!(Number.isInteger(index) && index >= 0 && index < imageCount(set))) {
      throw new RangeError(`Cannot take image ${index}: the set has ${imageCount(set)}`);
    }
    const image = index * size;
    if (bytes) { for (let p = 0; p < size; p++) values[p] = BYTE_VALUES[bytes[image + p]]; }
    else values.set(set.images.subarray(image, image + size));
    storage.write(values, 0, input.data, i * size, size);
  }
  return input;
}

/**
 * The images of `set` at `indices`, in that order, as a set of their own (values copied).
 *
 * @throws {RangeError} When an index is not an image of the set.
 *
 * @example Every other image
 * ```ts
 * import { type LabeledImages, selectImages } from "@halfprec/halfprec/data";
 * import assert from "node:assert/strict";
 * const set: LabeledImages = { images: Uint8Array.from([1, 2, 3, 4, 5, 6]), shape: [3, 2, 1, 1], labels: new Uint8Array([7, 8, 9]), classes: 10 };
 * const odd = selectImages(set, [0, 2]);
 * assert.deepEqual([...odd.images], [1, 2, 5, 6]);
 * assert.deepEqual([odd.shape, [...odd.labels], odd.classes], [[2, 2, 1, 1], [7, 9], 10]);
 * ```
 */
export function selectImages(set: LabeledImages, indices: readonly number[]): LabeledImages {
  const size = imageSize(set);
  const images = new (set.images.constructor as new (n: number) => typeof set.images)(
    indices.length * size,
  );
  const labels = new (set.labels.constructor as new (n: number) => typeof set.labels)(
    indices.length,
  );
  indices.forEach((index, i) => {
    if (!(Number.isInteger(index) && index >= 0 && index < imageCount(set))) {
      throw new RangeError(`Cannot take image ${index}: the set has ${imageCount(set)}`);
    }
    images.set(set.images.subarray(index * size, (index + 1) * size), i * size);
    labels[i] = set.labels[index];
  });
  const [, c, h, w] = set.shape;
  return { images, shape: [indices.length, c, h, w], labels, classes: set.classes };
}

/**
 * The first `count` images of `set`, sharing its memory.
 *
 * @throws {RangeError} When the set has fewer.
 *
 * @example
 * ```ts
 * import { firstImages, type LabeledImages } from "@halfprec/halfprec/data";
 * import assert from "node:assert/strict";
 * const set: LabeledImages = { images: new Float64Array(12), shape: [3, 1, 2, 2], labels: new Int32Array(3), classes: 4 };
 * assert.deepEqual(firstImages(set, 2).shape, [2, 1, 2, 2]);
 * assert.throws(() => firstImages(set, 4), RangeError);
 * ```
 */
export function firstImages(set: LabeledImages, count: number): LabeledImages {
  if (!(Number.isInteger(count) && count >= 0 && count <= imageCount(set))) {
    throw new RangeError(`Cannot take the first ${count} images: the set has ${imageCount(set)}`);
  }
  const [, c, h, w] = set.shape;
  return {
    images: set.images.subarray(0, count * imageSize(set)),
    shape: [count, c, h, w],
    labels: set.labels.subarray(0, count),
    classes: set.classes,
  };
}

/** The values per image: C × H × W. */
function imageSize(set: LabeledImages): number {
  const [, c, h, w] = set.shape;
  return c * h * w;
}
