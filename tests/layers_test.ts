/**
 * Forward examples worked by hand and numerical gradient checks for the six layers.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  Affine,
  bf16,
  Conv,
  Dropout,
  f16,
  Pool,
  Relu,
  Softmax,
  Tensor,
  tensor,
} from "../layers/mod.ts";
import { assertGradients, randomValues } from "./_gradcheck.ts";

Deno.test("conv.forward() matches a hand-worked example with padding and stride", () => {
  const conv = new Conv({ inChannels: 1, outChannels: 2, kernel: 3, stride: 2, pad: 1 });
  // Filter 0 picks the centre tap, filter 1 sums the window; biases 0.5 and -1.
  conv.params.W.set([0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
  conv.params.b.set([0.5, -1]);
  const x = tensor([1, 1, 3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const y = conv.forward(x);
  assert.deepEqual(y.shape, [1, 2, 2, 2]);
  // Windows centred on (0,0), (0,2), (2,0), (2,2); the border is zero.
  assert.deepEqual([...y.toFloat64()], [1.5, 3.5, 7.5, 9.5, 12 - 1, 16 - 1, 24 - 1, 28 - 1]);
});

Deno.test("conv.backward() matches the numerical gradient", () => {
  const conv = new Conv({ inChannels: 2, outChannels: 3, kernel: 3, stride: 2, pad: 1 });
  conv.params.W.set(randomValues(conv.params.W.size, 1));
  conv.params.b.set(randomValues(3, 2));
  assertGradients(conv, tensor([2, 2, 5, 4], randomValues(80, 3)));
});

Deno.test("conv with a rectangular kernel and unequal strides and pads matches a hand-worked example and the numerical gradient on both kernel paths", () => {
  // A 1x2 kernel summing a pair, stride 2 down and 1 across, a column of zeros on each side.
  const conv = new Conv({
    inChannels: 1,
    outChannels: 1,
    kernel: 1,
    kernelWidth: 2,
    stride: 2,
    strideWidth: 1,
    padWidth: 1,
  });
  conv.params.W.set([1, 1]);
  const y = conv.forward(tensor([1, 1, 3, 2], [1, 2, 3, 4, 5, 6]));
  assert.deepEqual(y.shape, [1, 1, 2, 3]);
  assert.deepEqual([...y.toFloat64()], [1, 3, 2, 5, 11, 6]);
  assert.deepEqual(conv.options, {
    inChannels: 1,
    outChannels: 1,
    kernel: 1,
    stride: 2,
    pad: 0,
    kernelWidth: 2,
    strideWidth: 1,
    padWidth: 1,
  });
  const shapes = [
    { kernel: 3, kernelWidth: 2, stride: 2, strideWidth: 1, pad: 1, padWidth: 0 },
    { kernel: 2, kernelWidth: 3, stride: 1, pad: 0, padWidth: 2 }, // stride 1: the GEMM in place
  ];
  for (const window of shapes) {
    for (const path of ["typescript", "wasm"] as const) {
      const rect = new Conv({ inChannels: 2, outChannels: 3, ...window, kernels: path });
      assert.deepEqual(rect.params.W.shape, [3, 2, window.kernel, window.kernelWidth]);
      rect.params.W.set(randomValues(rect.params.W.size, 1));
      rect.params.b.set(randomValues(3, 2));
      assertGradients(rect, tensor([2, 2, 5, 4], randomValues(80, 3)));
    }
  }
});

Deno.test("conv.forward() rejects an input with the wrong number of channels", () => {
  const conv = new Conv({ inChannels: 3, outChannels: 1, kernel: 3 });
  assert.throws(
    () => conv.forward(tensor([1, 1, 4, 4], new Float64Array(16))),
    {
      name: "TypeError",
      message: "Cannot run conv: input has shape [1,1,4,4], expected [*, 3, *, *]",
    },
  );
});

Deno.test("relu.forward() and backward() follow the sign of the input", () => {
  const relu = new Relu();
  assert.deepEqual([...relu.forward(tensor([4], [-2, -0.5, 0.5, 2])).toFloat64()], [0, 0, 0.5, 2]);
  assert.deepEqual([...relu.backward(tensor([4], [1, 2, 3, 4])).toFloat64()], [0, 0, 3, 4]);
  assertGradients(relu, tensor([3, 5], randomValues(15, 4)));
});

Deno.test("pool.forward() takes window maxima, with padding never chosen", () => {
  const pool = new Pool({ size: 2, stride: 2, pad: 1 });
  const x = tensor([1, 1, 3, 3], [-1, -2, -3, -4, -5, -6, -7, -8, -9]);
  assert.deepEqual([...pool.forward(x).toFloat64()], [-1, -2, -4, -5]);
});

Deno.test("pool.backward() matches the numerical gradient, overlapping windows included", () => {
  assertGradients(new Pool({ size: 3, stride: 2 }), tensor([2, 2, 5, 5], randomValues(100, 5)));
  assertGradients(new Pool({ size: 2 }), tensor([1, 3, 4, 6], randomValues(72, 6)));
});

Deno.test("pool with a rectangular window and unequal strides and pads matches a hand-worked example and the numerical gradient on both kernel paths", () => {
  const pool = new Pool({ size: 1, kernelWidth: 3, stride: 1, strideWidth: 2, padWidth: 1 });
  const y = pool.forward(tensor([1, 1, 2, 4], [1, 5, 2, 0, 3, 4, 7, 8]));
  assert.deepEqual(y.shape, [1, 1, 2, 2]);
  assert.deepEqual([...y.toFloat64()], [5, 5, 4, 8]);
  for (const path of ["typescript", "wasm"] as const) {
    const window = { size: 3, kernelWidth: 2, stride: 2, strideWidth: 1, pad: 1, kernels: path };
    assertGradients(new Pool(window), tensor([2, 2, 5, 5], randomValues(100, 5)));
    const disjoint = { size: 2, kernelWidth: 3, strideWidth: 3, kernels: path };
    assertGradients(new Pool(disjoint), tensor([1, 3, 4, 7], randomValues(84, 6)));
    const sides = { size: 3, stride: 2, pad: 0, padBottom: 2, padWidth: 1, padRight: 0 };
    assertGradients(
      new Pool({ ...sides, kernels: path }),
      tensor([2, 2, 6, 5], randomValues(120, 7)),
    );
  }
  // Borders per side: 1 row above, 2 below; windows of 3 rows at stride 2 over 4 rows.
  const sided = new Pool({ size: 3, kernelWidth: 1, stride: 2, pad: 1, padBottom: 2, padWidth: 0 });
  const column = sided.forward(tensor([1, 1, 4, 1], [-4, -3, -2, -1]));
  assert.deepEqual([...column.toFloat64()], [-3, -1, -1]);
});

Deno.test("pool.forward() propagates NaN", () => {
  const y = new Pool({ size: 2 }).forward(tensor([1, 1, 2, 2], [1, NaN, 3, 2]));
  assert.ok(Number.isNaN(y.toFloat64()[0]));
});

Deno.test("affine.forward() flattens NCHW input in order", () => {
  const fc = new Affine({ inputs: 4, outputs: 2 });
  fc.params.W.set([1, 0, 0, 1, 0, 10, 0, 100]); // (4, 2): column 1 weighs x1..x3 by 1, 10, 100
  fc.params.b.set([0.5, 0]);
  const y = fc.forward(tensor([1, 2, 1, 2], [1, 2, 3, 4]));
  assert.deepEqual([...y.toFloat64()], [1 + 0.5, 2 * 1 + 3 * 10 + 4 * 100]);
});

Deno.test("affine.backward() matches the numerical gradient", () => {
  const fc = new Affine({ inputs: 6, outputs: 5 });
  fc.params.W.set(randomValues(30, 7));
  fc.params.b.set(randomValues(5, 8));
  assertGradients(fc, tensor([3, 2, 3], randomValues(18, 9)));
});

Deno.test("dropout scales by 1 - ratio at inference and masks reproducibly in training", () => {
  const x = tensor([1000], new Float64Array(1000).fill(3));
  assert.deepEqual(new Set(new Dropout({ ratio: 0.25 }).forward(x).toFloat64()), new Set([2.25]));
  const a = new Dropout({ ratio: 0.5, seed: 42 }).forward(x, true).toFloat64();
  const b = new Dropout({ ratio: 0.5, seed: 42 }).forward(x, true).toFloat64();
  assert.deepEqual(a, b);
  const kept = a.filter((v) => v === 3).length;
  assert.equal(a.filter((v) => v === 0).length + kept, 1000);
  assert.ok(kept > 450 && kept < 550, `kept ${kept} of 1000 at ratio 0.5`);
  assertGradients(new Dropout({ seed: 3 }), tensor([4, 5], randomValues(20, 10)));
});

Deno.test("dropout.backward() uses the mask of its training pass", () => {
  const dropout = new Dropout({ seed: 11 });
  const y = dropout.forward(tensor([64], new Float64Array(64).fill(1)), true).toFloat64();
  const dx = dropout.backward(tensor([64], new Float64Array(64).fill(7))).toFloat64();
  assert.deepEqual([...dx], [...y].map((v) => v * 7));
});

Deno.test("softmax is stable for large logits and its gradients match", () => {
  const softmax = new Softmax();
  const p = softmax.forward(tensor([2, 3], [1000, 1000, 1000, -1000, 0, 1000])).toFloat64();
  assert.deepEqual([...p.subarray(0, 3)].map((v) => v * 3), [1, 1, 1]);
  assert.equal(p[5], 1);
  const { loss, dlogits } = softmax.crossEntropy([0, 3 - 1]);
  assert.ok(Math.abs(loss - Math.log(3) / 2) < 1e-12, `loss ${loss}`);
  assert.ok(Number.isFinite(softmax.crossEntropy([0, 0]).loss));
  const d = dlogits.toFloat64();
  assert.ok(Math.abs(d[0] - (1 / 3 - 1) / 2) < 1e-15, `dlogits[0] ${d[0]}`);
  assertGradients(new Softmax(), tensor([3, 4], randomValues(12, 12)));
});

Deno.test("softmax.crossEntropy() gradient matches the numerical gradient of the loss", () => {
  const logits = randomValues(12, 13);
  const labels = [3, 0, 2];
  const softmax = new Softmax();
  softmax.forward(tensor([3, 4], logits));
  const { dlogits } = softmax.crossEntropy(labels);
  const h = 1e-6;
  const lossAt = (v: Float64Array) => {
    softmax.forward(tensor([3, 4], v));
    return softmax.crossEntropy(labels).loss;
  };
  dlogits.toFloat64().forEach((g, i) => {
    const up = Float64Array.from(logits), down = Float64Array.from(logits);
    up[i] += h, down[i] -= h;
    const numeric = (lossAt(up) - lossAt(down)) / (2 * h);
    assert.ok(Math.abs(g - numeric) < 1e-8, `dlogits[${i}]: ${g} vs ${numeric}`);
  });
  assert.throws(() => softmax.crossEntropy([0, 1, 4]), RangeError);
});

Deno.test("every layer stores its output in its own format, whatever the input's", () => {
  const x = Tensor.from(bf16, [1, 1, 4, 4], randomValues(16, 14));
  const layers = [
    new Conv({ inChannels: 1, outChannels: 2, kernel: 3, storage: f16 }),
    new Relu({ storage: f16 }),
    new Pool({ size: 2, storage: f16 }),
    new Dropout({ storage: f16 }),
    new Affine({ inputs: 16, outputs: 3, storage: f16 }),
    new Softmax({ storage: f16 }),
  ];
  for (const layer of layers) {
    const y = layer.forward(x);
    assert.equal(y.storage, f16, layer.kind);
    assert.equal(layer.backward(new Tensor(bf16, y.shape)).storage, f16, layer.kind);
  }
});
