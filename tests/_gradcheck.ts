/**
 * Numerical gradient checking for layers, in float64.
 *
 * @module
 */
import assert from "node:assert/strict";
import { type Layer, type Tensor, tensor } from "../mod.ts";
import { Random } from "../layers/random.ts";

/** Uniform values in [-1, 1) from a seed, so every check is reproducible. */
export function randomValues(length: number, seed: number): Float64Array {
  const random = new Random(seed);
  return Float64Array.from({ length }, () => 2 * random.uniform() - 1);
}

/**
 * Small integers (-3 to 3) from a seed: every product and short sum of them is exact in every
 * format, so the kernel paths agree bitwise.
 */
export function smallIntegers(length: number, seed: number): Float64Array {
  return randomValues(length, seed).map((v) => Math.round(v * 3));
}

/**
 * Checks `layer.backward` against central differences of the scalar
 * L(x, params) = sum(forward(x) * dout), for the input and every parameter, and fails with the
 * worst relative error when it exceeds `tolerance`.
 */
export function assertGradients(
  layer: Layer,
  input: Tensor,
  options: { tolerance?: number; train?: boolean } = {},
): void {
  const { tolerance = 1e-7, train = false } = options;
  const outShape = layer.outputShape(input.shape);
  const dout = randomValues(outShape.reduce((a, b) => a * b, 1), 99);
  const loss = (x: Tensor) => {
    const y = layer.forward(x, train).toFloat64();
    return y.reduce((sum, v, i) => sum + v * dout[i], 0);
  };
  layer.forward(input, train);
  const dx = layer.backward(tensor(outShape, dout)).toFloat64();
  const analytic = new Map<string, Float64Array>([["input", dx]]);
  for (const [key, g] of Object.entries(layer.grads)) analytic.set(key, g.toFloat64());

  const targets = new Map<string, Tensor>([["input", input], ...Object.entries(layer.params)]);
  for (const [name, target] of targets) {
    const values = target.toFloat64();
    const numeric = new Float64Array(values.length);
    const h = 1e-6;
    for (let i = 0; i < values.length; i++) {
      const saved = values[i];
      values[i] = saved + h;
      target.set(values);
      const up = loss(input);
      values[i] = saved - h;
      target.set(values);
      const down = loss(input);
      values[i] = saved;
      target.set(values);
      numeric[i] = (up - down) / (2 * h);
    }
    const got = analytic.get(name)!;
    let worst = 0;
    let at = 0;
    for (let i = 0; i < numeric.length; i++) {
      const err = Math.abs(got[i] - numeric[i]) / Math.max(1, Math.abs(numeric[i]));
      if (err > worst) worst = err, at = i;
    }
    assert.ok(
      worst < tolerance,
      `${layer.name} d${name}[${at}]: backward ${got[at]}, numerical ${numeric[at]} ` +
        `(relative error ${worst})`,
    );
  }
}
