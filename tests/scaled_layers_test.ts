/** Convolution and affine layers in scaled formats: products over quantized operands. */
import assert from "node:assert/strict";
import { deepConvNet, f32, f64, storageByName, Tensor, tensor, withPrecision } from "../mod.ts";
import { quantizeOperand, scaledStorage } from "../layers/storage/mod.ts";
import { Affine, Conv, networkFromSpec, networkSpec } from "../layers/mod.ts";

function randomValues(n: number, seed: number): number[] {
  let s = seed;
  return Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return (s / 2 ** 31 - 0.5) * 4;
  });
}

Deno.test("conv in mxfp4 equals an f32 conv on operands quantized along the input channels", () => {
  const mxfp4 = storageByName("mxfp4");
  const options = { inChannels: 40, outChannels: 3, kernel: 3, pad: 1 };
  const conv = new Conv({ ...options, storage: mxfp4 });
  conv.params.W.set(randomValues(3 * 40 * 9, 1));
  conv.params.b.set([0.5, -1, 2]);
  const x = Tensor.from(f32, [2, 40, 4, 5], randomValues(2 * 40 * 20, 2));
  const y = conv.forward(x);
  assert.equal(y.storage, mxfp4);
  // The reference: quantize by hand — input (N, C, H·W), weights (O, C, k·k) — then f32.
  const scheme = scaledStorage("mxfp4")!.scaled;
  const xq = Float32Array.from(x.toFloat64());
  quantizeOperand(
    scheme,
    xq,
    { outer: 2, length: 40, inner: 20, channels: "outer" },
    "activations",
  );
  const wq = Float32Array.from(conv.params.W.toFloat64());
  quantizeOperand(scheme, wq, { outer: 3, length: 40, inner: 9, channels: "outer" }, "weights");
  const plain = new Conv({ ...options, storage: f32 });
  plain.params.W.set(wq);
  plain.params.b.set([0.5, -1, 2]);
  const expected = plain.forward(new Tensor(f32, x.shape, xq)).toFloat64();
  assert.deepEqual(y.toFloat64(), expected);
  // Quantization did something: the unquantized f32 conv differs.
  const unquantized = conv.to(f32).forward(x).toFloat64();
  assert.notDeepEqual(unquantized, expected);
});

Deno.test("affine in int8: per-output weight scales, a calibrated activation amax is static", () => {
  const int8 = storageByName("int8");
  const fc = new Affine({ inputs: 3, outputs: 2, storage: int8, activationAmax: 1 });
  fc.params.W.set([1, 10, 0.5, 5, 0.001, 0.01]);
  const y = fc.forward(tensor([1, 3], [2, 0.5, -3])).toFloat64();
  // Inputs clamp at the calibrated amax 1: [1, 0.5 → 64/127, -1].
  const s = Math.fround(1 / 127);
  const x = [1, 64 * s, -1].map(Math.fround);
  // Output 0 weights (1, 0.5, 0.001): scale 1/127; output 1 (10, 5, 0.01): scale 10/127.
  const w0 = [1, 64 * s, 0].map(Math.fround);
  const s1 = Math.fround(10 / 127);
  const w1 = [10, Math.fround(64 * s1), 0];
  const dot = (w: number[]) => Math.fround(x.reduce((sum, v, i) => sum + v * w[i], 0));
  assert.deepEqual([...y], [dot(w0), dot(w1)]);
});

Deno.test("backward goes straight through the quantization", () => {
  const fc = new Affine({ inputs: 2, outputs: 1, storage: storageByName("mxfp8-e4m3") });
  fc.params.W.set([0.3, -0.7]);
  fc.forward(tensor([1, 2], [1.1, 2.2]));
  const dx = fc.backward(tensor([1, 1], [1]));
  // dx = dy · Wq (quantized weights), dW = xq · dy.
  assert.deepEqual([...dx.toFloat64()], [...fc.scaledWeights()!]);
  const { input } = fc.scaledOperands(tensor([1, 2], [1.1, 2.2]))!;
  assert.deepEqual([...fc.grads.W.toFloat64()], [...input]);
});

Deno.test("a network spec carries scaled formats and calibrated amaxes", () => {
  const net = deepConvNet({ seed: 3 }).to(storageByName("nvfp4"));
  const spec = networkSpec(net);
  (spec.layers[0].options as Record<string, number>).activationAmax = 0.75;
  const copy = networkFromSpec(structuredClone(spec));
  assert.equal(copy.layer("conv1").storage.name, "nvfp4");
  assert.equal((copy.layer("conv1") as Conv).options.activationAmax, 0.75);
  assert.equal(networkSpec(copy).layers[0].options.activationAmax, 0.75);
});

Deno.test("seed mode in a scaled format quantizes the weights only", () => {
  const net = deepConvNet({ seed: 4 });
  const mxfp4 = storageByName("mxfp4");
  const seeded = withPrecision(net, mxfp4, "seed");
  assert.equal(seeded.layer("conv1").storage, f64);
  const stored = net.to(mxfp4);
  const w = (stored.layer("conv2") as Conv).scaledWeights()!;
  assert.deepEqual([...seeded.params().get("W2")!.toFloat64()], [...w]);
  // Biases untouched.
  assert.deepEqual(seeded.params().get("b2")!.toFloat64(), net.params().get("b2")!.toFloat64());
  assert.notDeepEqual([...w], [...net.params().get("W2")!.toFloat64()]);
});

Deno.test("a scaled layer reports the arithmetic of its float32 twin", () => {
  const int8 = storageByName("int8");
  for (const kernels of ["wasm", "typescript"] as const) {
    const net = deepConvNet().to(int8).withKernels(kernels);
    const twin = deepConvNet().to(f32).withKernels(kernels);
    const products = (rows: { layer: string }[]) =>
      rows.filter((r) => /^(conv|affine)/.test(r.layer));
    assert.deepEqual(products(net.arithmetic(int8)), products(twin.arithmetic(f32)));
  }
});
