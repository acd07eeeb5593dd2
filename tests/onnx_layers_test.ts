/**
 * The layers ONNX import needs beyond DeepConvNet's: forward values, storage, and backward
 * against numerical gradients.
 *
 * @module
 */
import assert from "node:assert/strict";
import { bf16, f16, f32, Flatten, Scale, Tensor, tensor } from "../mod.ts";
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
