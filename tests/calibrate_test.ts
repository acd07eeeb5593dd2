/** Static activation scales: calibration on images that are not evaluated. */
import assert from "node:assert/strict";
import {
  deepConvNet,
  f64,
  imageBatch,
  type LabeledImages,
  networkSearchProblem,
  type Sequential,
  storageByName,
} from "../mod.ts";
import type { Conv } from "../layers/mod.ts";
import { activationAmax, calibrate, sharedImages } from "../analysis/mod.ts";
import { firstImages, selectImages } from "../data/mod.ts";
import { readMnistDir, readSafetensorsFile } from "../data/files.ts";
import { scalesNote } from "../cli/_calibration.ts";
import { assertOneLineError, runCli, runEval } from "./_eval_cli.ts";
import { MNIST, testSetAlone, trainingSlice, WEIGHTS } from "./_data.ts";

const test = await readMnistDir(MNIST, "test");

async function bookNet(): Promise<Sequential> {
  const net = deepConvNet();
  net.loadParams((await readSafetensorsFile(WEIGHTS)).tensors);
  return net;
}

/** The largest magnitude of each conv and affine layer's input, running layer by layer. */
function amaxByHand(net: Sequential, set: LabeledImages): Record<string, number> {
  const expected: Record<string, number> = {};
  let x = imageBatch(set, 0, set.shape[0], f64);
  for (const layer of net.layers) {
    if (layer.kind === "conv" || layer.kind === "affine") {
      expected[layer.name] = x.toFloat64().reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    }
    x = layer.forward(x);
  }
  return expected;
}

Deno.test("activationAmax is each product layer's input amax over every batch", async () => {
  const net = await bookNet();
  const set = firstImages(test, 23);
  const amax = activationAmax(net, set, 5); // five batches, the last partial
  assert.deepEqual(amax, amaxByHand(net, set));
  assert.deepEqual(Object.keys(amax), [
    "conv1",
    "conv2",
    "conv3",
    "conv4",
    "conv5",
    "conv6",
    "affine1",
    "affine2",
  ]);
  // Another slice gives other scales: the amax depends on the images.
  assert.notDeepEqual(activationAmax(net, selectImages(test, [100, 101, 102])), amax);
});

Deno.test("calibrate sets every product layer's activationAmax, and an int8 run then uses it", async () => {
  const net = await bookNet();
  const calibration = selectImages(test, [9000, 9001, 9002, 9003]);
  const evaluated = firstImages(test, 50);
  const { net: calibrated, scales } = calibrate(net, calibration, {
    images: 3,
    source: "the last images",
    evaluated,
  });
  const expected = amaxByHand(net, firstImages(calibration, 3));
  assert.deepEqual(scales, {
    mode: "static",
    images: 3,
    source: "the last images",
    amax: expected,
  });
  for (const [name, value] of Object.entries(expected)) {
    assert.equal((calibrated.layer(name) as Conv).options.activationAmax, value);
  }
  // int8 activations are scaled per tensor: static and dynamic scales give other logits.
  const int8 = storageByName("int8");
  const x = imageBatch(evaluated, 0, 50, int8);
  assert.notDeepEqual(
    calibrated.to(int8).logits(x).toFloat64(),
    net.to(int8).logits(x).toFloat64(),
  );
});

Deno.test("calibration refuses images that are evaluated, by content", async () => {
  const net = await bookNet();
  const evaluated = firstImages(test, 40);
  // Image 7 again, as a float copy (pixel / 255): the same image in other clothes.
  const copy = imageBatch(test, 7, 1, f64).toFloat64();
  const calibration: LabeledImages = {
    images: Float64Array.from([...imageBatch(test, 5000, 2, f64).toFloat64(), ...copy]),
    shape: [3, 1, 28, 28],
    labels: new Uint8Array(3),
    classes: 10,
  };
  assert.deepEqual(sharedImages(calibration, evaluated), [2]);
  assert.throws(
    () => calibrate(net, calibration, { images: 3, source: "mixed", evaluated }),
    /^RangeError: Cannot calibrate on mixed: 1 of the 3 calibration images \(the first: image 2\) are also evaluated$/,
  );
  // The first two are not evaluated: calibrating on them alone is fine.
  assert.equal(
    calibrate(net, calibration, { images: 2, source: "mixed", evaluated }).scales.mode,
    "static",
  );
  assert.throws(
    () => calibrate(net, calibration, { images: 4, source: "mixed", evaluated }),
    /expected 1 to the 3 it has/,
  );
});

Deno.test("the search calibrates on its search split only, never on a held-out image", async () => {
  const net = await bookNet();
  // Ten images split evenly: the odd ones are the search split, the even ones held out.
  // Held-out images are all white, so any of them in the calibration would show in conv1's amax.
  const images = new Float64Array(10 * 784);
  for (let i = 0; i < 10; i++) {
    images.fill(i % 2 === 1 ? 0.25 * (i / 9) : 1, i * 784, (i + 1) * 784);
  }
  const set: LabeledImages = {
    images,
    shape: [10, 1, 28, 28],
    labels: new Uint8Array(10),
    classes: 10,
  };
  const problem = networkSearchProblem(net, set, {
    formats: ["int8"],
    searchImages: 5,
    calibrationImages: 4,
  });
  const { activationScales: scales } = problem;
  assert.ok(scales.mode === "static");
  assert.deepEqual(scales.amax, amaxByHand(net, selectImages(set, [1, 3, 5, 7])));
  assert.equal(scales.amax.conv1, 0.25 * 7 / 9);
  assert.equal(problem.settings.calibrationImages, 4);
  assert.throws(
    () =>
      networkSearchProblem(net, set, { formats: ["int8"], searchImages: 5, calibrationImages: 6 }),
    /Cannot calibrate on 6 images of the search split: expected 1 to the 5 it has/,
  );
  assert.equal(
    networkSearchProblem(net, set, { formats: ["int8"] }).activationScales.mode,
    "dynamic",
  );
});

Deno.test("eval --calibrate: from a training folder, recorded in the JSON; overlap refused", async () => {
  const disjoint = await trainingSlice(20, 9980);
  const overlapping = await trainingSlice(20);
  const alone = await testSetAlone();
  try {
    const common = [
      "--formats",
      "int8",
      "--mode",
      "store",
      "--limit",
      "30",
      "--workers",
      "1",
      "--json",
    ];
    const out = await runEval([...common, "--calibrate", "10", "--calibration-data", disjoint]);
    assert.equal(out.code, 0, out.stderr);
    const report = JSON.parse(out.stdout);
    const expected = amaxByHand(
      await bookNet(),
      selectImages(test, [...Array(10).keys()].map((i) => 9980 + i)),
    );
    assert.deepEqual(report.activationScales, {
      mode: "static",
      images: 10,
      source: `MNIST training set (${disjoint})`,
      amax: expected,
    });
    assert.match(
      out.stderr,
      /Activation scales: static, calibrated on 10 images of MNIST training set/,
    );
    const dynamic = await runEval(common);
    assert.deepEqual(JSON.parse(dynamic.stdout).activationScales, { mode: "dynamic" });
    // A training set holding evaluated images is refused, naming the overlap.
    assertOneLineError(
      await runEval([...common, "--calibrate", "10", "--calibration-data", overlapping]),
      2,
      /--calibrate: Cannot calibrate on MNIST training set .*: 10 of the 10 calibration images \(the first: image 0\) are also evaluated/,
    );
    // No training files beside the test set: a data error naming the file.
    assertOneLineError(
      await runEval([...common, "--calibrate", "10", "--data", alone]),
      1,
      /train-images-idx3-ubyte\.gz/,
    );
  } finally {
    await Deno.remove(disjoint, { recursive: true });
    await Deno.remove(overlapping, { recursive: true });
    await Deno.remove(alone, { recursive: true });
  }
});

Deno.test("search --calibrate: more images than the search split is a one-line usage error", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const log = `${dir}/search.jsonl`;
    assertOneLineError(
      await runCli("search", ["--limit", "10", "--calibrate", "6", "--log", log]),
      2,
      /--calibrate is 6, but the search split has 5 images/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("scalesNote() names the activation scales only where a run quantizes with them", () => {
  const [f16, int8, mxfp4] = ["f16", "int8", "mxfp4"].map((name) => storageByName(name));
  const dynamic = { mode: "dynamic" } as const;
  const calibrated = { mode: "static", images: 10, source: "train", amax: {} } as const;
  assert.equal(scalesNote(dynamic, { batch: 100, formats: [f16] }), undefined);
  assert.equal(
    scalesNote(dynamic, { batch: 100, formats: [f16, int8] }),
    "dynamic (per batch of 100)",
  );
  assert.equal(scalesNote(dynamic, { batch: 50, formats: [mxfp4] }), "dynamic (per batch of 50)");
  assert.equal(
    scalesNote(dynamic, { batch: 100, formats: [f16], configured: true }),
    "dynamic (per batch of 100)",
  );
  assert.equal(
    scalesNote(calibrated, { batch: 100, formats: [f16] }),
    "static, calibrated on 10 images of train",
  );
});

Deno.test("search names the activation scales when it searches a scaled format", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const out = await runCli("search", [
      ...["--log", `${dir}/log.jsonl`, "--limit", "20", "--formats", "f32,int8"],
      ...["--max-evaluations", "1", "--sensitivity-images", "2", "--workers", "1"],
    ]);
    assert.equal(out.code, 0, out.stderr);
    assert.match(
      out.stdout,
      /^Activation scales of scaled formats: dynamic \(per batch of 100\)\.$/m,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
