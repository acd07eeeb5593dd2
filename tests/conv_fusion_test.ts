/**
 * A convolution followed by a ReLU of its format, and a max pooling after that, run in one pass
 * on the wasm kernels (`Conv.forwardWith`, which inference in `Sequential` uses): the same
 * bytes as the layers one by one, in every format, special values included, and what backward
 * reads afterwards.
 *
 * @module
 */
import assert from "node:assert/strict";
import { deepConvNet, f32, f64, type Storage, storageByName, Tensor } from "../mod.ts";
import { STORAGES } from "../layers/storage/mod.ts";
import { Conv, Pool, Relu, Sequential } from "../layers/mod.ts";
import { randomValues } from "./_gradcheck.ts";
import { specialValues } from "./_special_values.ts";

const FORMATS: readonly Storage[] = [
  ...STORAGES,
  ...["e4m3", "e5m2-rz", "e3m4-sr7", "e5m10", "e9m6", "mxfp4", "nvfp4", "int8"].map(storageByName),
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

/** A gradient of `y`'s shape, in its format. */
function gradientOf(y: Tensor, seed: number): Tensor {
  return Tensor.from(y.storage, y.shape, randomValues(y.size, seed));
}

Deno.test("conv.forwardWith() stores what relu and pool store one by one", () => {
  const windows = [{ size: 2 }, { size: 3, stride: 2, pad: 1 }];
  for (const storage of FORMATS) {
    for (const stride of [1, 2]) {
      const conv = convIn(storage, stride);
      const relu = new Relu({ storage, kernels: "wasm" });
      const pool = new Pool({ ...windows[stride - 1], storage, kernels: "wasm" });
      const x = Tensor.from(storage, [3, 3, 9, 10], randomValues(3 * 3 * 9 * 10, 33));
      // A stochastic format draws for the convolution's outputs: restart it alike (after a
      // first call, which builds the format's tables). Its pooling is not fused: it draws too.
      conv.forward(x);
      storage.stream?.restart(5);
      const y = conv.forward(x);
      const r = relu.forward(y);
      const apart = [bytes(y), bytes(r), bytes(pool.forward(r))];
      const dRelu = gradientOf(r, 34);
      const dPool = gradientOf(pool.forward(r), 35);
      const backApart = [bytes(relu.backward(dRelu)), bytes(pool.backward(dPool))];
      const poolFuses = !storage.stream;
      for (const following of [[relu], [relu, pool]]) {
        for (const keep of [true, false]) {
          const label = `${storage.name} stride ${stride}, ${following.length} after, ${keep}`;
          storage.stream?.restart(5);
          const fused = conv.forwardWith(x, following, keep);
          assert.ok(fused, label);
          const count = following.length === 2 && poolFuses ? 2 : 1;
          assert.equal(fused.fused, count, label);
          const expected = keep ? apart.slice(0, count + 1) : [apart[count]];
          assert.deepEqual(fused.outputs.map(bytes), expected, label);
          if (count === 2) assert.deepEqual(bytes(pool.backward(dPool)), backApart[1], label);
          if (count === 2 && !keep) {
            // The ReLU's output was never written: its backward needs a forward first.
            assert.throws(() => relu.backward(dRelu), /call forward first/, label);
          } else assert.deepEqual(bytes(relu.backward(dRelu)), backApart[0], label);
        }
      }
    }
  }
});

Deno.test("conv.forwardWith() fuses only a ReLU, then a max pool, of its format on wasm", () => {
  const conv = convIn(f32, 1);
  const x = Tensor.from(f32, [1, 3, 6, 6], randomValues(108, 35));
  const relu = (storage: Storage, kernels: "wasm" | "typescript" = "wasm") =>
    new Relu({ storage, kernels });
  const pool = (storage: Storage, kernels: "wasm" | "typescript" = "wasm") =>
    new Pool({ size: 2, storage, kernels });
  assert.equal(conv.forwardWith(x, [relu(f64)], false), undefined);
  assert.equal(conv.forwardWith(x, [relu(f32, "typescript")], false), undefined);
  assert.equal(conv.forwardWith(x, [pool(f32)], false), undefined);
  assert.equal(conv.forwardWith(x, [], false), undefined);
  assert.equal(conv.withKernels("typescript").forwardWith(x, [relu(f32)], false), undefined);
  assert.equal(conv.forwardWith(x, [relu(f32), pool(f64)], false)?.fused, 1);
  assert.equal(conv.forwardWith(x, [relu(f32), pool(f32, "typescript")], false)?.fused, 1);
  assert.equal(conv.forwardWith(x, [relu(f32), relu(f32)], false)?.fused, 1);
  assert.equal(conv.forwardWith(x, [relu(f32), pool(f32), relu(f32)], false)?.fused, 2);
});

Deno.test("inference fuses conv, relu and pool, and a trace still sees every output", () => {
  for (const storage of [f32, f64, ...["bf16", "e4m3", "mxfp4", "int8"].map(storageByName)]) {
    const layers = [
      convIn(storage, 1),
      new Relu({ storage, kernels: "wasm" }),
      new Pool({ size: 2, storage, kernels: "wasm" }),
      new Relu({ storage, kernels: "wasm" }),
    ];
    const net = new Sequential(layers);
    const x = Tensor.from(storage, [2, 3, 8, 8], randomValues(2 * 3 * 8 * 8, 36));
    const apart: Uint8Array[] = [];
    let y = x;
    for (const layer of layers) apart.push(bytes(y = layer.forward(y)));
    const calls = layers.map(() => 0);
    layers.forEach((layer, i) => {
      const forward = layer.forward.bind(layer);
      layer.forward = (input: Tensor) => (calls[i]++, forward(input));
    });
    const traced: Uint8Array[] = [];
    net.forward(x, { trace: (_layer, output) => traced.push(bytes(output)) });
    assert.deepEqual(traced, apart, storage.name);
    assert.deepEqual(bytes(net.forward(x)), apart[3], storage.name);
    assert.deepEqual(calls, [0, 0, 0, 2], `${storage.name}: what ran in the convolution's pass`);
    net.forward(x, { train: true });
    assert.deepEqual(calls, [1, 1, 1, 3], `${storage.name}: training runs the layers one by one`);
  }
});

Deno.test("convolutions hand their stored values on to the next one in the memory", () => {
  // Coded formats hand on their ReLU'd codes widened; the first ReLU is not pooled, so a
  // convolution reading the unrounded or un-ReLU'd sums would differ. A stochastic format
  // restarts its stream before each run: chaining it would change the order of its draws (a
  // network runs it image by image, layer by layer, each from a stream of its own: not here).
  // Scaled formats hand on the batch, to a convolution in another scaled format too.
  const names = ["f16", "f16-polyfill", "bf16", "e4m3", "e5m2", "e3m4", "e5m10", "e3m4-sr7"];
  const single = [f32, f64, ...[...names, "mxfp4", "nvfp4", "int8"].map(storageByName)];
  const mixed = ["mxfp4", "nvfp4", "int8"].map(storageByName);
  for (const storages of [...single.map((s) => [s, s, s]), mixed]) {
    const name = storages.map((s) => s.name).join(", ");
    const conv = (inChannels: number, outChannels: number, storage: Storage) => {
      const layer = new Conv({
        inChannels,
        outChannels,
        kernel: 3,
        pad: 1,
        storage,
        kernels: "wasm",
      });
      layer.params.W.set(randomValues(layer.params.W.size, 40 + inChannels));
      layer.params.b.set(randomValues(outChannels, 50 + outChannels));
      return layer;
    };
    const relu = (storage: Storage) => new Relu({ storage, kernels: "wasm" });
    const [one, two, three] = storages;
    const first = conv(3, 4, one);
    const layers = [
      first,
      relu(one),
      conv(4, 7, two),
      relu(two),
      new Pool({ size: 2, storage: two, kernels: "wasm" }),
      conv(7, 5, three),
      relu(three),
    ];
    const net = new Sequential(layers);
    const x = Tensor.from(one, [3, 3, 8, 9], randomValues(3 * 3 * 8 * 9, 37));
    const apart: Uint8Array[] = [];
    let y = x;
    one.stream?.restart(6);
    for (const layer of layers) apart.push(bytes(y = layer.forward(y)));
    const chains = !one.stream;
    one.stream?.restart(6);
    const fused = first.forwardWith(x, layers.slice(1), false)!;
    assert.equal(fused.fused, chains ? 6 : 1, name);
    assert.deepEqual(fused.outputs.map(bytes), [apart[chains ? 6 : 1]], name);
    one.stream?.restart(6);
    const kept = first.forwardWith(x, layers.slice(1), true)!;
    assert.deepEqual(kept.outputs.map(bytes), apart.slice(0, chains ? 7 : 2), name);
    if (one.stream) continue;
    const traced: Uint8Array[] = [];
    net.forward(x, { trace: (_layer, output) => traced.push(bytes(output)) });
    assert.deepEqual(traced, apart, name);
    assert.deepEqual(bytes(net.forward(x)), apart[6], name);
    if (chains) {
      // Inputs that were never written: backward asks for a forward first.
      const dy = gradientOf(layers[2].forward(layers[1].forward(layers[0].forward(x))), 38);
      net.forward(x);
      assert.throws(() => layers[2].backward(dy), /call forward first/, name);
    }
  }
});

Deno.test("DeepConvNet's inference in f32 and scaled formats gives the bytes of its layers one by one", () => {
  for (const storage of [f32, ...["mxfp4", "nvfp4", "int8"].map(storageByName)]) {
    const net = deepConvNet({ seed: 3 }).withKernels("wasm").to(storage);
    const x = Tensor.from(storage, [7, 1, 28, 28], randomValues(7 * 784, 39));
    let y = x;
    for (const layer of net.layers) y = layer.forward(y);
    const apart = bytes(y);
    assert.deepEqual(bytes(net.forward(x)), apart, storage.name);
  }
});
