/**
 * The two kernel paths on the real thing: DeepConvNet with the book's weights on all 10,000
 * MNIST test images, every storage format, fp8, two scaled formats and a minifloat past
 * float32's range (store mode). Predictions must be identical; logits must agree within a bound
 * per format (the wasm path accumulates in float32 where the reference accumulates in float64,
 * so f16 and bf16 logits also differ wherever a float32 sum rounds to another neighbour of the
 * format than the float64 sum, and that difference travels through the later layers).
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  deepConvNet,
  imageBatch,
  type Storage,
  storageByName,
  tensor,
  WorkerPool,
} from "../mod.ts";
import { FP8_STORAGES, STORAGES } from "../layers/storage/mod.ts";
import { argmaxRows, type KernelPath } from "../layers/mod.ts";
import { imageCount } from "../data/mod.ts";
import { readMnistDir, readSafetensorsFile } from "../data/files.ts";
import { MNIST, WEIGHTS } from "./_data.ts";

/**
 * Largest difference allowed between the paths' logits of an image, relative to the image's
 * largest logit, per format; the worst measured on the 10,000 images in brackets (Deno 2.9,
 * relaxed-SIMD build). Relative to each logit alone the f32 bound would not hold: a logit near
 * zero has a large relative error from an absolute difference of 1e-6.
 */
export const PATH_TOLERANCE: Readonly<Record<string, number>> = {
  f64: 1e-13, // [1.6e-15]: the same float64 sums, with fused multiply-adds
  f32: 1e-5, // [7.9e-7]
  f16: 1e-2, // [9.7e-4]
  "f16-polyfill": 1e-2, // the same bits as f16
  bf16: 5e-2, // [7.1e-3]
  // fp8 on the wasm path: float32 sums rounded by the format's own rule. A float32 sum that
  // rounds to another fp8 neighbour than the float64 one moves a logit by a step (1/8, 1/4).
  e4m3: 0.25, // [0: identical logits]
  e5m2: 0.5, // [0: identical logits]
  // Scaled formats: float32 sums of operands quantized identically, outputs in float32. A sum
  // on the other side of a rounding boundary of the next layer's quantization moves that value
  // a step of its scale. MXFP4's sums are exact (few significant bits, power-of-two scales).
  mxfp4: 1e-5, // [0: identical logits]
  int8: 0.1, // [1.7e-2]
  // Values past float32's range: float64 sums on both paths (in another order, fused on the
  // wasm path), rounded to 7 significant bits: a sum on the other side of a boundary moves a
  // value a step (1/64 of it).
  e9m6: 1e-2, // [0: identical logits]
};

/**
 * Compares the two paths' logits of the book's network on all 10,000 test images in each of
 * `storages`, against PATH_TOLERANCE.
 */
async function assertPathsAgree(storages: readonly Storage[]): Promise<void> {
  const net = deepConvNet();
  net.loadParams((await readSafetensorsFile(WEIGHTS)).tensors, WEIGHTS);
  const set = await readMnistDir(MNIST, "test");
  using pool = new WorkerPool({ size: 2 });
  const logits = async (storage: Storage, path: KernelPath) => {
    await pool.load(net.to(storage).withKernels(path));
    const out = new Float64Array(imageCount(set) * 10);
    // Every batch in flight at once: a network that needs its batches whole keeps both workers
    // busy too.
    const starts = Array.from({ length: Math.ceil(imageCount(set) / 500) }, (_, i) => i * 500);
    await Promise.all(starts.map(async (start) => {
      const batch = await pool.logits(imageBatch(set, start, 500, storage));
      out.set(batch.toFloat64(), start * 10);
    }));
    return out;
  };
  for (const storage of storages) {
    const reference = await logits(storage, "typescript");
    const wasm = await logits(storage, "wasm");
    let worst = 0;
    let worstImage = 0;
    for (let image = 0; image < imageCount(set); image++) {
      const row = image * 10;
      let scale = 0;
      let diff = 0;
      for (let j = row; j < row + 10; j++) {
        scale = Math.max(scale, Math.abs(reference[j]));
        diff = Math.max(diff, Math.abs(wasm[j] - reference[j]));
      }
      if (diff / scale > worst) worst = diff / scale, worstImage = image;
    }
    const fast = argmaxRows(tensor([imageCount(set), 10], wasm));
    const slow = argmaxRows(tensor([imageCount(set), 10], reference));
    const differ = [...fast.keys()].filter((i) => fast[i] !== slow[i]);
    console.log(
      `${storage.name}: worst logit difference ${worst.toExponential(2)} of the largest ` +
        `logit (image ${worstImage}), ${differ.length} predictions differ [${differ}]`,
    );
    assert.ok(worst <= PATH_TOLERANCE[storage.name], `${storage.name}: ${worst}`);
    assert.deepEqual(differ, [], `${storage.name}: predictions differ`);
  }
}

Deno.test("both kernel paths predict identically on all 10,000 test images, logits within tolerance", async () => {
  await assertPathsAgree([...STORAGES, ...FP8_STORAGES]);
});

Deno.test("scaled formats predict identically on both kernel paths on all 10,000 test images", async () => {
  await assertPathsAgree(["mxfp4", "int8"].map(storageByName));
});

Deno.test("a minifloat past float32's range computes as the reference on all 10,000 test images", async () => {
  await assertPathsAgree([storageByName("e9m6")]);
});
