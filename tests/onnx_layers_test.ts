/**
 * The layers ONNX import needs beyond DeepConvNet's: forward values, storage, and backward
 * against numerical gradients.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  AvgPool,
  BatchNorm,
  bf16,
  f16,
  f32,
  f64,
  Flatten,
  Scale,
  Tensor,
  tensor,
  ZeroPad,
} from "../layers/mod.ts";
import { assertGradients, randomValues } from "./_gradcheck.ts";

Deno.test("scale multiplies or divides once in float64, rounding once to its format", () => {
  const third = new Scale({ divisor: 3, storage: f32 });
  assert.deepEqual([...third.forward(tensor([2], [1, 2])).toFloat64()], [
    Math.fround(1 / 3),
    Math.fround(2 / 3),
  ]);
  const cast = new Scale({ storage: bf16 });
  assert.deepEqual([...cast.forward(Tensor.from(f32, [1], [1 / 3])).toFloat64()], [0.333984375]);
  assert.throws(() => new Scale({ divisor: 0 }), RangeError);
  assertGradients(new Scale({ factor: -1.5 }), tensor([2, 3], randomValues(6, 1)));
  assertGradients(new Scale({ divisor: 7 }), tensor([2, 1, 2, 2], randomValues(8, 2)));
});

Deno.test("flatten makes rows, keeps values, and re-stores them in its format", () => {
  const flatten = new Flatten({ storage: f16 });
  const y = flatten.forward(tensor([2, 1, 1, 2], [1, 0.1, 3, 4]));
  assert.deepEqual(y.shape, [2, 2]);
  assert.equal(y.storage, f16);
  assert.deepEqual([...y.toFloat64()], [1, 0.0999755859375, 3, 4]);
  assertGradients(new Flatten(), tensor([2, 2, 1, 3], randomValues(12, 3)));
});

Deno.test("avgpool: padding counted or not, ceil mode, rectangular windows, gradients", () => {
  const x = tensor([1, 1, 3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  // 2x2 windows, stride 2, ceil mode: the last row and column make partial windows.
  const ceil = new AvgPool({ kernelHeight: 2, ceilMode: 1 });
  assert.deepEqual([...ceil.forward(x).toFloat64()], [3, 4.5, 7.5, 9]);
  // Pad 1 on every side, 3x3 windows, stride 2: the corner window holds 4 of 9 elements.
  const opts = { kernelHeight: 3, strideHeight: 2, strideWidth: 2, padTop: 1, padLeft: 1 };
  assert.deepEqual([...new AvgPool(opts).forward(x).toFloat64()], [3, 4, 6, 7]);
  const counted = new AvgPool({ ...opts, countIncludePad: 1 });
  assert.deepEqual([...counted.forward(x).toFloat64()], [12 / 9, 16 / 9, 24 / 9, 28 / 9]);
  const wide = new AvgPool({ kernelHeight: 1, kernelWidth: 3, strideWidth: 1 });
  assert.deepEqual([...wide.forward(x).toFloat64()], [2, 5, 8]);
  assertGradients(ceil, tensor([2, 2, 3, 5], randomValues(60, 4)));
  assertGradients(counted, tensor([1, 2, 4, 3], randomValues(24, 5)));
  assert.throws(() => new AvgPool({ kernelHeight: 2, padTop: 2 }), RangeError);
});

Deno.test("batchnorm scales and shifts per channel, in any rank from 2", () => {
  const bn = new BatchNorm({ channels: 3, storage: f32 });
  bn.params.scale.set([1, 2, 3]);
  bn.params.shift.set([0, 1, -1]);
  assert.deepEqual([...bn.forward(tensor([1, 3], [1, 1, 1])).toFloat64()], [1, 3, 2]);
  const wide = bn.to(f64);
  wide.params.scale.set(randomValues(3, 6));
  wide.params.shift.set(randomValues(3, 7));
  assertGradients(wide, tensor([2, 3, 2, 2], randomValues(24, 8)));
  assertGradients(wide, tensor([4, 3], randomValues(12, 9)));
});

Deno.test("zeropad: a border of zeros per side, the gradient cropped, values rounded once", () => {
  const pad = new ZeroPad({ top: 1, right: 2 });
  const x = tensor([1, 1, 2, 2], [1, 2, 3, 4]);
  assert.deepEqual(pad.outputShape(x.shape), [1, 1, 3, 4]);
  assert.deepEqual([...pad.forward(x).toFloat64()], [0, 0, 0, 0, 1, 2, 0, 0, 3, 4, 0, 0]);
  const narrow = pad.to(f16).forward(tensor([1, 1, 1, 1], [0.1]));
  assert.equal(narrow.storage, f16);
  assert.deepEqual([...narrow.toFloat64()], [
    0,
    0,
    0,
    Tensor.from(f16, [1], [0.1]).toFloat64()[0],
    0,
    0,
  ]);
  assertGradients(new ZeroPad({ left: 1, bottom: 2 }), tensor([2, 2, 3, 2], randomValues(24, 10)));
  assert.throws(() => new ZeroPad({ top: -1 }), RangeError);
});
