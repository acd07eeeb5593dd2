/**
 * The wasm kernel path against the TypeScript reference, layer by layer, in every storage
 * format, minifloats of 8 and 16 bits in deterministic and stochastic rounding, and at odd
 * shapes: conv and affine within the bound of float32 accumulation plus one
 * rounding to the format (and bit-identical when every result is exact), ReLU and max pooling
 * identical, special values included.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  deepConvNet,
  f16,
  f32,
  f64,
  type Layer,
  type Storage,
  storageByName,
  Tensor,
  WorkerPool,
} from "../mod.ts";
import { SCALED_SCHEMES, STORAGES } from "../layers/storage/mod.ts";
import {
  Affine,
  Conv,
  type KernelPath,
  kernelPath,
  networkFromSpec,
  networkSpec,
  Pool,
  Relu,
} from "../layers/mod.ts";
import { randomValues, smallIntegers } from "./_gradcheck.ts";
import { assertWithinBound as assertSums } from "./_wasm_bound.ts";
import { doubleValues, specialValues } from "./_special_values.ts";

/** The storage formats, and minifloats (on the wasm path through tables of their codes). */
const FORMATS: readonly Storage[] = [
  ...STORAGES,
  ...[
    "e4m3",
    "e5m2",
    "e3m4",
    "e3m2",
    "e5m2-rz",
    "e4m3-sr7",
    "e5m2-sr3-bits4",
    "e3m4-sre2",
    "e5m10",
    "e6m9-rz",
    // values outside float32's range: computed in float64
    "e9m6",
    "e5m2-b-100",
    "e10m5-sr3",
  ].map(
    storageByName,
  ),
];

/** The forward output of `layer` on `x` on each path, widened. */
function bothPaths(layer: Layer, x: Tensor): { wasm: Float64Array; reference: Float64Array } {
  // A stochastic format or accumulator draws from its stream: both paths start it at the same
  // place.
  const accumulator = "accumulator" in layer ? layer.accumulator as Storage | undefined : undefined;
  const forward = (path: KernelPath) => {
    layer.storage.stream?.restart(1);
    accumulator?.stream?.restart(1);
    return layer.withKernels!(path).forward(x).toFloat64();
  };
  return { wasm: forward("wasm"), reference: forward("typescript") };
}

/**
 * Checks the wasm forward of `layer` (made in `storage`) on `x` against the exact result (the
 * reference path in f64 on the same stored values): within (depth + 2) unit roundoffs of
 * sum |w x| + |b| (float32 accumulation, Higham's bound) plus half a step of the format.
 */
function assertWithinBound(
  make: (storage: Storage) => Layer,
  storage: Storage,
  values: Float64Array,
  shape: number[],
  depth: number,
): void {
  const layer = make(storage);
  const x = Tensor.from(storage, shape, values);
  const exactLayer = layer.to(f64).withKernels!("typescript");
  const exact = exactLayer.forward(x.to(f64)).toFloat64();
  const absLayer = layer.to(f64).withKernels!("typescript");
  for (const p of Object.values(absLayer.params)) p.set(p.toFloat64().map(Math.abs));
  const magnitude = absLayer.forward(Tensor.from(f64, shape, x.toFloat64().map(Math.abs)))
    .toFloat64();
  const got = layer.withKernels!("wasm").forward(x).toFloat64();
  const label = `${layer.name} ${storage.name} [${shape}] output`;
  const worst = assertSums(storage, { got, exact, magnitude }, depth, label);
  console.log(`${layer.name} ${storage.name} [${shape}]: worst error ${worst.toFixed(3)} of bound`);
}

const CONVS = [
  { inChannels: 3, outChannels: 5, kernel: 5, stride: 2, pad: 2, shape: [3, 3, 11, 9] },
  { inChannels: 3, outChannels: 5, kernel: 5, stride: 2, pad: 0, shape: [1, 3, 12, 13] },
  { inChannels: 6, outChannels: 7, kernel: 3, stride: 1, pad: 1, shape: [3, 6, 10, 13] },
  { inChannels: 1, outChannels: 2, kernel: 5, stride: 1, pad: 0, shape: [1, 1, 9, 9] },
  { inChannels: 5, outChannels: 9, kernel: 3, stride: 1, pad: 2, shape: [3, 5, 7, 17] },
  // rectangular kernels, unequal strides and pads
  {
    inChannels: 3,
    outChannels: 5,
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
    kernel: 1,
    kernelWidth: 4,
    stride: 1,
    pad: 0,
    padWidth: 3,
    shape: [2, 2, 5, 7],
  },
];

Deno.test("conv forward on the wasm path stays within the float32 bound in every format", () => {
  for (const { shape, ...options } of CONVS) {
    const area = options.kernel * (options.kernelWidth ?? options.kernel);
    const weights = randomValues(options.outChannels * options.inChannels * area, 1);
    const bias = randomValues(options.outChannels, 2);
    const make = (storage: Storage) => {
      const conv = new Conv({ ...options, storage });
      conv.params.W.set(weights);
      conv.params.b.set(bias);
      return conv;
    };
    const size = shape.reduce((a, b) => a * b, 1);
    for (const storage of FORMATS) {
      assertWithinBound(make, storage, randomValues(size, 3), shape, options.inChannels * area);
    }
  }
});

Deno.test("conv forward is bit-identical on both paths when every result is exact", () => {
  for (const { shape, ...options } of CONVS) {
    const size = shape.reduce((a, b) => a * b, 1);
    for (const storage of FORMATS) {
      const conv = new Conv({ ...options, storage });
      conv.params.W.set(smallIntegers(conv.params.W.size, 4));
      conv.params.b.set(smallIntegers(conv.params.b.size, 5));
      const { wasm, reference } = bothPaths(
        conv,
        Tensor.from(storage, shape, smallIntegers(size, 6)),
      );
      assert.deepEqual(wasm, reference, `${storage.name} [${shape}]`);
    }
  }
});

Deno.test("affine forward on the wasm path stays within the float32 bound in every format", () => {
  // n x inputs times inputs x outputs; one input is a GEMM of a single depth step.
  const shapes = [[2, 1, 4], [1, 7, 3], [3, 50, 10], [5, 33, 17], [100, 1024, 50]];
  for (const [n, inputs, outputs] of shapes) {
    const weights = randomValues(inputs * outputs, 7);
    const bias = randomValues(outputs, 8);
    const make = (storage: Storage) => {
      const affine = new Affine({ inputs, outputs, storage });
      affine.params.W.set(weights);
      affine.params.b.set(bias);
      return affine;
    };
    for (const storage of FORMATS) {
      assertWithinBound(make, storage, randomValues(n * inputs, 9), [n, inputs], inputs);
      const affine = make(storage);
      affine.params.W.set(smallIntegers(inputs * outputs, 10));
      const x = Tensor.from(storage, [n, inputs], smallIntegers(n * inputs, 11));
      const { wasm, reference } = bothPaths(affine, x);
      if (inputs <= 50) assert.deepEqual(wasm, reference, `${storage.name} exact ${n}x${inputs}`);
    }
  }
});

Deno.test("on the wasm path each output of affine sums alike whatever tile it falls in", () => {
  // The GEMM runs its columns (affine's outputs) 6 at a time, the last tile filled in part:
  // each output, computed alone, must have the same bits as among 1 to 13 others.
  const inputs = 37;
  const x = Tensor.from(f32, [3, inputs], randomValues(3 * inputs, 12));
  for (let outputs = 1; outputs <= 13; outputs++) {
    const weights = randomValues(inputs * outputs, 13);
    const bias = randomValues(outputs, 14);
    const affine = new Affine({ inputs, outputs, storage: f32, kernels: "wasm" });
    affine.params.W.set(weights);
    affine.params.b.set(bias);
    const all = affine.forward(x).toFloat64();
    for (let j = 0; j < outputs; j++) {
      const alone = new Affine({ inputs, outputs: 1, storage: f32, kernels: "wasm" });
      alone.params.W.set(weights.filter((_, i) => i % outputs === j));
      alone.params.b.set([bias[j]]);
      const column = alone.forward(x).toFloat64();
      const among = all.filter((_, i) => i % outputs === j);
      assert.deepEqual(among, column, `output ${j} of ${outputs}`);
    }
  }
});

Deno.test("conv and affine in every scaled format quantize identically on both paths", () => {
  const products: [Layer & Pick<Conv, "scaledOperands">, number[]][] = [
    ...CONVS.map(({ shape, ...options }) => [new Conv(options), shape] as [Conv, number[]]),
    ...[[3, 50, 10], [5, 70, 17]].map(([n, inputs, outputs]) =>
      [new Affine({ inputs, outputs }), [n, inputs]] as [Affine, number[]]
    ),
  ];
  for (const [plain, shape] of products) {
    const size = shape.reduce((a, b) => a * b, 1);
    for (const scheme of SCALED_SCHEMES) {
      const storage = storageByName(scheme.name);
      const layer = plain.to!(storage) as typeof plain;
      for (const p of Object.values(layer.params)) p.set(randomValues(p.size, p.size));
      const x = Tensor.from(
        f32,
        shape,
        specialValues(f32, size, size).map((v, i) => Number.isFinite(v) ? v : i / 100),
      );
      const onPath = (path: KernelPath) => layer.withKernels!(path) as typeof plain;
      const label = `${layer.name} ${scheme.name} [${shape}]`;
      const reference = onPath("typescript").scaledOperands(x)!;
      assert.deepEqual(onPath("wasm").scaledOperands(x), reference, label);
      // The wasm forward is the f32 layer's wasm forward on those operands.
      const twin = plain.to!(f32).withKernels!("wasm");
      twin.params.W.set(reference.weights);
      twin.params.b.set(layer.params.b.toFloat64());
      const expected = twin.forward(new Tensor(f32, shape, reference.input)).toFloat64();
      const wasmLayer = onPath("wasm");
      assert.deepEqual(wasmLayer.forward(x).toFloat64(), expected, label);
      // Inference quantizes in the kernels' memory, training on the twin: the same outputs,
      // and the same gradients after either, with a calibrated amax too.
      const { shape: outShape, size: outSize } = wasmLayer.forward(x);
      const dout = Tensor.from(f32, [...outShape], randomValues(outSize, outSize));
      const gradients = (train: boolean) => {
        wasmLayer.forward(x, train);
        const dx = wasmLayer.backward(dout).toFloat64();
        return [dx, wasmLayer.grads.W.toFloat64(), wasmLayer.grads.b.toFloat64()];
      };
      assert.deepEqual(gradients(false), gradients(true), `${label} gradients`);
      (wasmLayer.options as { activationAmax?: number }).activationAmax = 3;
      const calibrated = wasmLayer.forward(x).toFloat64();
      assert.deepEqual(wasmLayer.forward(x, true).toFloat64(), calibrated, `${label} calibrated`);
      // Where every sum is exact (MX blocks of small integers), both paths agree bitwise.
      if (scheme.granularity !== "mx") continue;
      for (const p of Object.values(layer.params)) p.set(smallIntegers(p.size, 18));
      const { wasm, reference: exact } = bothPaths(
        layer,
        Tensor.from(storage, shape, smallIntegers(size, 19)),
      );
      assert.deepEqual(wasm, exact, `${label} exact`);
    }
  }
});

Deno.test("relu forward is identical on both paths in every format, special values included", () => {
  for (const storage of FORMATS) {
    for (const length of [1, 7, 8, 9, 70000]) {
      const relu = new Relu({ storage });
      const x = Tensor.from(storage, [length], specialValues(storage, length, length));
      const { wasm, reference } = bothPaths(relu, x);
      assert.deepEqual(wasm, reference, `${storage.name} length ${length}`);
    }
  }
});

Deno.test("max pool forward and its argmax are identical on both paths in every format", () => {
  const windows = [
    { size: 2, stride: 2, pad: 0, shape: [3, 5, 28, 28] },
    { size: 2, stride: 2, pad: 0, shape: [1, 2, 9, 15] },
    { size: 2, stride: 2, pad: 0, shape: [2, 3, 8, 8] },
    { size: 3, stride: 2, pad: 1, shape: [2, 3, 9, 10] },
    { size: 2, stride: 1, pad: 0, shape: [1, 2, 5, 6] },
    { size: 3, kernelWidth: 2, stride: 2, strideWidth: 1, pad: 1, shape: [2, 3, 9, 10] },
    { size: 1, kernelWidth: 3, stride: 1, strideWidth: 3, padWidth: 1, shape: [2, 3, 5, 10] },
    { size: 3, stride: 2, pad: 0, padBottom: 2, padWidth: 1, padRight: 0, shape: [2, 3, 8, 7] },
    // 2x2 at stride 2 with a border below and right: not the kernel's 2x2 fast path
    { size: 2, stride: 2, pad: 0, padBottom: 1, padRight: 1, shape: [2, 3, 9, 7] },
  ];
  for (const { shape, ...window } of windows) {
    const size = shape.reduce((a, b) => a * b, 1);
    for (const storage of FORMATS) {
      for (const values of [specialValues(storage, size, 12), randomValues(size, 13)]) {
        const pool = new Pool({ ...window, storage });
        const x = Tensor.from(storage, shape, values);
        const { wasm, reference } = bothPaths(pool, x);
        assert.deepEqual(wasm, reference, `${storage.name} [${shape}] size ${window.size}`);
        // The argmax decides where backward routes each gradient.
        const dout = Tensor.from(storage, pool.outputShape(shape), randomValues(wasm.length, 14));
        const routes = (path: KernelPath) => {
          const onPath = pool.withKernels!(path);
          storage.stream?.restart(2);
          onPath.forward(x);
          return onPath.backward(dout).toFloat64();
        };
        assert.deepEqual(routes("wasm"), routes("typescript"), `${storage.name} argmax`);
      }
    }
  }
});

Deno.test("conv and affine compute the same whatever format their input arrives in", () => {
  // Values every input format holds exactly (E4M3's), whose sums float32 and float64 round apart.
  const e4m3 = storageByName("e4m3");
  const e9m6 = storageByName("e9m6"); // computed in float64, its values past float32's range
  const inputs = [f64, f32, f16, storageByName("bf16"), e4m3, e9m6];
  const layers: [Layer, number[]][] = [
    [new Conv({ inChannels: 3, outChannels: 4, kernel: 3, pad: 1 }), [2, 3, 6, 7]],
    [new Conv({ inChannels: 3, outChannels: 4, kernel: 3, stride: 2 }), [2, 3, 9, 7]],
    [new Affine({ inputs: 40, outputs: 7 }), [3, 40]],
  ];
  for (const [plain, shape] of layers) {
    const size = shape.reduce((a, b) => a * b, 1);
    const values = randomValues(size, 20).map((v) => e4m3.round(v * 8));
    for (const storage of [f64, f32, f16, storageByName("bf16"), storageByName("e5m2-rz"), e9m6]) {
      const layer = plain.to!(storage).withKernels!("wasm");
      for (const p of Object.values(layer.params)) p.set(randomValues(p.size, p.size));
      const own = layer.forward(Tensor.from(f32, shape, values)).toFloat64();
      for (const input of inputs) {
        const label = `${layer.name} ${storage.name} [${shape}], input in ${input.name}`;
        assert.deepEqual(layer.arithmetic!(input).path, "wasm", label);
        const x = Tensor.from(input, shape, values);
        assert.deepEqual(layer.forward(x).toFloat64(), own, label);
      }
      // The reference sums in float64: the wasm path's float32 sums differ somewhere.
      if (storage === f32) {
        const reference = layer.withKernels!("typescript").forward(Tensor.from(f16, shape, values));
        assert.notDeepEqual(reference.toFloat64(), own, `${layer.name} on the reference path`);
      }
    }
  }
});

Deno.test("relu and max pool at a format boundary run on wasm, identical to the reference", () => {
  const formats = [
    f64,
    f32,
    f16,
    storageByName("bf16"),
    storageByName("e4m3"),
    storageByName("e9m6"),
  ];
  const others = ["e5m2-sr3", "e3m4-sre2", "e6m9-rz", "f16-polyfill", "mxfp4", "e5m2-b-100"].map(
    storageByName,
  );
  const shape = [2, 3, 9, 10];
  const size = shape.reduce((a, b) => a * b, 1);
  const layers = [new Relu(), new Pool({ size: 2, stride: 2 }), new Pool({ size: 3, stride: 2 })];
  for (const plain of layers) {
    for (const storage of [...formats, ...others]) {
      const layer = plain.to!(storage);
      for (const input of formats) {
        const label = `${layer.name} ${storage.name}, input in ${input.name}`;
        assert.equal(layer.withKernels!("wasm").arithmetic!(input).path, "wasm", label);
        const cases = [specialValues(input, size, 21), randomValues(size, 22)];
        // A float64 input is rounded once, from float64.
        if (input === f64) cases.push(doubleValues(storage, size, 23));
        for (const values of cases) {
          const { wasm, reference } = bothPaths(layer, Tensor.from(input, shape, values));
          assert.deepEqual(wasm, reference, label);
        }
      }
    }
  }
});

Deno.test("accumulators of f16, bf16, f32 and every minifloat sum on wasm, as the reference", () => {
  const layers: [Layer, number[]][] = [
    ...CONVS.slice(2).map(({ shape, ...options }) =>
      [new Conv(options), shape] as [Conv, number[]]
    ),
    [new Affine({ inputs: 70, outputs: 9 }), [5, 70]],
  ];
  for (const [plain, shape] of layers) {
    const size = shape.reduce((a, b) => a * b, 1);
    for (const storage of [f32, f16, storageByName("bf16"), storageByName("e4m3")]) {
      // Minifloats: wider and narrower, overflowing to NaN, saturating, truncating, past float32,
      // stochastic (one number per partial sum, drawn in the reference's order).
      const minifloats = [
        "e5m7",
        "e4m3",
        "e5m2-sat",
        "e6m9-rz",
        "e9m6",
        "e5m7-sr1",
        "e4m3-sr2-bits4",
      ]
        .map(storageByName);
      for (const accumulator of [f16, storageByName("bf16"), f32, ...minifloats]) {
        const layer = plain.to!(storage, accumulator);
        for (const p of Object.values(layer.params)) p.set(randomValues(p.size, p.size + 23));
        const label = `${layer.name} ${storage.name}, ${accumulator.name} sums [${shape}]`;
        const x = Tensor.from(storage, shape, randomValues(size, 24).map((v) => v * 300));
        assert.deepEqual(layer.withKernels!("wasm").arithmetic!(storage), {
          path: "wasm",
          accumulation: accumulator.name,
        });
        const { wasm, reference } = bothPaths(layer, x);
        assert.deepEqual(wasm, reference, label);
      }
    }
  }
});

Deno.test("kernelPath() rejects an unknown path and reads ts as typescript", () => {
  assert.throws(() => kernelPath("gpu"), /^RangeError: Unknown kernel path "gpu"/);
  assert.throws(() => new Relu({ kernels: "gpu" as KernelPath }), RangeError);
  assert.equal(kernelPath("ts"), "typescript");
  assert.equal(kernelPath(), "wasm"); // Deno has WebAssembly SIMD
});

Deno.test("a layer keeps its kernel path through to() and its spec, and reports it", () => {
  const net = deepConvNet({ seed: 3 }).withKernels!("typescript").to(f16);
  assert.ok(net.layers.every((layer) => layer.kernels === "typescript"));
  const copy = networkFromSpec(structuredClone(networkSpec(net)));
  assert.deepEqual(copy.arithmetic(f16), net.arithmetic(f16));
  assert.deepEqual(net.arithmetic(f16)[0], {
    layer: "conv1",
    path: "typescript",
    accumulation: "float64",
  });
  const fast = net.withKernels!("wasm");
  assert.deepEqual(fast.arithmetic(f16).slice(0, 2), [
    { layer: "conv1", path: "wasm", accumulation: "float32" },
    { layer: "relu1", path: "wasm", accumulation: "none" },
  ]);
  assert.deepEqual(fast.to(f64).arithmetic(f64)[0].accumulation, "float64");
  // An accumulator sums on the kernels; a scaled format, which cannot round one sum, is refused.
  assert.deepEqual(fast.to(f16, f16).arithmetic(f16)[0], {
    layer: "conv1",
    path: "wasm",
    accumulation: "f16",
  });
  const e4m3Sums = fast.to(f16, storageByName("e4m3")).arithmetic(f16)[0];
  assert.deepEqual(e4m3Sums, { layer: "conv1", path: "wasm", accumulation: "e4m3" });
  assert.throws(
    () => fast.to(f16, storageByName("int8")),
    /^RangeError: Cannot make conv: accumulator int8 is a scaled format/,
  );
  // An input in another format than the layer's is converted: the layer stays on wasm.
  assert.equal(fast.arithmetic(f32)[0].path, "wasm");
});

Deno.test("a WorkerPool computes on the kernel path of the network it was given", async () => {
  const net = deepConvNet({ seed: 3 }).to(f16);
  const x = Tensor.from(f16, [4, 1, 28, 28], randomValues(4 * 784, 17).map(Math.abs));
  using pool = new WorkerPool({ size: 2 });
  const logits: Float64Array[] = [];
  for (const path of ["typescript", "wasm"] as const) {
    const onPath = net.withKernels!(path);
    const expected = onPath.logits(x).toFloat64();
    await pool.load(onPath);
    logits.push((await pool.logits(x)).toFloat64());
    assert.deepEqual(logits.at(-1), expected, path);
  }
  // float64 and float32 sums differ somewhere: the pool did not run one path twice.
  assert.notDeepEqual(logits[0], logits[1]);
});
