/**
 * The bytes-moved formula, checked against counts worked out by hand.
 *
 * @module
 */
import assert from "node:assert/strict";
import { bf16, bytesMoved, deepConvNet, f16, f32, f64, Sequential, storageByName } from "../mod.ts";
import { Affine } from "../layers/mod.ts";
import { totalBytes } from "../analysis/mod.ts";

Deno.test("bytesMoved() matches hand counts for conv2 and affine1 of DeepConvNet", () => {
  const batch = 100;
  const byName = (storage: typeof f64) =>
    new Map(
      bytesMoved(deepConvNet({ storage }), [batch, 1, 28, 28], storage).map((l) => [l.layer, l]),
    );
  for (const storage of [f64, f32, f16, bf16]) {
    const bytes = byName(storage);
    const e = storage.bytesPerElement;
    // conv2 reads relu1's output (16x28x28 per image) and W2 (16x16x3x3) + b2 (16) once per
    // batch; it writes 16x28x28 per image.
    assert.deepEqual(bytes.get("conv2"), {
      layer: "conv2",
      read: e * (batch * 16 * 28 * 28 + 16 * 16 * 9 + 16),
      written: e * batch * 16 * 28 * 28,
      converted: 0,
    });
    // affine1 reads pool3's output (64x4x4 = 1024 per image) and W7 (1024x50) + b7 (50).
    assert.deepEqual(bytes.get("affine1"), {
      layer: "affine1",
      read: e * (batch * 1024 + 1024 * 50 + 50),
      written: e * batch * 50,
      converted: 0,
    });
  }
});

Deno.test("bytesMoved() counts a conversion at every format boundary, by hand", () => {
  // f64 input -> conv1 f32 -> relu1 f16 -> conv2 f16 ... : conversions before conv1 and relu1.
  const net = deepConvNet().to((layer) => (layer.name === "conv1" ? f32 : f16));
  const [conv1, relu1, conv2] = bytesMoved(net, [1, 1, 28, 28], f64);
  assert.equal(conv1.converted, 784 * (8 + 4)); // the image read as f64, written as f32
  assert.equal(conv1.read, 4 * (784 + 144 + 16)); // the converted image, W1, b1 in f32
  assert.equal(relu1.converted, 16 * 784 * (4 + 2)); // conv1's f32 output re-stored in f16
  assert.equal(relu1.read, 2 * 16 * 784);
  assert.equal(relu1.written, 2 * 16 * 784);
  assert.equal(conv2.converted, 0);
  const uniform = bytesMoved(deepConvNet({ storage: f16 }), [1, 1, 28, 28], f16);
  const extra = totalBytes(bytesMoved(net, [1, 1, 28, 28], f64)) - totalBytes(uniform);
  // What differs from all-f16: the two conversions, and conv1's reads and write at 4 bytes.
  assert.equal(extra, conv1.converted + relu1.converted + 2 * (784 + 144 + 16 + 16 * 784));
});

Deno.test("bytesMoved: a scaled format counts packed elements plus scales", () => {
  const fc = new Affine({ inputs: 64, outputs: 2, storage: storageByName("mxfp4") });
  const [mx] = bytesMoved(new Sequential([fc]), [1, 64], storageByName("mxfp4"));
  // input 64 × 4.25 bits; weights 128 × 4.25; bias 2 float32; output 2 values + a block scale.
  assert.deepEqual(mx, {
    layer: "affine1",
    read: (64 * 4.25 + 128 * 4.25) / 8 + 8,
    written: (2 * 4 + 8) / 8,
    converted: 0,
  });
  const int8 = new Affine({ inputs: 64, outputs: 2, storage: storageByName("int8") });
  const [q] = bytesMoved(new Sequential([int8]), [1, 64], storageByName("int8"));
  // input 64 bytes + a float32 scale; weights 128 bytes + a float32 per output; bias 8.
  assert.equal(q.read, 64 + 4 + 128 + 2 * 4 + 8);
});
