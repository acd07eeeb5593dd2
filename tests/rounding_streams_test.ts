/**
 * Stochastic rounding's random streams belong to the run: the same configuration evaluated
 * twice in one process gives the same result, and results depend neither on the batch size
 * nor on the number of workers.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  classifyImages,
  comparePrecisions,
  deepConvNet,
  f64,
  imageBatch,
  type LabeledImages,
  type PrecisionResult,
  storageByName,
  withPrecision,
  WorkerPool,
} from "../mod.ts";
import { roundImages } from "../layers/mod.ts";

/** A few deterministic images with some structure, so that predictions differ between them. */
function images(count: number): LabeledImages {
  const pixels = new Uint8Array(count * 784);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 37 + (i >> 9) * 11) % 256;
  const labels = new Uint8Array(count).map((_, i) => i % 10);
  return { images: pixels, shape: [count, 1, 28, 28], labels, classes: 10 };
}

const net = deepConvNet({ seed: 3 });

/** The logits of `net` in the stochastic format `name`, stored, on the first `count` images. */
function storedLogits(name: string, count: number): Float64Array {
  const sr = storageByName(name);
  return withPrecision(net, sr, "store").logits(imageBatch(images(count), 0, count, sr))
    .toFloat64();
}

Deno.test("a stochastic format evaluated twice in one process gives the same result", async () => {
  const set = images(3);
  const compare = (name: string | ReturnType<typeof storageByName>) =>
    comparePrecisions(net, set, {
      formats: [typeof name === "string" ? storageByName(name) : name],
      modes: ["seed", "store"],
    });
  const withoutTimes = (results: PrecisionResult[]) =>
    results.map(({ seconds: _, ...rest }) => rest);
  // The same object twice, then a new one of the same name: every run restarts the streams.
  const sr = storageByName("e4m3-sr1");
  const first = withoutTimes(await compare(sr));
  assert.deepEqual(withoutTimes(await compare(sr)), first);
  assert.deepEqual(withoutTimes(await compare("e4m3-sr1")), first);
  assert.deepEqual(storedLogits("e4m3-sr1", 2), storedLogits("e4m3-sr1", 2));
});

Deno.test("another seed rounds differently", () => {
  assert.notDeepEqual(storedLogits("e4m3-sr1", 2), storedLogits("e4m3-sr2", 2));
});

Deno.test("stochastic results do not depend on the batch size or the number of workers", async () => {
  const set = images(5);
  const sr = storageByName("e5m2-sr9");
  const candidate = withPrecision(net, sr, "store");
  const alone = await classifyImages(candidate, set, { format: sr, batch: 1 });
  assert.deepEqual(await classifyImages(candidate, set, { format: sr, batch: 5 }), alone);
  for (const size of [2, 3]) {
    using pool = new WorkerPool({ size });
    await pool.load(candidate);
    assert.deepEqual(await classifyImages(pool, set, { format: sr, batch: 5 }), alone, `${size}`);
  }
  // Logits too, to the bit: image 3 alone, told its index, as in the batch.
  const input = (first: number, count: number) =>
    roundImages(imageBatch(set, first, count, f64), sr, sr, first);
  const whole = candidate.logits(input(0, 5)).toFloat64();
  const three = candidate.logits(input(3, 1), { firstImage: 3 }).toFloat64();
  assert.deepEqual([...three], [...whole.subarray(30, 40)]);
});
