/**
 * The wasm backward passes against the TypeScript reference, in every storage format and at odd
 * shapes: conv and affine gradients within the bound of float32 accumulation (float64 for f64)
 * plus one rounding to the format, and within 1e-5 of the largest gradient in f32; bias
 * gradients, ReLU and max pooling identical (pooling's backward is also checked, through its
 * argmax, in kernel_path_test.ts); and a few training steps of DeepConvNet with the same loss
 * on both paths.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  Adam,
  Affine,
  BatchNorm,
  bf16,
  Conv,
  deepConvNet,
  f16,
  f32,
  f64,
  type KernelPath,
  type Layer,
  lossAndGradients,
  Pool,
  Relu,
  reseedDropout,
  type Storage,
  storageByName,
  STORAGES,
  Tensor,
} from "../layers/mod.ts";
import { randomValues, smallIntegers } from "./_gradcheck.ts";
import { assertWithinBound } from "./_wasm_bound.ts";
import { specialValues } from "./_special_values.ts";
import { backwardFormats } from "../layers/wasm/staging.ts";

/**
 * The storage formats, minifloats of 8 bits and fewer (on the wasm path by their tables), and
 * one with values outside float32 (computed in float64).
 */
const FORMATS: readonly Storage[] = [
  ...STORAGES,
  ...["e4m3", "e5m2", "e3m4", "e3m2", "e5m2-rz", "e9m6"].map(storageByName),
];

/** The input gradient and every parameter gradient of `layer` for `x` and `dout`, widened. */
function gradients(layer: Layer, x: Tensor, dout: Tensor): Map<string, Float64Array> {
  layer.forward(x, true);
  const dx = layer.backward(dout).toFloat64();
  const grads = Object.entries(layer.grads).map(([k, g]) => [k, g.toFloat64()] as const);
  return new Map([["x", dx], ...grads]);
}

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function abs(t: Tensor): Tensor {
  return Tensor.from(f64, t.shape, t.toFloat64().map(Math.abs));
}

/**
 * Checks the wasm gradients of `layer` for input values `xValues` of `shape` against the exact
 * ones (the reference path in f64 on the same stored values) within the bound of sums of
 * `depths[name]` terms; the bias gradient, a float64 sum on both paths, must equal the
 * reference path's in the layer's format; in f32, every gradient must be within 1e-5 of the
 * largest of its tensor on the reference path, and some must differ from it (float32 sums
 * against float64 ones: the wasm path ran).
 */
function checkBackward(
  layer: Layer,
  xValues: Float64Array,
  shape: number[],
  depths: Record<string, number>,
): void {
  const { storage } = layer;
  const x = Tensor.from(storage, shape, xValues);
  const outShape = layer.outputShape(shape);
  const dout = Tensor.from(storage, outShape, randomValues(sizeOf(outShape), 21));
  const got = gradients(layer.withKernels!("wasm"), x, dout);
  const reference = gradients(layer.withKernels!("typescript"), x, dout);
  const exactLayer = layer.to(f64).withKernels!("typescript");
  const exact = gradients(exactLayer, x.to(f64), dout.to(f64));
  const absLayer = layer.to(f64).withKernels!("typescript");
  for (const p of Object.values(absLayer.params)) p.set(p.toFloat64().map(Math.abs));
  const magnitude = gradients(absLayer, abs(x), abs(dout));
  const worst: string[] = [];
  // Float32 sums differ from float64 ones somewhere: proof that the wasm path ran at all.
  const sameAsReference = [...got].every(([name, v]) =>
    v.every((g, i) => g === reference.get(name)![i])
  );
  if (storage === f32) {
    assert.ok(!sameAsReference, `${layer.name} [${shape}]: the wasm path did not run`);
  }
  for (const [name, values] of got) {
    const label = `${layer.name} ${storage.name} [${shape}] d${name}`;
    if (name === "b") {
      assert.deepEqual(values, reference.get(name), label);
      continue;
    }
    const ratio = assertWithinBound(
      storage,
      { got: values, exact: exact.get(name)!, magnitude: magnitude.get(name)! },
      depths[name],
      label,
    );
    worst.push(`d${name} ${ratio.toFixed(3)}`);
    if (storage === f32) {
      const ref = reference.get(name)!;
      const largest = ref.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      const diff = values.reduce((m, v, i) => Math.max(m, Math.abs(v - ref[i])), 0);
      assert.ok(diff <= 1e-5 * largest, `${label}: ${diff} of largest ${largest}`);
    }
  }
  console.log(`${layer.name} ${storage.name} [${shape}]: worst error of bound ${worst.join(", ")}`);
}

Deno.test("conv backward on the wasm path stays within the float32 bound in every format", () => {
  const convs = [
    { inChannels: 3, outChannels: 5, kernel: 3, pad: 1, shape: [3, 3, 11, 9] },
    // strides above 1: the input gradient through col2im
    { inChannels: 3, outChannels: 5, kernel: 5, stride: 2, pad: 2, shape: [3, 3, 11, 9] },
    { inChannels: 3, outChannels: 4, kernel: 3, stride: 3, pad: 0, shape: [2, 3, 12, 13] },
    { inChannels: 6, outChannels: 7, kernel: 3, pad: 2, shape: [2, 6, 10, 13] },
    { inChannels: 1, outChannels: 2, kernel: 5, pad: 0, shape: [1, 1, 9, 9] },
    { inChannels: 5, outChannels: 9, kernel: 2, pad: 1, shape: [3, 5, 7, 17] },
    { inChannels: 4, outChannels: 3, kernel: 1, pad: 0, shape: [2, 4, 6, 5] },
    // 9 positions per image: images go through the weight GEMM in groups, the last one partial
    { inChannels: 2, outChannels: 3, kernel: 3, pad: 0, shape: [250, 2, 5, 5] },
    // rectangular kernels, unequal strides and pads: through col2im, and through the forward code
    {
      inChannels: 3,
      outChannels: 4,
      kernel: 3,
      kernelWidth: 2,
      stride: 2,
      strideWidth: 1,
      pad: 1,
      padWidth: 0,
      shape: [2, 3, 11, 9],
    },
    {
      inChannels: 2,
      outChannels: 3,
      kernel: 2,
      kernelWidth: 3,
      pad: 0,
      padWidth: 2,
      shape: [3, 2, 6, 5],
    },
  ];
  for (const { shape, ...options } of convs) {
    const area = options.kernel * (options.kernelWidth ?? options.kernel);
    const weights = randomValues(options.outChannels * options.inChannels * area, 1);
    const bias = randomValues(options.outChannels, 2);
    for (const storage of FORMATS) {
      const conv = new Conv({ ...options, storage });
      conv.params.W.set(weights);
      conv.params.b.set(bias);
      const [n, , oh, ow] = conv.outputShape(shape);
      const depths = { x: options.outChannels * area, W: n * oh * ow };
      checkBackward(conv, randomValues(sizeOf(shape), 3), shape, depths);
    }
  }
});

Deno.test("affine backward on the wasm path stays within the float32 bound in every format", () => {
  for (const [n, inputs, outputs] of [[1, 7, 3], [3, 50, 10], [5, 33, 17], [100, 1024, 50]]) {
    const weights = randomValues(inputs * outputs, 7);
    for (const storage of FORMATS) {
      const affine = new Affine({ inputs, outputs, storage });
      affine.params.W.set(weights);
      checkBackward(affine, randomValues(n * inputs, 9), [n, inputs], { x: outputs, W: n });
    }
  }
});

Deno.test("relu backward is identical on both paths in every format, special values included", () => {
  for (const storage of FORMATS) {
    for (const length of [1, 7, 8, 9, 70000]) {
      const relu = new Relu({ storage });
      const x = Tensor.from(storage, [length], specialValues(storage, length, length));
      const dout = Tensor.from(storage, [length], specialValues(storage, length, length + 1));
      const dx = (path: KernelPath) => {
        const onPath = relu.withKernels!(path);
        onPath.forward(x);
        return onPath.backward(dout).toFloat64();
      };
      assert.deepEqual(dx("wasm"), dx("typescript"), `${storage.name} length ${length}`);
    }
  }
});

/** The gradients of `layer` on `path` for `x` and `dout` (see {@linkcode gradients}). */
function gradientsOn(path: KernelPath, layer: Layer, x: Tensor, dout: Tensor) {
  return gradients(layer.withKernels!(path), x, dout);
}

Deno.test("backward passes at a format boundary run on wasm, identical to the reference when exact", () => {
  // Small integers: every product and sum is exact in every format below, so the float32 sums
  // of the wasm path and the float64 ones of the reference agree bitwise; x and dy each arrive
  // in another format than the layer's (e9m6 computes in float64).
  const formats = [f64, f32, f16, storageByName("e4m3"), storageByName("e9m6")];
  const layers: [Layer, number[]][] = [
    [new Conv({ inChannels: 2, outChannels: 3, kernel: 3, pad: 1 }), [2, 2, 5, 6]],
    [new Conv({ inChannels: 2, outChannels: 3, kernel: 3, stride: 2 }), [2, 2, 7, 7]],
    [new Affine({ inputs: 12, outputs: 5 }), [3, 12]],
    [new Relu(), [2, 3, 4, 5]],
    [new Pool({ size: 2, stride: 2 }), [2, 3, 4, 6]],
    // overlapping windows: an input can receive two gradients, summed in float64
    [new Pool({ size: 3, stride: 2 }), [2, 3, 7, 7]],
    [new BatchNorm({ channels: 3 }), [2, 3, 4, 5]],
  ];
  let compared = 0;
  for (const [plain, shape] of layers) {
    for (const storage of formats) {
      const layer = plain.to!(storage);
      for (const p of Object.values(layer.params)) p.set(smallIntegers(p.size, p.size));
      for (const [input, gradient] of formats.flatMap((a) => formats.map((b) => [a, b]))) {
        const label = `${layer.name} ${storage.name}, x in ${input.name}, dy in ${gradient.name}`;
        assert.ok(backwardFormats("wasm", storage, input, gradient), label);
        const x = Tensor.from(input, shape, smallIntegers(sizeOf(shape), 7));
        const outShape = layer.outputShape(shape);
        const dout = Tensor.from(gradient, outShape, smallIntegers(sizeOf(outShape), 8));
        const wasm = gradientsOn("wasm", layer, x, dout);
        assert.deepEqual(wasm, gradientsOn("typescript", layer, x, dout), label);
        compared++;
      }
    }
  }
  assert.equal(compared, layers.length * formats.length ** 3);
});

Deno.test("max pooling's backward with overlapping windows sums in float64 on wasm, as the reference", () => {
  // Stride 1 under a 3 x 3 window: an input can receive up to nine gradients, of magnitudes far
  // apart, whose float32 sums would round before the one rounding to f16 and e4m3.
  const shape = [2, 2, 6, 6];
  const x = Tensor.from(f32, shape, randomValues(sizeOf(shape), 11));
  for (const storage of [f16, storageByName("e4m3"), f32]) {
    const pool = new Pool({ size: 3, stride: 1, storage });
    const outShape = pool.outputShape(shape);
    const spread = randomValues(sizeOf(outShape), 12).map((v, i) => v * 2 ** ((i % 7) * 4 - 12));
    const dout = Tensor.from(f32, outShape, spread);
    const wasm = gradientsOn("wasm", pool, x, dout);
    assert.deepEqual(wasm, gradientsOn("typescript", pool, x, dout), storage.name);
  }
});

Deno.test("conv and affine backward at a format boundary sum in float32 on wasm, within the bound", () => {
  // Values that float32 sums round: the two paths differ, so the wasm path ran.
  const layers: [Layer, number[], number][] = [
    [new Conv({ inChannels: 3, outChannels: 4, kernel: 3, pad: 1 }), [2, 3, 6, 7], 3 * 9],
    [new Affine({ inputs: 40, outputs: 7 }), [3, 40], 40],
  ];
  for (const [plain, shape] of layers) {
    const layer = plain.to!(f32);
    for (const p of Object.values(layer.params)) p.set(randomValues(p.size, p.size));
    const x = Tensor.from(f16, shape, randomValues(sizeOf(shape), 9));
    const outShape = layer.outputShape(shape);
    const dout = Tensor.from(bf16, outShape, randomValues(sizeOf(outShape), 10));
    const wasm = gradientsOn("wasm", layer, x, dout);
    const reference = gradientsOn("typescript", layer, x, dout);
    assert.notDeepEqual(wasm.get("x"), reference.get("x"), layer.name);
    const scale = Math.max(...reference.get("x")!.map(Math.abs));
    wasm.get("x")!.forEach((v, i) => {
      assert.ok(Math.abs(v - reference.get("x")![i]) <= 1e-5 * scale, `${layer.name} dx ${i}`);
    });
  }
});

/**
 * The losses of `steps` Adam steps of DeepConvNet in `storage` on a small batch, from the same
 * weights and dropout masks, on `path`.
 */
function lossTrajectory(storage: Storage, path: KernelPath, steps: number): number[] {
  const net = deepConvNet({ seed: 1 }).withKernels!(path).to(storage);
  const x = Tensor.from(storage, [6, 1, 28, 28], randomValues(6 * 784, 31).map(Math.abs));
  const labels = [3, 1, 4, 1, 5, 9];
  const optimizer = new Adam({ lr: 0.001 });
  return Array.from({ length: steps }, (_, step) => {
    reseedDropout(net, step);
    const loss = lossAndGradients(net, x, labels);
    optimizer.step(net);
    return loss;
  });
}

Deno.test("training steps give the same losses on both paths", () => {
  // f64: both paths sum in float64, in different orders. f32: float32 sums on the wasm path.
  // f16 and bf16: one step of the format (2^-11, 2^-8) can separate the two paths' stored
  // activations and gradients, and the updates carry it from step to step: 16 steps allowed.
  const tolerances: [Storage, number][] = [
    [f64, 1e-12],
    [f32, 1e-5],
    [f16, 2 ** -7],
    [bf16, 2 ** -4],
  ];
  for (const [storage, tolerance] of tolerances) {
    const wasm = lossTrajectory(storage, "wasm", 4);
    const reference = lossTrajectory(storage, "typescript", 4);
    console.log(`${storage.name}: wasm ${wasm.join(", ")}; reference ${reference.join(", ")}`);
    assert.ok(reference[3] < reference[0], `${storage.name}: the loss goes down`);
    wasm.forEach((loss, i) =>
      assert.ok(
        Math.abs(loss - reference[i]) <= tolerance * reference[i],
        `${storage.name} step ${i}: ${loss} vs ${reference[i]}`,
      )
    );
  }
});
