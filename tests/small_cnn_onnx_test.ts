/**
 * A small CNN trained and exported by PyTorch (`tools/train_small_cnn.py`: BatchNorm, padding,
 * max, average and global average pooling, Dropout, `x.view(x.shape[0], -1)`): the imported
 * network gives PyTorch's float32 logits on the first test images, within 1e-5 of each image's
 * largest logit, and the same classes.
 *
 * @module
 */
import assert from "node:assert/strict";
import { f32, f64, imageBatch, type Storage } from "../mod.ts";
import { readMnistDir, readOnnxFile, readSafetensorsFile } from "../data/files.ts";
import { MNIST } from "./_data.ts";

const FIXTURES = new URL("./fixtures/", import.meta.url);
const MODEL = new URL("small-cnn.onnx", FIXTURES).pathname;
const LOGITS = new URL("small-cnn-logits-f32.safetensors", FIXTURES).pathname;
/** Largest difference allowed, relative to each image's largest logit (magnitude). */
const TOLERANCE = 1e-5;

/** The class of each row of `logits` (rows of `classes` values). */
function argmax(logits: Float64Array, classes: number): number[] {
  return Array.from({ length: logits.length / classes }, (_, i) => {
    const row = logits.subarray(i * classes, (i + 1) * classes);
    return row.indexOf(Math.max(...row));
  });
}

for (const storage of [f64, f32] as Storage[]) {
  Deno.test(`the PyTorch-trained small CNN imported in ${storage.name} gives PyTorch's logits`, async () => {
    const expected = (await readSafetensorsFile(LOGITS)).tensors.get("logits")!;
    const [images, classes] = expected.shape;
    const net = await readOnnxFile(MODEL, { storage });
    assert.deepEqual(net.layers.map((l) => l.kind), [
      "conv",
      "relu",
      "pool",
      "conv",
      "relu",
      "avgpool",
      "conv",
      "relu",
      "avgpool",
      "affine",
    ]);
    const set = await readMnistDir(MNIST, "test");
    const actual = net.logits(imageBatch(set, 0, images, storage)).toFloat64();
    const reference = expected.toFloat64();
    assert.equal(actual.length, reference.length);
    for (let i = 0; i < images; i++) {
      const row = reference.subarray(i * classes, (i + 1) * classes);
      const scale = Math.max(...row.map(Math.abs));
      for (let j = 0; j < classes; j++) {
        const error = Math.abs(actual[i * classes + j] - row[j]) / scale;
        assert.ok(
          error <= TOLERANCE,
          `image ${i}, class ${j}: ${actual[i * classes + j]} vs ${row[j]}`,
        );
      }
    }
    assert.deepEqual(argmax(actual, classes), argmax(reference, classes));
  });
}
