/**
 * The promise of halfprec: on all 10,000 MNIST test images with the book's weights, DeepConvNet
 * in f16 (seed and store modes) stays within a named tolerance of f64, and so does bf16 within
 * its own. If a change to a layer breaks a narrow format, these fail.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  bf16,
  comparePrecisions,
  deepConvNet,
  f16,
  f32,
  f64,
  imageBatch,
  type PrecisionMode,
  type Storage,
  withPrecision,
  WorkerPool,
} from "../mod.ts";
import { PRECISION_MODES } from "../analysis/mod.ts";
import { readMnistDir, readSafetensorsFile } from "../data/files.ts";
import { MNIST, WEIGHTS } from "./_data.ts";

/** Largest accuracy change from f64 allowed for f16, in percentage points. */
export const F16_TOLERANCE_PP = 0.1;
/**
 * Largest accuracy change from f64 allowed for bf16, in percentage points. bf16 keeps 8
 * significant bits to f16's 11, so each rounding errs up to 8 times more; 0.3 points is 30
 * of the 10,000 images.
 */
export const BF16_TOLERANCE_PP = 0.3;

Deno.test("f16 and bf16 stay within tolerance of f64 on all 10,000 test images, seed and store modes", async () => {
  // The wasm path: its predictions are those of the reference path in every format
  // (kernel_path_mnist_test.ts), in a fraction of the time.
  const net = deepConvNet().withKernels("wasm");
  net.loadParams((await readSafetensorsFile(WEIGHTS)).tensors, WEIGHTS);
  const set = await readMnistDir(MNIST, "test");
  using pool = new WorkerPool();
  const [reference, ...runs] = await comparePrecisions(net, set, {
    formats: [f16, bf16],
    batch: 500,
    pool,
  });
  assert.equal(reference.correct, 9935, "f64 accuracy must be exactly 99.350 %");
  for (const r of runs) {
    const delta = 100 * (r.accuracy - reference.accuracy);
    console.log(
      `${r.format} ${r.mode}: ${(100 * r.accuracy).toFixed(3)} % (${delta >= 0 ? "+" : ""}` +
        `${delta.toFixed(3)} pp), flips →right ${r.flipsToRight} [${r.flips.toRight}], ` +
        `→wrong ${r.flipsToWrong} [${r.flips.toWrong}], McNemar p ${r.mcnemarP.toPrecision(3)}`,
    );
    const tolerance = r.format === "f16" ? F16_TOLERANCE_PP : BF16_TOLERANCE_PP;
    assert.ok(
      Math.abs(delta) <= tolerance,
      `${r.format} ${r.mode} is ${delta.toFixed(3)} points from f64, tolerance ${tolerance}`,
    );
  }
  assert.deepEqual(runs.map((r) => `${r.format} ${r.mode}`), [
    "f16 seed",
    "f16 store",
    "bf16 seed",
    "bf16 store",
  ]);
});

Deno.test("each format really changes the logits, by about its precision", async () => {
  const net = deepConvNet();
  net.loadParams((await readSafetensorsFile(WEIGHTS)).tensors, WEIGHTS);
  const set = await readMnistDir(MNIST, "test");
  const reference = net.withKernels("typescript").logits(imageBatch(set, 0, 100, f64))
    .toFloat64();
  const maxError = (storage: Storage, mode: PrecisionMode) => {
    const input = imageBatch(set, 0, 100, mode === "store" ? storage : f64);
    if (mode === "seed") input.roundTo(storage);
    // The reference path: the bands below are those of float64 sums rounded once per layer.
    const narrow = withPrecision(net, storage, mode).withKernels("typescript");
    const got = narrow.logits(input).toFloat64();
    return got.reduce((worst, v, i) => Math.max(worst, Math.abs(v - reference[i])), 0);
  };
  // Logits reach about 12: one rounding costs 12 * 2^-24 in f32, 12 * 2^-11 in f16 and
  // 12 * 2^-8 in bf16; errors add up over 21 layers but stay within a few dozen roundings.
  const bands: [Storage, number, number][] = [[f32, 1e-8, 1e-5], [f16, 1e-4, 5e-2], [
    bf16,
    1e-3,
    0.3,
  ]];
  for (const [storage, low, high] of bands) {
    for (const mode of PRECISION_MODES) {
      const error = maxError(storage, mode);
      assert.ok(error > low && error < high, `${storage.name} ${mode}: max |Δ logit| ${error}`);
    }
  }
});
