/**
 * The MNIST handwritten digits: parsing the four standard gzipped IDX files, and turning images
 * into network input (pixels / 255, NCHW) in any storage format.
 *
 * @example Parse a one-image set and make its input tensor
 * ```ts
 * import { f16, type MnistSet, mnistImages } from "@halfprec/halfprec";
 * import assert from "node:assert/strict";
 *
 * const set: MnistSet = { images: new Uint8Array(28 * 28).fill(128), labels: new Uint8Array([3]), count: 1 };
 * const input = mnistImages(set, 0, 1, f16);
 * assert.deepEqual(input.shape, [1, 1, 28, 28]);
 * assert.equal(input.toFloat64()[0], f16.round(128 / 255));
 * ```
 *
 * @module
 */
import type { Storage } from "../layers/storage/storage.ts";
import { Tensor } from "../layers/tensor.ts";
import { DataError } from "./data_error.ts";
import { gunzipIdx } from "./idx.ts";

/**
 * Images and labels of one MNIST split.
 *
 * @example
 * ```ts
 * import type { MnistSet } from "@halfprec/halfprec";
 * import assert from "node:assert/strict";
 * const set: MnistSet = { images: new Uint8Array(2 * 28 * 28), labels: new Uint8Array([7, 2]), count: 2 };
 * assert.equal(set.images.length, set.count * 28 * 28);
 * ```
 */
export interface MnistSet {
  /** `count` images of 28×28 pixels, row by row, 0 (background) to 255 (ink). */
  images: Uint8Array;
  /** `count` digits, 0 to 9. */
  labels: Uint8Array;
  /** The number of images. */
  count: number;
}

/**
 * One of the standard MNIST files.
 *
 * @example
 * ```ts
 * import type { MnistFile } from "@halfprec/halfprec";
 * import assert from "node:assert/strict";
 * const file: MnistFile = { name: "t10k-labels-idx1-ubyte.gz", md5: "27ae3e4e09519cfbb04c329615203637" };
 * assert.match(file.md5, /^[0-9a-f]{32}$/);
 * ```
 */
export interface MnistFile {
  /** The file name, as published. */
  readonly name: string;
  /** The md5 of the uncompressed content (the gzip wrapper differs between copies). */
  readonly md5: string;
}

/**
 * The two files of one MNIST split.
 *
 * @example
 * ```ts
 * import { MNIST_FILES, type MnistFiles } from "@halfprec/halfprec";
 * import assert from "node:assert/strict";
 * const test: MnistFiles = MNIST_FILES.test;
 * assert.equal(test.labels.name, "t10k-labels-idx1-ubyte.gz");
 * ```
 */
export interface MnistFiles {
  /** The images file. */
  readonly images: MnistFile;
  /** The labels file. */
  readonly labels: MnistFile;
}

/**
 * The MNIST splits: 60,000 training images, 10,000 test images.
 *
 * @example
 * ```ts
 * import type { MnistSplit } from "@halfprec/halfprec";
 * import assert from "node:assert/strict";
 * const split: MnistSplit = "test";
 * assert.equal(split, "test");
 * ```
 */
export type MnistSplit = "train" | "test";

/**
 * The standard MNIST file names, with the published md5 of their uncompressed content.
 *
 * @example
 * ```ts
 * import { MNIST_FILES } from "@halfprec/halfprec";
 * import assert from "node:assert/strict";
 * assert.equal(MNIST_FILES.test.images.name, "t10k-images-idx3-ubyte.gz");
 * assert.equal(MNIST_FILES.train.labels.md5, "a25bea736e30d166cdddb491f175f624");
 * ```
 */
export const MNIST_FILES: Readonly<Record<MnistSplit, MnistFiles>> = {
  train: {
    images: { name: "train-images-idx3-ubyte.gz", md5: "6bbc9ace898e44ae57da46a324031adb" },
    labels: { name: "train-labels-idx1-ubyte.gz", md5: "a25bea736e30d166cdddb491f175f624" },
  },
  test: {
    images: { name: "t10k-images-idx3-ubyte.gz", md5: "2646ac647ad5339dbf082846283269ea" },
    labels: { name: "t10k-labels-idx1-ubyte.gz", md5: "27ae3e4e09519cfbb04c329615203637" },
  },
};

/**
 * Names for the images and labels files in error messages.
 *
 * @example
 * ```ts
 * import type { MnistSources } from "@halfprec/halfprec";
 * import assert from "node:assert/strict";
 * const sources: MnistSources = { images: "mnist/t10k-images-idx3-ubyte.gz", labels: "mnist/t10k-labels-idx1-ubyte.gz" };
 * assert.notEqual(sources.images, sources.labels);
 * ```
 */
export interface MnistSources {
  /** The images file's name or path. */
  images: string;
  /** The labels file's name or path. */
  labels: string;
}

/** The width and height of an image. */
const SIDE = 28;
const PIXELS = SIDE * SIDE;

/**
 * The set in the gzipped IDX files `images` and `labels`.
 *
 * @param images The gzipped images file (`*-images-idx3-ubyte.gz`).
 * @param labels The gzipped labels file (`*-labels-idx1-ubyte.gz`).
 * @param sources The files' names, for error messages.
 * @returns The images, labels and count.
 * @throws {DataError} When a file is not valid gzipped IDX, the images are not N×28×28, the
 * labels are not N (the same N), or a label is not a digit.
 *
 * @example
 * ```ts
 * import { DataError, parseMnist } from "@halfprec/halfprec";
 * import assert from "node:assert/strict";
 *
 * const bad = new Uint8Array([1, 2, 3]);
 * await assert.rejects(parseMnist(bad, bad, { images: "i.gz", labels: "l.gz" }), DataError);
 * ```
 */
export async function parseMnist(
  images: Uint8Array,
  labels: Uint8Array,
  sources: MnistSources,
): Promise<MnistSet> {
  const [imageIdx, labelIdx] = await Promise.all([
    gunzipIdx(images, sources.images),
    gunzipIdx(labels, sources.labels),
  ]);
  const [count, height, width] = imageIdx.shape;
  if (imageIdx.shape.length !== 3 || height !== SIDE || width !== SIDE || count === 0) {
    throw new DataError(sources.images, {
      field: "dimensions",
      expected: `[N, ${SIDE}, ${SIDE}] (N images, at least 1)`,
      found: `[${imageIdx.shape.join(", ")}]`,
    });
  }
  if (labelIdx.shape.length !== 1 || labelIdx.shape[0] !== count) {
    throw new DataError(sources.labels, {
      field: "dimensions",
      expected: `[${count}], one label per image in ${sources.images}`,
      found: `[${labelIdx.shape.join(", ")}]`,
    });
  }
  const bad = labelIdx.data.findIndex((label) => label > 9);
  if (bad >= 0) {
    throw new DataError(sources.labels, {
      field: `label ${bad}`,
      expected: "a digit from 0 to 9",
      found: `${labelIdx.data[bad]}`,
    });
  }
  return { images: imageIdx.data, labels: labelIdx.data, count };
}

/**
 * Every pixel's input value. Dividing in float64 gives exactly numpy's
 * `images.astype(np.float64) / 255.0`; a storage then rounds it once.
 */
const PIXEL_VALUES = Float64Array.from({ length: 256 }, (_, pixel) => pixel / 255);

/**
 * Images `start` to `start + count - 1` of `set` as a `[count, 1, 28, 28]` tensor in `storage`,
 * each pixel divided by 255 in float64 and then rounded to the storage once.
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
 * import { f64, type MnistSet, mnistImages } from "@halfprec/halfprec";
 * import assert from "node:assert/strict";
 *
 * const set: MnistSet = { images: new Uint8Array(2 * 28 * 28).fill(255, 784), labels: new Uint8Array([0, 1]), count: 2 };
 * const second = mnistImages(set, 1, 1, f64);
 * assert.equal(second.toFloat64()[0], 1);
 * assert.throws(() => mnistImages(set, 1, 2, f64), RangeError);
 * ```
 */
export function mnistImages(set: MnistSet, start: number, count: number, storage: Storage): Tensor {
  if (
    !Number.isInteger(start) || !Number.isInteger(count) || start < 0 || count < 0 ||
    start + count > set.count
  ) {
    throw new RangeError(
      `Cannot take ${count} MNIST images from image ${start}: the set has ${set.count}`,
    );
  }
  return mnistImagesAt(set, Uint32Array.from({ length: count }, (_, i) => start + i), storage);
}

/**
 * The images of `set` at `indices`, in that order, as a `[indices.length, 1, 28, 28]` tensor
 * in `storage` (pixels / 255, as {@linkcode mnistImages}): a shuffled training batch.
 *
 * @throws {RangeError} When an index is not an image of the set.
 *
 * @example
 * ```ts
 * import { f64, type MnistSet, mnistImagesAt } from "@halfprec/halfprec";
 * import assert from "node:assert/strict";
 * const set: MnistSet = { images: new Uint8Array(2 * 784).fill(255, 784), labels: new Uint8Array([0, 1]), count: 2 };
 * assert.deepEqual([...mnistImagesAt(set, [1, 0], f64).toFloat64()].filter((_, i) => i % 784 === 0), [1, 0]);
 * assert.throws(() => mnistImagesAt(set, [2], f64), RangeError);
 * ```
 */
export function mnistImagesAt(
  set: MnistSet,
  indices: ArrayLike<number>,
  storage: Storage,
): Tensor {
  const input = new Tensor(storage, [indices.length, 1, SIDE, SIDE]);
  // One image at a time keeps the float64 staging small: the whole training set would take
  // 376 MB of float64 next to its stored copy.
  const values = new Float64Array(PIXELS);
  for (let i = 0; i < indices.length; i++) {
    const index = indices[i];
    if (!(Number.isInteger(index) && index >= 0 && index < set.count)) {
      throw new RangeError(`Cannot take MNIST image ${index}: the set has ${set.count}`);
    }
    const image = index * PIXELS;
    for (let p = 0; p < PIXELS; p++) values[p] = PIXEL_VALUES[set.images[image + p]];
    storage.write(values, 0, input.data, i * PIXELS, PIXELS);
  }
  return input;
}
