/**
 * The network container: naming, parameters, format conversion and per-layer outputs.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  bf16,
  deepConvNet,
  f16,
  f32,
  f64,
  Sequential,
  Tensor,
  tensor,
  withPrecision,
} from "../mod.ts";
import { Affine, Conv, networkFromSpec, networkSpec, Pool, Relu, Softmax } from "../layers/mod.ts";
import { randomValues } from "./_gradcheck.ts";

Deno.test("deepConvNet() has the reference layers, names and parameter shapes", () => {
  const net = deepConvNet();
  // deno-fmt-ignore
  assert.deepEqual(net.layers.map((l) => l.name), [
    "conv1", "relu1", "conv2", "relu2", "pool1",
    "conv3", "relu3", "conv4", "relu4", "pool2",
    "conv5", "relu5", "conv6", "relu6", "pool3",
    "affine1", "relu7", "dropout1", "affine2", "dropout2", "softmax1",
  ]);
  const shapes = Object.fromEntries([...net.params()].map(([name, t]) => [name, t.shape]));
  // deno-fmt-ignore
  assert.deepEqual(shapes, {
    W1: [16, 1, 3, 3], b1: [16], W2: [16, 16, 3, 3], b2: [16],
    W3: [32, 16, 3, 3], b3: [32], W4: [32, 32, 3, 3], b4: [32],
    W5: [64, 32, 3, 3], b5: [64], W6: [64, 64, 3, 3], b6: [64],
    W7: [1024, 50], b7: [50], W8: [50, 10], b8: [10],
  });
  // deno-fmt-ignore
  assert.deepEqual(net.shapes([5, 1, 28, 28]).map((s) => s.join("x")), [
    "5x16x28x28", "5x16x28x28", "5x16x28x28", "5x16x28x28", "5x16x14x14",
    "5x32x14x14", "5x32x14x14", "5x32x16x16", "5x32x16x16", "5x32x8x8",
    "5x64x8x8", "5x64x8x8", "5x64x8x8", "5x64x8x8", "5x64x4x4",
    "5x50", "5x50", "5x50", "5x10", "5x10", "5x10",
  ]);
});

Deno.test("He initialisation has the reference scale and is reproducible", () => {
  const w6 = deepConvNet({ seed: 5 }).params().get("W6")!.toFloat64();
  const std = Math.sqrt(w6.reduce((s, v) => s + v * v, 0) / w6.length);
  const expected = Math.sqrt(2 / (64 * 9));
  assert.ok(Math.abs(std / expected - 1) < 0.03, `std ${std}, expected ${expected}`);
  assert.deepEqual(deepConvNet({ seed: 5 }).params().get("W6")!.toFloat64(), w6);
  assert.notDeepEqual(deepConvNet({ seed: 6 }).params().get("W6")!.toFloat64(), w6);
});

Deno.test("loadParams() rejects missing, unexpected and misshapen tensors, changing nothing", () => {
  const net = deepConvNet();
  const before = net.params().get("W1")!.toFloat64();
  const tensors = new Map([...net.params()].map(([k, t]) => [k, t.to(f32)]));
  tensors.delete("b8");
  tensors.set("W3", new Tensor(f64, [16, 16, 3, 3]));
  tensors.set("W9", new Tensor(f64, [1]));
  tensors.set("W1", new Tensor(f64, [16, 1, 3, 3]));
  assert.throws(() => net.loadParams(tensors, "other.safetensors"), {
    name: "TypeError",
    message: 'Cannot load parameters from other.safetensors: tensor "W3" field "shape": ' +
      'expected [32,16,3,3] (conv3), found [16,16,3,3]; tensor "b8" is missing (expected shape ' +
      '[10]); tensor "W9" is not a parameter of this network',
  });
  assert.deepEqual(net.params().get("W1")!.toFloat64(), before);
});

Deno.test("to() re-stores a network and keeps its function; seed mode keeps the storage", () => {
  const net = deepConvNet({ seed: 3 });
  const x = tensor([2, 1, 28, 28], randomValues(2 * 784, 4).map(Math.abs));
  const wide = net.logits(x).toFloat64();
  for (const storage of [f32, f16, bf16]) {
    const narrow = net.to(storage);
    assert.ok(narrow.layers.every((l) => l.storage === storage));
    assert.deepEqual(
      narrow.params().get("W2")!.toFloat64(),
      net.params().get("W2")!.toFloat64().map(storage.round),
    );
    const got = narrow.logits(x.to(storage)).toFloat64();
    const err = got.reduce((w, v, i) => Math.max(w, Math.abs(v - wide[i])), 0);
    const scale = wide.reduce((w, v) => Math.max(w, Math.abs(v)), 0);
    assert.ok(err < 0.05 * scale, `${storage.name}: max error ${err} against scale ${scale}`);
  }
  const seeded = withPrecision(deepConvNet({ seed: 3 }), f16, "seed");
  assert.ok(seeded.layers.every((l) => l.storage === f64));
  assert.deepEqual(
    seeded.params().get("W7")!.toFloat64(),
    net.params().get("W7")!.toFloat64().map(f16.round),
  );
});

Deno.test("forward() reports every layer's output to trace, and logits() stops before softmax", () => {
  const net = new Sequential([
    new Conv({ inChannels: 1, outChannels: 30, kernel: 5 }),
    new Relu(),
    new Pool({ size: 2 }),
    new Affine({ inputs: 4320, outputs: 100 }),
    new Relu(),
    new Affine({ inputs: 100, outputs: 10 }),
    new Softmax(),
  ]);
  const seen: string[] = [];
  const x = tensor([1, 1, 28, 28], randomValues(784, 8));
  const probs = net.forward(x, { trace: (layer, y) => seen.push(`${layer.name}:${y.shape}`) });
  assert.deepEqual(seen, [
    "conv1:1,30,24,24",
    "relu1:1,30,24,24",
    "pool1:1,30,12,12",
    "affine1:1,100",
    "relu2:1,100",
    "affine2:1,10",
    "softmax1:1,10",
  ]);
  assert.ok(Math.abs(probs.toFloat64().reduce((a, b) => a + b) - 1) < 1e-12);
  assert.deepEqual(net.logits(x).shape, [1, 10]);
  assert.throws(() => net.layer("conv9"), { name: "RangeError", message: /expected one of conv1/ });
});

Deno.test("a network mixing formats converts at layer boundaries", () => {
  const net = deepConvNet({ seed: 9 }).to((l) => (l.kind === "conv" ? f32 : bf16));
  const formats: string[] = [];
  net.forward(new Tensor(f16, [1, 1, 28, 28]), {
    trace: (layer, y) => formats.push(`${layer.name}:${y.storage.name}`),
  });
  assert.equal(formats[0], "conv1:f32");
  assert.equal(formats[1], "relu1:bf16");
  assert.equal(formats.at(-1), "softmax1:bf16");
});

Deno.test("an f16 accumulator rounds every partial sum, survives to() and specs", () => {
  const net = deepConvNet({ seed: 2 });
  const x = tensor([1, 1, 28, 28], randomValues(784, 3).map(Math.abs));
  const wide = net.to(f16).logits(x.to(f16)).toFloat64();
  const narrowSums = net.to(f16, f16);
  assert.equal((narrowSums.layer("conv3") as Conv).accumulator, f16);
  assert.equal((narrowSums.to(f16).layer("affine2") as Affine).accumulator, f16, "kept by to()");
  const copy = networkFromSpec(networkSpec(narrowSums));
  assert.equal((copy.layer("conv1") as Conv).accumulator, f16, "kept by specs");
  const got = narrowSums.logits(x.to(f16)).toFloat64();
  const err = got.reduce((w, v, i) => Math.max(w, Math.abs(v - wide[i])), 0);
  // Rounding every partial sum costs precision, but not the order of magnitude.
  assert.ok(err > 0 && err < 0.5, `f16 accumulation moved the logits by ${err}`);
});
