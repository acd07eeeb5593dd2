/**
 * The first non-finite value: the right layer, image, count and origin on constructed networks,
 * and on DeepConvNet in a format that overflows (e3m4, largest finite value 15.5), where the
 * answer is checked image by image and does not depend on the batch.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  deepConvNet,
  f16,
  imageBatch,
  Sequential,
  storageByName,
  Tensor,
  withPrecision,
} from "../mod.ts";
import { Affine, Scale } from "../layers/mod.ts";
import { firstNonFinite, firstNonFiniteOver } from "../analysis/mod.ts";
import { readMnistDir, readSafetensorsFile } from "../data/files.ts";
import { MNIST, WEIGHTS } from "./_data.ts";

const scales = () =>
  new Sequential([
    new Scale({ factor: 100, storage: f16 }),
    new Scale({ factor: 100, storage: f16 }),
  ]);

Deno.test("the first layer in network order, its first image, and the count there", () => {
  const x = Tensor.from(f16, [4, 1], [10, 1, 700, 800]);
  // scale2 overflows on image 0 first, but scale1 comes first in the network (images 2, 3).
  assert.deepEqual(firstNonFinite(scales(), x), {
    layer: "scale1",
    count: 2,
    image: 2,
    inputNonFinite: false,
  });
  assert.deepEqual(firstNonFinite(scales(), x, 5)?.image, 7);
  assert.deepEqual(firstNonFinite(scales(), Tensor.from(f16, [1, 1], [10]))?.layer, "scale2");
  assert.equal(firstNonFinite(scales(), Tensor.from(f16, [2, 1], [1, -1])), null);
});

Deno.test("a value already non-finite in the input, or made by a weight", () => {
  const x = Tensor.from(f16, [2, 1], [1, Infinity]);
  assert.deepEqual(firstNonFinite(scales(), x), {
    layer: "scale1",
    count: 1,
    image: 1,
    inputNonFinite: true,
  });
  const affine = new Sequential([new Affine({ inputs: 2, outputs: 3, storage: f16 })]);
  affine.layers[0].params.W.set([1, 0, 0, 0, NaN, 0]);
  assert.deepEqual(firstNonFinite(affine, Tensor.from(f16, [2, 2], [1, 1, 0, 0])), {
    layer: "affine1",
    count: 2,
    image: 0,
    inputNonFinite: false,
  });
});

Deno.test("DeepConvNet in e3m4: the layer and image found image by image, any batch", async () => {
  const set = await readMnistDir(MNIST, "test");
  const net = deepConvNet();
  net.loadParams((await readSafetensorsFile(WEIGHTS)).tensors, WEIGHTS);
  const e3m4 = storageByName("e3m4");
  const narrow = withPrecision(net, e3m4, "store");
  const images = 12;
  // Image by image: the first layer whose output holds a non-finite value, and how many.
  const alone = Array.from({ length: images }, (_, i) => {
    const counts: number[] = [];
    narrow.forward(imageBatch(set, i, 1, e3m4), {
      trace: (_, y) => counts.push(y.toFloat64().filter((v) => !Number.isFinite(v)).length),
    });
    return counts;
  });
  const layer = Math.min(...alone.map((c) => c.findIndex((n) => n > 0)).filter((j) => j >= 0));
  const image = alone.findIndex((c) => c[layer] > 0);
  const count = alone.reduce((sum, c) => sum + c[layer], 0);
  assert.ok(layer > 0 && count > 0, "e3m4 overflows inside DeepConvNet on these images");
  const expected = { layer: narrow.layers[layer].name, count, image, inputNonFinite: false };
  for (const batch of [5, images]) {
    const found = await firstNonFiniteOver(narrow, set, { format: e3m4, limit: images, batch });
    assert.deepEqual(found, expected, `batch ${batch}`);
  }
});
