import assert from "node:assert/strict";
import { bf16, f64, imageBatch, type LabeledImages } from "../mod.ts";
import { firstImages, imageBatchAt, selectImages } from "../data/mod.ts";
import { picture } from "../report/_picture.ts";
import { imagesFromJson, imagesJson } from "../report/_images_json.ts";

/** Two 3-channel 2x2 images whose values say where they are: image, channel, row, column. */
const RGB: LabeledImages = {
  images: Float32Array.from({ length: 2 * 3 * 2 * 2 }, (_, i) => i / 8 - 1),
  shape: [2, 3, 2, 2],
  labels: new Int32Array([11, 4]),
  classes: 12,
};

Deno.test("imageBatch() takes float values as they are, rounded once to the storage", () => {
  const x = imageBatch(RGB, 1, 1, bf16);
  assert.deepEqual(x.shape, [1, 3, 2, 2]);
  assert.deepEqual([...x.toFloat64()], [...RGB.images.subarray(12)].map((v) => bf16.round(v)));
  assert.deepEqual(
    [...imageBatchAt(RGB, [1, 0], f64).toFloat64()],
    [...RGB.images.subarray(12), ...RGB.images.subarray(0, 12)],
  );
});

Deno.test("selectImages() and firstImages() keep the geometry, labels and classes", () => {
  const second = selectImages(RGB, [1]);
  assert.ok(second.images instanceof Float32Array);
  assert.deepEqual([second.shape, [...second.labels], second.classes], [[1, 3, 2, 2], [4], 12]);
  assert.deepEqual([...second.images], [...RGB.images.subarray(12)]);
  assert.deepEqual(firstImages(RGB, 1).images, RGB.images.subarray(0, 12));
  assert.throws(() => selectImages(RGB, [2]), RangeError);
});

Deno.test("a report draws three channels as RGB, stretched from the image's range", () => {
  const { width, height, channels, pixels } = picture(RGB, 0);
  assert.deepEqual([width, height, channels], [2, 2, 3]);
  // Pixel 0 is (r, g, b) = values 0, 4, 8 of 0..11: stretched to 0, 255 * 4/11, 255 * 8/11.
  assert.deepEqual([...pixels.subarray(0, 3)], [0, Math.round(255 * 4 / 11), 185]);
  assert.equal(Math.max(...pixels), 255);
});

Deno.test("labelled images survive the page's JSON, float values bit for bit", () => {
  const back = imagesFromJson(structuredClone(imagesJson(RGB)));
  assert.deepEqual(back.images, RGB.images);
  assert.deepEqual([back.shape, [...back.labels], back.classes], [RGB.shape, [11, 4], 12]);
});
