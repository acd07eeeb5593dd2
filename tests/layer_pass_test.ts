/**
 * The one pass of `analyze`: its classes and first non-finite values are those of separate
 * classification runs, and a worker pool gives the results of one thread.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  classifyImages,
  deepConvNet,
  f64,
  imageBatch,
  type LabeledImages,
  Sequential,
  storageByName,
  WorkerPool,
} from "../mod.ts";
import { Scale, Softmax } from "../layers/mod.ts";
import {
  analyzeFormats,
  classifyFindingNonFinite,
  layerPass,
  layerReports,
} from "../analysis/mod.ts";
import { readMnistDir, readSafetensorsFile } from "../data/files.ts";
import { MNIST, WEIGHTS } from "./_data.ts";

const IMAGES = 12;

async function bookNet() {
  const net = deepConvNet();
  net.loadParams((await readSafetensorsFile(WEIGHTS)).tensors, WEIGHTS);
  return net;
}

Deno.test("layerPass() classifies and finds the first non-finite value as separate runs do", async () => {
  const set = await readMnistDir(MNIST, "test");
  const net = await bookNet();
  // e3m4 (largest finite value 15.5) overflows inside the network; f16 does not.
  const formats = ["e3m4", "f16", "e2m3-rz"].map(storageByName);
  const candidates = formats.map((format) => net.to(format));
  const pass = layerPass(net, candidates, imageBatch(set, 0, IMAGES, f64), { batch: 5 });
  assert.deepEqual(pass.reference, await classifyImages(net, set, { limit: IMAGES }));
  assert.ok(pass.candidates[0].firstNonFinite !== null, "e3m4 overflows");
  for (const [i, format] of formats.entries()) {
    const { layers: _, ...found } = pass.candidates[i];
    const alone = await classifyFindingNonFinite(candidates[i], set, { format, limit: IMAGES });
    assert.deepEqual(found, alone, format.name);
  }
});

Deno.test("a format's classes come from its logits, as in eval, where its softmax ties", async () => {
  // Pixels 0 and 10 give logits 0 and 10/255; their probabilities, 0.49 and 0.51, are both 0.5
  // in e5m2, whose logits still tell them apart.
  const set: LabeledImages = {
    images: new Uint8Array([0, 10]),
    labels: new Uint8Array([1]),
    shape: [1, 1, 1, 2],
    classes: 2,
  };
  const net = new Sequential([new Scale({ factor: 1 }), new Softmax()]);
  const e5m2 = storageByName("e5m2");
  const narrow = net.to(e5m2);
  const x = imageBatch(set, 0, 1, f64);
  assert.deepEqual([...narrow.forward(x.to(e5m2)).toFloat64()], [0.5, 0.5]);
  assert.deepEqual([...narrow.classify(x.to(e5m2))], [1]);
  assert.deepEqual([...layerPass(net, [narrow], x).candidates[0].predictions], [1]);
  const { predictions } = await classifyFindingNonFinite(narrow, set, { format: e5m2 });
  assert.deepEqual([...predictions], [1]);
});

Deno.test("WorkerPool.layerPass() gives one thread's results, whatever the number of workers", async () => {
  const set = await readMnistDir(MNIST, "test");
  const net = await bookNet();
  const x = imageBatch(set, 0, IMAGES, f64);
  const candidates = ["f16", "e4m3", "int8", "e3m4"].map((name) => net.to(storageByName(name)));
  const expected = layerPass(net, candidates, x, { batch: 5 });
  for (const size of [1, 2, 3]) {
    using pool = new WorkerPool({ size });
    assert.deepEqual(await pool.layerPass(net, candidates, x, { batch: 5 }), expected, `${size}`);
  }
});

Deno.test("WorkerPool.layerPass() refuses a candidate that rounds stochastically", async () => {
  const net = deepConvNet({ seed: 1 });
  const x = imageBatch(
    { images: new Uint8Array(784), labels: new Uint8Array(1), shape: [1, 1, 28, 28], classes: 10 },
    0,
    1,
    f64,
  );
  using pool = new WorkerPool({ size: 1 });
  await assert.rejects(
    pool.layerPass(net, [net.to(storageByName("e4m3-sr1"))], x),
    RangeError,
  );
});

Deno.test("analyzeFormats() runs a format that scales from its batch on batches of 100, as eval does", async () => {
  const set = await readMnistDir(MNIST, "test");
  const net = await bookNet();
  const images = 200;
  const x = imageBatch(set, 0, images, f64);
  const int8 = storageByName("int8");
  const { results } = await analyzeFormats(net, set, [int8, storageByName("e4m3")], { images });
  const byHundreds = layerReports(net, net.to(int8), x, { batch: 100 });
  assert.deepEqual(results[0].layers, byHundreds);
  // The batch matters to int8: its activations' scale is each batch's amax.
  assert.notDeepEqual(layerReports(net, net.to(int8), x, { batch: 20 }), byHundreds);
  // And to nothing else: e4m3's report is the same on any batch.
  assert.deepEqual(results[1].layers, layerReports(net, net.to(storageByName("e4m3")), x));
});
