/**
 * Each storage format's wasm inference time over f32's, on a loaded machine: DeepConvNet (book
 * weights) classifies one batch of test images on one thread in every format in turn, round
 * after round, and each format counts its fastest batch. The calls are short (20 images by
 * default, about 10 ms), so that some run while no other job holds the core, and the formats
 * alternate, so that a change of load hits all alike: where `perf`'s passes of 10,000 images
 * move by tens of percent under load, these ratios hold within a few.
 *
 * ```sh
 * deno run --v8-flags=--no-liftoff -A bench/format_ratios.ts [formats] [images] [rounds] [kernels]
 * ```
 *
 * Formats default to f32 and the formats of 16 bits or fewer `perf` times (f32 first: the
 * baseline), images to 20, rounds to 40, kernels (the path: `wasm` or `ts`) to wasm. A format
 * written `STORAGE@ACCUMULATOR` (`f16@e5m7`) rounds every partial sum of conv and affine to the
 * accumulator. Prints, per format, its fastest batch scaled to seconds for 10,000 images and its
 * ratio to the first format's.
 *
 * @module
 */
import { imageBatch, storageByName } from "../mod.ts";
import { kernelPath } from "../layers/mod.ts";
import { loadDeepConvNet, loadTestSet } from "../cli/_locate.ts";

/** One format under test. */
interface Run {
  name: string;
  classify: () => void;
  fastest: number;
}

const [
  formats = "f32,f16,f16-polyfill,bf16,e4m3,e5m2,e3m4",
  images = "20",
  rounds = "40",
  kernels = "wasm",
] = Deno.args;
const batch = Number(images);
const { net } = await loadDeepConvNet("book");
const { set } = await loadTestSet();
const runs: Run[] = formats.split(",").map((name) => {
  const [storage, accumulator] = name.split("@").map(storageByName);
  const narrow = net.to(storage, accumulator).withKernels(kernelPath(kernels));
  const x = imageBatch(set, 0, batch, storage);
  return { name, classify: () => void narrow.forward(x), fastest: Infinity };
});
// Warm-up: the first calls build each format's tables and compile what V8 compiles lazily.
for (const run of runs) for (let i = 0; i < 3; i++) run.classify();
for (let round = 0; round < Number(rounds); round++) {
  for (const run of runs) {
    const start = performance.now();
    run.classify();
    run.fastest = Math.min(run.fastest, performance.now() - start);
  }
}
const baseline = runs[0].fastest;
for (const { name, fastest } of runs) {
  const seconds = (fastest / batch) * 10; // ms for `batch` images to s for 10,000
  console.log(`${name.padEnd(14)} ${seconds.toFixed(2)} s  ${(fastest / baseline).toFixed(2)}x`);
}
