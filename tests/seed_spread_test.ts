/**
 * Stochastic rounding over seeds: the seeded formats and the statistics of their runs.
 *
 * @module
 */
import assert from "node:assert/strict";
import { bf16, type PrecisionResult, storageByName } from "../mod.ts";
import { seededFormats, seedSpreads } from "../analysis/mod.ts";

/** A run of `format` in `mode` with `correct` of 8 images right. */
function run(format: string, mode: "seed" | "store", correct: number, flips = [0, 0]) {
  return {
    format,
    mode,
    correct,
    total: 8,
    accuracy: correct / 8,
    flipsToRight: flips[0],
    flipsToWrong: flips[1],
  } as PrecisionResult;
}

Deno.test("seededFormats() counts seeds up from the format's own, other formats untouched", () => {
  const formats = seededFormats(storageByName("e4m3-sat-sr41"), 3);
  assert.deepEqual(formats.map((f) => f.name), ["e4m3-sat-sr41", "e4m3-sat-sr42", "e4m3-sat-sr43"]);
  assert.equal(formats[1].stream?.seed, 42);
  assert.deepEqual(seededFormats(storageByName("e4m3-rz"), 4), [storageByName("e4m3-rz")]);
  assert.deepEqual(seededFormats(bf16, 1), [bf16]);
  assert.throws(() => seededFormats(bf16, 0), /count is 0, expected a positive integer/);
  assert.throws(() => seededFormats(storageByName(`e5m2-sr${2 ** 32 - 1}`), 2), RangeError);
});

Deno.test("seedSpreads() summarises each format and mode over its seeds", () => {
  const spreads = seedSpreads([
    run("f64", "store", 8),
    run("e4m3-sr1", "seed", 8),
    run("e4m3-sr1", "store", 6, [1, 3]),
    run("e4m3", "store", 7),
    run("e4m3-sr2", "seed", 8),
    run("e4m3-sr2", "store", 7, [0, 1]),
    run("e4m3-sr3", "store", 5, [2, 5]),
    run("e3m4-sr1", "store", 4),
  ]);
  assert.deepEqual(spreads.map((s) => `${s.format} ${s.mode} ${s.seeds}`), [
    "e4m3-sr seed 1,2",
    "e4m3-sr store 1,2,3",
    "e3m4-sr store 1",
  ]);
  const store = spreads[1];
  // 6, 7 and 5 of 8: mean 6/8, sample deviation 1/8.
  assert.deepEqual(store.accuracy, { mean: 0.75, std: 0.125, min: 5 / 8, max: 7 / 8 });
  assert.deepEqual(store.flipsToRight, { min: 0, max: 2 });
  assert.deepEqual(store.flipsToWrong, { min: 1, max: 5 });
  assert.deepEqual(spreads[0].accuracy, { mean: 1, std: 0, min: 1, max: 1 });
  assert.equal(spreads[2].accuracy.std, 0, "one seed has no spread");
  assert.deepEqual(seedSpreads([run("f16", "store", 8)]), []);
});
