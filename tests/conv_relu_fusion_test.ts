/**
 * A convolution followed by a ReLU of its format, run in one pass on the wasm kernels
 * (`Conv.forwardWith`, which inference in `Sequential` uses): the same bytes as the two layers
 * one by one, in every format, special values included, and what backward reads afterwards.
 *
 * @module
 */
import assert from "node:assert/strict";
import { f32, f64, type Storage, storageByName, Tensor } from "../mod.ts";
import { STORAGES } from "../layers/storage/mod.ts";
import { Conv, Pool, Relu, Sequential } from "../layers/mod.ts";
import { randomValues } from "./_gradcheck.ts";
import { specialValues } from "./_special_values.ts";

const FORMATS: readonly Storage[] = [
  ...STORAGES,
  ...["e4m3", "e5m2-rz", "e3m4-sr7", "e5m10", "mxfp4", "nvfp4", "int8"].map(storageByName),
];

/** The stored bytes of `t`: equal bytes, equal elements (signed zeros and NaNs included). */
function bytes(t: Tensor): Uint8Array {
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength).slice();
}

/** A wasm convolution in `storage` with random weights and special values in its bias. */
function convIn(storage: Storage, stride: number): Conv {
  const conv = new Conv({
    inChannels: 3,
    outChannels: 11,
    kernel: 3,
    stride,
    pad: 1,
    storage,
    kernels: "wasm",
  });
  conv.params.W.set(randomValues(conv.params.W.size, 31));
  conv.params.b.set(specialValues(storage, 11, 32));
  return conv;
}

Deno.test("conv.forwardWith(relu) stores what the two layers store one by one", () => {
  for (const storage of FORMATS) {
    for (const stride of [1, 2]) {
      const conv = convIn(storage, stride);
      const relu = new Relu({ storage, kernels: "wasm" });
      const x = Tensor.from(storage, [3, 3, 9, 10], randomValues(3 * 3 * 9 * 10, 33));
      // A stochastic format draws for the convolution's outputs alone: restart it alike (after
      // a first call, which builds the format's tables).
      conv.forward(x);
      storage.stream?.restart(5);
      const y = conv.forward(x);
      const own = bytes(y);
      const apart = bytes(relu.forward(y));
      const [n, channels, oh, ow] = y.shape;
      const dy = Tensor.from(storage, y.shape, randomValues(n * channels * oh * ow, 34));
      const backApart = bytes(relu.backward(dy));
      const label = `${storage.name} stride ${stride}`;
      for (const keep of [true, false]) {
        storage.stream?.restart(5);
        const fused = conv.forwardWith(x, relu, keep);
        assert.ok(fused, label);
        assert.deepEqual(bytes(fused.next), apart, `${label} relu output`);
        assert.deepEqual(fused.own && bytes(fused.own), keep ? own : undefined, label);
        assert.deepEqual(bytes(relu.backward(dy)), backApart, `${label} relu backward`);
      }
    }
  }
});

Deno.test("conv.forwardWith() fuses only a ReLU of its format on the wasm kernels", () => {
  const conv = convIn(f32, 1);
  const x = Tensor.from(f32, [1, 3, 5, 5], randomValues(75, 35));
  assert.equal(conv.forwardWith(x, new Relu({ storage: f64, kernels: "wasm" }), false), undefined);
  assert.equal(
    conv.forwardWith(x, new Relu({ storage: f32, kernels: "typescript" }), false),
    undefined,
  );
  assert.equal(conv.forwardWith(x, new Pool({ size: 2, storage: f32 }), false), undefined);
  const onTypeScript = conv.withKernels("typescript");
  assert.equal(
    onTypeScript.forwardWith(x, new Relu({ storage: f32, kernels: "wasm" }), false),
    undefined,
  );
  assert.ok(conv.forwardWith(x, new Relu({ storage: f32, kernels: "wasm" }), false));
});

Deno.test("inference fuses conv and relu, and a trace still sees both layers' outputs", () => {
  for (const storage of [f32, f64, ...["bf16", "e4m3", "mxfp4", "int8"].map(storageByName)]) {
    const layers = [
      convIn(storage, 1),
      new Relu({ storage, kernels: "wasm" }),
      new Pool({ size: 2, storage, kernels: "wasm" }),
    ];
    const net = new Sequential(layers);
    const x = Tensor.from(storage, [2, 3, 8, 8], randomValues(2 * 3 * 8 * 8, 36));
    const apart: Uint8Array[] = [];
    let y = x;
    for (const layer of layers) apart.push(bytes(y = layer.forward(y)));
    let reluCalls = 0;
    const relu = layers[1];
    const forward = relu.forward.bind(relu);
    relu.forward = (input: Tensor) => (reluCalls++, forward(input));
    const traced: Uint8Array[] = [];
    net.forward(x, { trace: (_layer, output) => traced.push(bytes(output)) });
    assert.deepEqual(traced, apart, storage.name);
    assert.deepEqual(bytes(net.forward(x)), apart[2], storage.name);
    assert.equal(reluCalls, 0, `${storage.name}: the ReLU ran in the convolution's pass`);
    net.forward(x, { train: true });
    assert.equal(reluCalls, 1, `${storage.name}: training runs the layers one by one`);
  }
});
