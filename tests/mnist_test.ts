import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { f64, STORAGES } from "../layers/storage/mod.ts";
import { readMnistDir } from "../data/files.ts";
import { gunzip } from "../data/idx.ts";
import { MNIST_FILES, parseMnist } from "../data/mnist.ts";
import { imageBatch, imageCount, type LabeledImages } from "../data/labeled_images.ts";
import { assertDataError } from "./_assert_data_error.ts";
import { MNIST } from "./_data.ts";
import { gzip, idxFile } from "./_idx.ts";

const SOURCES = { images: "images.gz", labels: "labels.gz" };
const PIXELS = 28 * 28;

/** Gzipped IDX images of `imageShape` (image i all pixel value i) and labels of `labelShape`. */
async function tinySet(
  imageShape: number[],
  labelShape: number[],
  labels: number[],
): Promise<[Uint8Array, Uint8Array]> {
  const size = imageShape.reduce((a, b) => a * b, 1);
  const pixels = Uint8Array.from({ length: size }, (_, i) => Math.floor(i / PIXELS));
  return [await gzip(idxFile(imageShape, pixels)), await gzip(idxFile(labelShape, labels))];
}

/** Every pixel value 0..255 once, then zeros: one image. */
const ALL_PIXELS: LabeledImages = {
  images: Uint8Array.from({ length: PIXELS }, (_, i) => i < 256 ? i : 0),
  shape: [1, 1, 28, 28],
  labels: new Uint8Array([0]),
  classes: 10,
};

Deno.test("parseMnist() reads images and labels from gzipped IDX files", async () => {
  const set = await parseMnist(...await tinySet([3, 28, 28], [3], [7, 2, 1]), SOURCES);
  assert.equal(imageCount(set), 3);
  assert.deepEqual([...set.labels], [7, 2, 1]);
  assert.equal(set.images.length, 3 * PIXELS);
  assert.equal(set.images[2 * PIXELS], 2);
});

Deno.test("parseMnist() rejects images that are not N x 28 x 28, naming the images file", async () => {
  await assert.rejects(
    parseMnist(...await tinySet([2, 28, 27], [2], [0, 0]), SOURCES),
    (error) =>
      assertDataError(error, {
        source: "images.gz",
        field: "dimensions",
        expected: "[N, 28, 28] (N images, at least 1)",
        found: "[2, 28, 27]",
      }),
  );
});

Deno.test("parseMnist() refuses an empty set, which would give an accuracy of nothing", async () => {
  await assert.rejects(
    parseMnist(...await tinySet([0, 28, 28], [0], []), SOURCES),
    (error) =>
      assertDataError(error, {
        source: "images.gz",
        field: "dimensions",
        expected: "[N, 28, 28] (N images, at least 1)",
        found: "[0, 28, 28]",
      }),
  );
});

Deno.test("parseMnist() rejects a label count that differs from the image count", async () => {
  for (const [labelShape, labels] of [[[3], [0, 0, 0]], [[2, 1], [0, 0]]]) {
    await assert.rejects(
      parseMnist(...await tinySet([2, 28, 28], labelShape, labels), SOURCES),
      (error) =>
        assertDataError(error, {
          source: "labels.gz",
          field: "dimensions",
          expected: "[2], one label per image in images.gz",
          found: `[${labelShape.join(", ")}]`,
        }),
    );
  }
});

Deno.test("parseMnist() names the file and index of the first label that is not a digit", async () => {
  await assert.rejects(
    parseMnist(...await tinySet([4, 28, 28], [4], [3, 10, 255, 1]), SOURCES),
    (error) =>
      assertDataError(error, {
        source: "labels.gz",
        field: "label 1",
        expected: "a digit from 0 to 9",
        found: "10",
      }),
  );
});

Deno.test("parseMnist() passes on gzip errors naming the file", async () => {
  const [images] = await tinySet([1, 28, 28], [1], [0]);
  await assert.rejects(
    parseMnist(images, new Uint8Array([1, 2, 3]), SOURCES),
    (error) =>
      assertDataError(error, {
        source: "labels.gz",
        field: "gzip stream",
        expected: "valid gzip data",
        found: /^data that does not decompress/,
      }),
  );
});

Deno.test("imageBatch() in f64 gives numpy's images.astype(np.float64) / 255.0 exactly", () => {
  const values = imageBatch(ALL_PIXELS, 0, 1, f64).toFloat64();
  // Printed by numpy: np.array([0, 1, 2, 127, 128, 254, 255]).astype(np.float64) / 255.0
  const numpy = [
    0,
    0.00392156862745098,
    0.00784313725490196,
    0.4980392156862745,
    0.5019607843137255,
    0.996078431372549,
    1,
  ];
  assert.deepEqual([0, 1, 2, 127, 128, 254, 255].map((p) => values[p]), numpy);
});

Deno.test("imageBatch() rounds each pixel / 255 to the storage once", () => {
  for (const storage of STORAGES) {
    const values = imageBatch(ALL_PIXELS, 0, 1, storage).toFloat64();
    for (let p = 0; p < 256; p++) assert.equal(values[p], storage.round(p / 255), storage.name);
  }
});

Deno.test("imageBatch() takes count images from start as N x 1 x 28 x 28", async () => {
  const set = await parseMnist(...await tinySet([5, 28, 28], [5], [0, 1, 2, 3, 4]), SOURCES);
  const input = imageBatch(set, 2, 3, f64);
  assert.deepEqual(input.shape, [3, 1, 28, 28]);
  const values = input.toFloat64();
  assert.deepEqual([0, 1, 2].map((i) => values[i * PIXELS] * 255), [2, 3, 4]);
  assert.deepEqual(imageBatch(set, 5, 0, f64).shape, [0, 1, 28, 28]);
});

Deno.test("imageBatch() rejects a range outside the set", () => {
  for (const [start, count] of [[0, 2], [1, 1], [-1, 1], [0.5, 1], [0, -1]]) {
    assert.throws(() => imageBatch(ALL_PIXELS, start, count, f64), RangeError);
  }
});

Deno.test("readMnistDir() names the missing file, and refuses a file given as the folder", async () => {
  const folder = fileURLToPath(new URL(".", import.meta.url)).replace(/\/$/, "");
  await assert.rejects(
    readMnistDir(folder, "test"),
    (error) =>
      assertDataError(error, {
        source: `${folder}/t10k-images-idx3-ubyte.gz`,
        field: "file",
        expected: "the gzipped MNIST test images",
        found: "no such file",
      }),
  );
  const file = fileURLToPath(import.meta.url);
  await assert.rejects(
    readMnistDir(file, "test"),
    (error) =>
      assertDataError(error, {
        source: file,
        field: "path",
        expected: "a folder holding the MNIST test files",
        found: "a file",
      }),
  );
});

Deno.test("the embedded MNIST test set has 10,000 images, its first digits 7, 2, 1", async () => {
  const test = await readMnistDir(MNIST, "test");
  assert.deepEqual([imageCount(test), test.images.length, test.labels.length], [
    10000,
    10000 * PIXELS,
    10000,
  ]);
  // The first digits, as every MNIST tutorial shows them.
  assert.deepEqual([...test.labels.subarray(0, 3)], [7, 2, 1]);
});

Deno.test("the unzipped MNIST test files have the published md5s", async () => {
  const { images, labels } = MNIST_FILES.test;
  for (const file of [images, labels]) {
    const bytes = await gunzip(await Deno.readFile(join(MNIST, file.name)), file.name);
    assert.equal(createHash("md5").update(bytes).digest("hex"), file.md5, file.name);
  }
});
