/**
 * The wasm kernel path of the layers imported models need (average pooling, batch
 * normalisation, scale, zero padding) against the TypeScript reference, forward and backward, in
 * every storage format, minifloats in deterministic and stochastic rounding, at odd shapes, from
 * inputs in every format (float64 ones included): identical (both compute in float64 and round
 * each result once), and within the float32 bound of the exact result; and each layer records
 * the path it ran on.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  AvgPool,
  BatchNorm,
  f16,
  f32,
  f64,
  type KernelPath,
  type Layer,
  networkFromSpec,
  networkSpec,
  Scale,
  Sequential,
  type Storage,
  storageByName,
  STORAGES,
  Tensor,
  ZeroPad,
} from "../layers/mod.ts";
import { randomValues } from "./_gradcheck.ts";
import { assertWithinBound } from "./_wasm_bound.ts";
import { doubleValues } from "./_special_values.ts";

const FORMATS: readonly Storage[] = [
  ...STORAGES,
  ...["e4m3", "e5m2", "e3m4", "e5m2-rz", "e4m3-sr7", "e5m10", "e6m9-rz", "e9m6"].map(
    storageByName,
  ),
];

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Forward output, input gradient and parameter gradients of `layer` on `path`, widened. */
function run(layer: Layer, path: KernelPath, x: Tensor, dout: Tensor): Map<string, Float64Array> {
  const onPath = layer.withKernels!(path);
  // A stochastic format draws from its stream: both paths start it at the same place.
  onPath.storage.stream?.restart(1);
  const y = onPath.forward(x).toFloat64();
  const dx = onPath.backward(dout).toFloat64();
  const grads = Object.entries(onPath.grads).map(([k, g]) => [k, g.toFloat64()] as const);
  return new Map([["y", y], ["dx", dx], ...grads]);
}

/**
 * Checks `make(storage)` on input `shape` in every format: the arithmetic record says wasm,
 * for an input in the format and a float64 one; both give the reference path's numbers exactly
 * (forward, and for the first backward too); every format stays within the bound of sums of
 * `depth` terms of the exact result (the reference path in f64 on the same stored values).
 */
function checkLayer(make: (storage: Storage) => Layer, shape: number[], depth: number): void {
  for (const storage of FORMATS) {
    const layer = make(storage);
    const label = `${layer.kind} ${storage.name} [${shape}]`;
    for (const input of [storage, f64]) {
      assert.deepEqual(layer.withKernels!("wasm").arithmetic!(input).path, "wasm", label);
    }
    const x = Tensor.from(storage, shape, randomValues(sizeOf(shape), 3));
    const outShape = layer.outputShape(shape);
    const dout = Tensor.from(storage, outShape, randomValues(sizeOf(outShape), 4));
    const got = run(layer, "wasm", x, dout);
    const reference = run(layer, "typescript", x, dout);
    assert.deepEqual(got, reference, label);
    // A float64 input, read unrounded: values of every size, ties of the format among them.
    const wide = Tensor.from(f64, shape, doubleValues(storage, sizeOf(shape), 5));
    const forward = (path: KernelPath) => {
      const onPath = layer.withKernels!(path);
      onPath.storage.stream?.restart(1);
      return onPath.forward(wide).toFloat64();
    };
    assert.deepEqual(forward("wasm"), forward("typescript"), `${label}, float64 input`);
    const exact = run(layer.to(f64), "typescript", x.to(f64), dout.to(f64));
    const absLayer = layer.to(f64).withKernels!("typescript");
    for (const p of Object.values(absLayer.params)) p.set(p.toFloat64().map(Math.abs));
    const abs = (t: Tensor) => Tensor.from(f64, t.shape, t.toFloat64().map(Math.abs));
    const magnitude = run(absLayer, "typescript", abs(x), abs(dout));
    for (const [name, values] of got) {
      // Parameter gradients are float64 sums on both paths, rounded once to the format.
      const terms = name === "y" || name === "dx" ? depth : sizeOf(shape);
      const sums = { got: values, exact: exact.get(name)!, magnitude: magnitude.get(name)! };
      assertWithinBound(storage, sums, terms, `${label} ${name}`);
    }
  }
}

Deno.test("average pooling on the wasm path matches the reference in every format", () => {
  const windows = [
    { kernelHeight: 2, shape: [3, 5, 9, 11] },
    { kernelHeight: 3, kernelWidth: 2, strideHeight: 2, strideWidth: 1, shape: [2, 3, 9, 7] },
    {
      kernelHeight: 3,
      strideHeight: 2,
      strideWidth: 2,
      padTop: 1,
      padLeft: 2,
      padBottom: 0,
      padRight: 1,
      shape: [2, 3, 8, 9],
    },
    {
      kernelHeight: 3,
      strideHeight: 2,
      strideWidth: 2,
      padTop: 1,
      countIncludePad: 1,
      ceilMode: 1,
      shape: [1, 2, 8, 8],
    },
    { kernelHeight: 7, kernelWidth: 5, shape: [4, 6, 7, 5] }, // global
  ];
  for (const { shape, ...window } of windows) {
    const depth = window.kernelHeight * (window.kernelWidth ?? window.kernelHeight);
    checkLayer((storage) => new AvgPool({ ...window, storage }), shape, depth);
  }
});

Deno.test("batch normalisation on the wasm path matches the reference in every format", () => {
  for (const shape of [[3, 5, 7, 9], [4, 13], [1, 3, 1, 1]]) {
    const make = (storage: Storage) => {
      const bn = new BatchNorm({ channels: shape[1], storage });
      bn.params.scale.set(randomValues(shape[1], 5).map((v) => 1 + v));
      bn.params.shift.set(randomValues(shape[1], 6));
      return bn;
    };
    checkLayer(make, shape, 2);
  }
});

Deno.test("scale and zero padding on the wasm path match the reference in every format", () => {
  for (const shape of [[2, 3, 5, 7], [70001]]) {
    checkLayer((storage) => new Scale({ factor: 0.3, storage }), shape, 1);
    checkLayer((storage) => new Scale({ divisor: 7, storage }), shape, 1);
  }
  const pads = { top: 1, left: 0, bottom: 2, right: 3 };
  checkLayer((storage) => new ZeroPad({ ...pads, storage }), [2, 3, 5, 7], 0);
});

Deno.test("the wasm path rounds once from float64, not through float32: a float16 tie", () => {
  // 1 · (1 + 2^-11 + 2^-30) rounds to f16 1 + 2^-10 directly, but to f32 1 + 2^-11 (a tie of
  // f16) first, which would round to even: 1.
  const scale = new Scale({ factor: 1 + 2 ** -11 + 2 ** -30, storage: f16 });
  const x = Tensor.from(f16, [1], [1]);
  for (const path of ["typescript", "wasm"] as const) {
    assert.deepEqual([...scale.withKernels(path).forward(x).toFloat64()], [1 + 2 ** -10], path);
  }
});

Deno.test("at a format boundary the wasm path gives the reference's numbers: casts, and layers after them", () => {
  // Every layer from a narrower format into f32 or f64 (one rounding, from float64, on both
  // paths); the layers that compute nothing (a Cast, a padding) into a narrower format too,
  // as an imported model's Casts from f32 to f16 and back.
  const shape = [2, 3, 5, 7];
  const values = randomValues(sizeOf(shape), 8).map((v) => 100 * v);
  const e4m3 = storageByName("e4m3");
  const pairs = [[f16, f32], [f16, f64], [e4m3, f32], [f32, f16], [f32, e4m3], [f16, e4m3]];
  pairs.push([f64, f32], [f64, f16], [f64, e4m3], [e4m3, f16]);
  for (const [from, to] of pairs) {
    const x = Tensor.from(from, shape, values);
    const layers: Layer[] = [
      new Scale({ storage: to }),
      new ZeroPad({ top: 1, right: 2, storage: to }),
      new AvgPool({ kernelHeight: 2, strideHeight: 1, storage: to }),
      new BatchNorm({ channels: 3, storage: to }),
    ];
    for (const layer of layers) {
      const label = `${layer.kind} ${from.name} to ${to.name}`;
      assert.equal(layer.withKernels!("wasm").arithmetic!(from).path, "wasm", label);
      const y = (path: KernelPath) => layer.withKernels!(path).forward(x).toFloat64();
      assert.deepEqual(y("wasm"), y("typescript"), label);
      if (layer.kind === "batchnorm") continue; // backward reads its input: same format only
      const outShape = layer.outputShape(shape);
      const grad = Tensor.from(from, outShape, randomValues(sizeOf(outShape), 9));
      const dx = (path: KernelPath) => {
        const onPath = layer.withKernels!(path);
        onPath.forward(Tensor.from(to, shape, values));
        return onPath.backward(grad).toFloat64();
      };
      assert.deepEqual(dx("wasm"), dx("typescript"), `${label} backward`);
    }
  }
});

Deno.test("the layers keep their kernel path through to() and a spec, and report it", () => {
  const net = new Sequential([
    new ZeroPad({ top: 1, storage: f16 }),
    new BatchNorm({ channels: 2, storage: f16 }),
    new AvgPool({ kernelHeight: 2, storage: f16 }),
    new Scale({ factor: 2, storage: f16 }),
  ]);
  const paths = (n: Sequential, input: Storage) => n.arithmetic(input).map((a) => a.path);
  assert.deepEqual(paths(net.withKernels("wasm"), f16), ["wasm", "wasm", "wasm", "wasm"]);
  assert.deepEqual(net.withKernels("wasm").arithmetic(f16)[2].accumulation, "float64");
  // An input in another format is widened on loading, a float64 one read as it is.
  assert.deepEqual(paths(net.withKernels("wasm"), f32), ["wasm", "wasm", "wasm", "wasm"]);
  assert.deepEqual(paths(net.withKernels("wasm"), f64), ["wasm", "wasm", "wasm", "wasm"]);
  const reference = net.withKernels("typescript").to(f32);
  assert.deepEqual(paths(reference, f32), ["typescript", "typescript", "typescript", "typescript"]);
  const copy = networkFromSpec(structuredClone(networkSpec(reference)));
  assert.deepEqual(copy.arithmetic(f32), reference.arithmetic(f32));
});
