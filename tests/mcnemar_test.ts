/**
 * Flip counting and the exact McNemar test, against values computed exactly with Python's
 * `fractions` and `math.comb`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { flips, mcnemarExact } from "../mod.ts";

Deno.test("mcnemarExact() matches exact binomial tails, large counts included", () => {
  const cases: [number, number, number][] = [
    [1, 9, 0.021484375],
    [500, 560, 0.06990955946026933],
    [3000, 3200, 0.011488253770871206], // (1/2)^6200 underflows: the sum must be in logs
    [7, 7, 1],
    [0, 0, 1],
  ];
  for (const [b, c, p] of cases) {
    const got = mcnemarExact(b, c);
    assert.ok(Math.abs(got - p) <= 1e-12 * p, `b=${b} c=${c}: ${got}, expected ${p}`);
    assert.equal(mcnemarExact(c, b), got, "symmetric");
  }
  assert.ok(mcnemarExact(0, 2000) < 1e-300);
});

Deno.test("flips() separates flips to right, to wrong, and wrong-to-wrong changes", () => {
  const labels = [0, 1, 2, 3, 4, 5];
  const baseline = [0, 9, 2, 9, 4, 8];
  const candidate = [0, 1, 7, 3, 4, 9];
  assert.deepEqual(flips(baseline, candidate, labels), {
    toRight: [1, 3],
    toWrong: [2],
    changed: 4,
  });
  assert.throws(() => flips([1], [1, 2], [1, 2]), RangeError);
});
