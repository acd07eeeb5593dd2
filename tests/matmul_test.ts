/**
 * The packed matrix multiply against the textbook triple loop, every transpose and edge size,
 * with B's zero depths skipped and not.
 *
 * @module
 */
import assert from "node:assert/strict";
import { matmul, matmulRounded } from "../layers/_matmul.ts";
import { Scratch } from "../layers/_scratch.ts";
import { randomValues } from "./_gradcheck.ts";

function naive(
  a: Float64Array,
  b: Float64Array,
  m: number,
  n: number,
  k: number,
  transA: boolean,
  transB: boolean,
): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let d = 0; d < k; d++) {
        sum += (transA ? a[d * m + i] : a[i * k + d]) * (transB ? b[j * k + d] : b[d * n + j]);
      }
      out[i * n + j] = sum;
    }
  }
  return out;
}

Deno.test("matmul() equals the triple loop for every transpose and edge size", () => {
  // Sizes that are, and are not, multiples of the 8-row panel.
  for (const [m, n, k] of [[1, 1, 1], [3, 5, 7], [4, 8, 4], [17, 9, 13], [64, 50, 100]]) {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        const a = randomValues(m * k, m);
        const b = randomValues(k * n, n);
        const got = new Float64Array(m * n).fill(0.25);
        matmul(got, a, b, { m, n, k, transA, transB, accumulate: true }, new Scratch());
        const want = naive(a, b, m, n, k, transA, transB).map((v) => v + 0.25);
        const worst = got.reduce((w, v, i) => Math.max(w, Math.abs(v - want[i])), 0);
        assert.ok(worst < 1e-12, `${m}x${n}x${k} transA=${transA} transB=${transB}: ${worst}`);
        matmul(got, a, b, { m, n, k, transA, transB }, new Scratch());
        assert.ok(got.every((v, i) => Math.abs(v - (want[i] - 0.25)) < 1e-12), "overwrite");
      }
    }
  }
});

/** Random values with runs of zeros: whole depths of some panels of B are then all zero. */
function sparseValues(length: number, seed: number): Float64Array {
  return randomValues(length, seed).map((v, i) => (i % 7 < 4 || v < 0 ? 0 : v));
}

Deno.test("matmul() skipping B's zero depths gives the triple loop's bits, signed zeros too", () => {
  for (const [m, n, k] of [[5, 9, 13], [16, 12, 40]]) {
    for (const transB of [false, true]) {
      const a = randomValues(m * k, 21);
      const b = sparseValues(k * n, 22);
      // Column 0 of B all zero, one of its zeros negative: column 0 of the product is +0.
      for (let d = 0; d < k; d++) b[transB ? d : d * n] = d === 1 ? -0 : 0;
      const got = new Float64Array(m * n);
      matmul(got, a, b, { m, n, k, transB }, new Scratch());
      // Summed in the same order from +0, the skipped terms ±0 change nothing: equal bits.
      assert.deepStrictEqual(got, naive(a, b, m, n, k, false, transB), `${m}x${n}x${k}`);
      for (let i = 0; i < m; i++) assert.ok(Object.is(got[i * n], 0), `row ${i} column 0 is +0`);
    }
  }
});

Deno.test("matmul() keeps zero depths when A holds NaN or an infinity", () => {
  const [m, n, k] = [4, 4, 3];
  const b = new Float64Array(k * n); // all zero
  for (const bad of [NaN, Infinity, -Infinity]) {
    const a = new Float64Array(m * k).fill(1);
    a[2] = bad; // row 0, depth 2
    const got = new Float64Array(m * n);
    matmul(got, a, b, { m, n, k }, new Scratch());
    // ∞·0 and NaN·0 are NaN in row 0; the other rows sum zeros.
    assert.ok(got.slice(0, n).every(Number.isNaN), `${bad}: row 0 is NaN`);
    assert.ok(got.slice(n).every((v) => Object.is(v, 0)), `${bad}: other rows are +0`);
  }
});

Deno.test("matmulRounded() rounds every step: f64 rounding equals matmul, f16 rounding loses bits", () => {
  const [m, n, k] = [5, 6, 300];
  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      const a = randomValues(m * k, 11), b = randomValues(k * n, 12);
      const exact = new Float64Array(m * n), viaRounded = new Float64Array(m * n);
      matmul(exact, a, b, { m, n, k, transA, transB }, new Scratch());
      matmulRounded(viaRounded, a, b, { m, n, k, transA, transB }, (x) => x);
      assert.ok(viaRounded.every((v, i) => Math.abs(v - exact[i]) < 1e-12), `${transA} ${transB}`);
    }
  }
  // Summing 4096 ones in f16 stalls at 2048: 2048 + 1 is a tie between 2048 and 2050, and
  // ties go to the even 2048.
  const ones = new Float64Array(4096).fill(1);
  const out = new Float64Array(1);
  matmulRounded(out, ones, ones, { m: 1, n: 1, k: 4096 }, Math.f16round);
  assert.equal(out[0], 2048);
  matmulRounded(out, ones, ones, { m: 1, n: 1, k: 4096 }, Math.fround);
  assert.equal(out[0], 4096);
});
