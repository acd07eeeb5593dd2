/**
 * The MNIST handwritten digits: parsing the four standard gzipped IDX files into
 * {@linkcode LabeledImages} of shape `[N, 1, 28, 28]` and 10 classes; the network input is then
 * the pixels divided by 255 (see `imageBatch`).
 *
 * @example A corrupt file is a DataError
 * ```ts
 * import { DataError, parseMnist } from "@halfprec/halfprec";
 * import assert from "node:assert/strict";
 * const bad = new Uint8Array([1, 2, 3]);
 * await assert.rejects(parseMnist(bad, bad, { images: "i.gz", labels: "l.gz" }), DataError);
 * ```
 *
 * @module
 */
import { DataError } from "./data_error.ts";
import { gunzipIdx } from "./idx.ts";
import type { LabeledImages } from "./labeled_images.ts";

/**
 * One of the standard MNIST files.
 *
 * @example
 * ```ts
 * import type { MnistFile } from "@halfprec/halfprec/data";
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
 * import { MNIST_FILES, type MnistFiles } from "@halfprec/halfprec/data";
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
 * import type { MnistSplit } from "@halfprec/halfprec/data";
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
 * import { MNIST_FILES } from "@halfprec/halfprec/data";
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
 * import type { MnistSources } from "@halfprec/halfprec/data";
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
/** The classes: the digits 0 to 9. */
const CLASSES = 10;

/**
 * The set in the gzipped IDX files `images` and `labels`.
 *
 * @param images The gzipped images file (`*-images-idx3-ubyte.gz`).
 * @param labels The gzipped labels file (`*-labels-idx1-ubyte.gz`).
 * @param sources The files' names, for error messages.
 * @returns The images, `[N, 1, 28, 28]`, and their labels, 10 classes.
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
): Promise<LabeledImages> {
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
  const bad = labelIdx.data.findIndex((label) => label >= CLASSES);
  if (bad >= 0) {
    throw new DataError(sources.labels, {
      field: `label ${bad}`,
      expected: "a digit from 0 to 9",
      found: `${labelIdx.data[bad]}`,
    });
  }
  return {
    images: imageIdx.data,
    shape: [count, 1, SIDE, SIDE],
    labels: labelIdx.data,
    classes: CLASSES,
  };
}
