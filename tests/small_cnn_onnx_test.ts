/**
 * A small CNN trained and exported by PyTorch (`tools/train_small_cnn.py`: BatchNorm, padding,
 * max, average and global average pooling, Dropout, `x.view(x.shape[0], -1)`): the imported
 * network gives PyTorch's float32 logits on the first test images, within 1e-5 of each image's
 * largest logit, and the same classes. Converted to float16 as the usual converter does
 * (`tools/onnx_to_float16.py`), its layers are imported in float16 between the two Casts.
 *
 * @module
 */
import assert from "node:assert/strict";
import { f32, f64, imageBatch, type Storage } from "../mod.ts";
import { readMnistDir, readOnnxFile, readSafetensorsFile } from "../data/files.ts";
import { MNIST } from "./_data.ts";
import { argmax, worstError } from "./_logits.ts";

const FIXTURES = new URL("./fixtures/", import.meta.url);
const MODEL = new URL("small-cnn.onnx", FIXTURES).pathname;
const MODEL_F16 = new URL("small-cnn-f16.onnx", FIXTURES).pathname;
const LOGITS = new URL("small-cnn-logits-f32.safetensors", FIXTURES).pathname;
/** Largest difference allowed, relative to each image's largest logit (magnitude). */
const TOLERANCE = 1e-5;
/** The same for the float16 model. */
const F16_TOLERANCE = 1e-2;

/** The layers the model imports as: BatchNorm folded, the flatten before the Gemm dropped. */
const KINDS = [
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
];

/** PyTorch's logits and the first images of the test set. */
async function reference(): Promise<{ logits: Float64Array; images: number; classes: number }> {
  const expected = (await readSafetensorsFile(LOGITS)).tensors.get("logits")!;
  const [images, classes] = expected.shape;
  return { logits: expected.toFloat64(), images, classes };
}

for (const storage of [f64, f32] as Storage[]) {
  Deno.test(`the PyTorch-trained small CNN imported in ${storage.name} gives PyTorch's logits`, async () => {
    const { logits: expected, images, classes } = await reference();
    const net = await readOnnxFile(MODEL, { storage });
    assert.ok(net.layers.every((l) => l.storage === storage));
    assert.deepEqual(net.layers.map((l) => l.kind), KINDS);
    const set = await readMnistDir(MNIST, "test");
    const actual = net.logits(imageBatch(set, 0, images, storage)).toFloat64();
    const worst = worstError(actual, expected, classes);
    assert.ok(worst <= TOLERANCE, `${worst}`);
    assert.deepEqual(argmax(actual, classes), argmax(expected, classes));
  });
}

Deno.test("the small CNN converted to float16 imports in float16 between its two Casts", async () => {
  const { logits: expected, images, classes } = await reference();
  const net = await readOnnxFile(MODEL_F16);
  assert.deepEqual(
    net.layers.map((l) => `${l.kind} ${l.storage.name}`),
    ["scale f16", ...KINDS.map((kind) => `${kind} f16`), "scale f32"],
  );

  const set = await readMnistDir(MNIST, "test");
  const actual = net.logits(imageBatch(set, 0, images, f32)).toFloat64();
  // float16 keeps 11 significant bits: the logits move by a few units in 2^-11 of the largest.
  const worst = worstError(actual, expected, classes);
  assert.ok(worst > TOLERANCE && worst < F16_TOLERANCE, `${worst}`);
});
