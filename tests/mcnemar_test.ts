/**
 * Flip counting and the exact McNemar test, against exact integer tails (BigInt) and against
 * 50-digit values from mpmath (tests/fixtures/mcnemar_exact.py).
 *
 * @module
 */
import assert from "node:assert/strict";
import { flips, mcnemarExact } from "../analysis/mod.ts";

/** (b, c, p to 20 digits), from tests/fixtures/mcnemar_exact.py (mpmath, 50 digits). */
const REFERENCE: [number, number, string][] = JSON.parse(
  await Deno.readTextFile(new URL("fixtures/mcnemar_exact.json", import.meta.url)),
);

/** The exact p-value by integers: 2 * sum of C(n, i) for i <= min(b, c), over 2^n. */
function exactP(b: number, c: number): number {
  const n = b + c, k = Math.min(b, c);
  let binomial = 1n, tail = 0n;
  for (let i = 0; i <= k; i++) {
    tail += binomial;
    binomial = binomial * BigInt(n - i) / BigInt(i + 1);
  }
  // 2^n is a power of two: one rounding, of the integer 2 * tail.
  return Math.min(1, Number(2n * tail) / 2 ** n);
}

Deno.test("mcnemarExact() equals the exact integer tail for every split of up to 60 pairs", () => {
  for (let b = 0; b <= 60; b++) {
    for (let c = 0; b + c <= 60; c++) {
      const want = exactP(b, c), got = mcnemarExact(b, c);
      assert.ok(Math.abs(got - want) <= 1e-13 * want, `b=${b} c=${c}: ${got}, expected ${want}`);
    }
  }
});

Deno.test("mcnemarExact() is within 1e-12 of 50-digit values up to 10^7 pairs, no underflow", () => {
  for (const [b, c, text] of REFERENCE) {
    const want = Number(text), got = mcnemarExact(b, c);
    if (want === 0) continue; // below the smallest double
    // Subnormal results hold fewer bits: there, the nearest representable neighbour will do.
    const tolerance = want < 2 ** -1022 ? 2 ** -1074 : 1e-12 * want;
    assert.ok(Math.abs(got - want) <= tolerance, `b=${b} c=${c}: ${got}, expected ${text}`);
    assert.equal(mcnemarExact(c, b), got, "symmetric");
  }
  assert.equal(mcnemarExact(0, 1075), 2 ** -1074);
  assert.equal(mcnemarExact(0, 1076), 0);
});

Deno.test("mcnemarExact() is exactly 1 for every split as even as it can be", () => {
  for (const n of [1, 2, 5, 100, 1001, 10 ** 6, 10 ** 7 + 1]) {
    const b = Math.floor(n / 2);
    assert.equal(mcnemarExact(b, n - b), 1, `${b}, ${n - b}`);
    assert.equal(mcnemarExact(n - b, b), 1, `${n - b}, ${b}`);
  }
  assert.equal(mcnemarExact(2, 3), 1);
  assert.ok(mcnemarExact(2, 4) < 1);
});

Deno.test("mcnemarExact() refuses counts that are not non-negative integers", () => {
  for (const [b, c] of [[-1, 2], [1.5, 2], [NaN, 1], [1, Infinity]]) {
    assert.throws(() => mcnemarExact(b, c), RangeError);
  }
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
