/**
 * Flips between two classifiers on the same images, and the exact McNemar test of whether
 * they differ.
 *
 * @module
 */

/** How predictions changed from a baseline to a candidate, judged against the labels. */
export interface Flips {
  /** Images the baseline got wrong and the candidate right. */
  toRight: number[];
  /** Images the baseline got right and the candidate wrong. */
  toWrong: number[];
  /** Images whose predicted class changed, right or wrong either way. */
  changed: number;
}

/**
 * Compares two sets of predictions image by image.
 *
 * @example
 * ```ts
 * import { flips } from "@halfprec/halfprec/analysis";
 * import assert from "node:assert/strict";
 * const f = flips([1, 2, 3, 4], [1, 0, 3, 5], [1, 0, 3, 4]);
 * assert.deepEqual(f, { toRight: [1], toWrong: [3], changed: 2 });
 * ```
 */
export function flips(
  baseline: ArrayLike<number>,
  candidate: ArrayLike<number>,
  labels: ArrayLike<number>,
): Flips {
  if (baseline.length !== candidate.length || baseline.length !== labels.length) {
    throw new RangeError(
      `Cannot compare predictions: ${baseline.length} baseline, ${candidate.length} candidate ` +
        `and ${labels.length} labels, expected equal counts`,
    );
  }
  const result: Flips = { toRight: [], toWrong: [], changed: 0 };
  for (let i = 0; i < labels.length; i++) {
    if (baseline[i] === candidate[i]) continue;
    result.changed++;
    if (candidate[i] === labels[i]) result.toRight.push(i);
    else if (baseline[i] === labels[i]) result.toWrong.push(i);
  }
  return result;
}

/**
 * The two-sided exact McNemar p-value for `b` discordant pairs one way and `c` the other:
 * twice the probability of a split at least as uneven under Binomial(b + c, 1/2), capped at 1.
 * With no discordant pairs it is 1 (no evidence of a difference).
 *
 * Stable for any counts: exactly 1 when the split is as even as it can be (|b − c| ≤ 1),
 * exactly 2^(1−n) when one count is 0 (down to the smallest double), and otherwise within
 * about 1e-13 of the exact value: the largest term of the tail comes from Loader's
 * saddle-point form of the binomial probability (as R's `dbinom`), free of the cancellation of
 * log(n!) − log(k!) − ..., and the others from it by exact ratios, summed compensated.
 *
 * @throws {RangeError} When a count is not a non-negative integer.
 *
 * @example
 * ```ts
 * import { mcnemarExact } from "@halfprec/halfprec/analysis";
 * import assert from "node:assert/strict";
 * assert.equal(mcnemarExact(0, 0), 1);
 * assert.equal(mcnemarExact(0, 5), 0.0625); // 2 * (1/2)^5
 * assert.equal(mcnemarExact(3, 3), 1);
 * assert.equal(mcnemarExact(2, 3), 1);
 * assert.equal(mcnemarExact(0, 1075), 2 ** -1074);
 * ```
 */
export function mcnemarExact(b: number, c: number): number {
  for (const count of [b, c]) {
    if (!(Number.isSafeInteger(count) && count >= 0)) {
      throw new RangeError(`Cannot test ${b} and ${c} discordant pairs: expected counts`);
    }
  }
  const n = b + c;
  const k = Math.min(b, c);
  // The tail up to k then holds half of the distribution or more.
  if (2 * k + 1 >= n) return 1;
  if (k === 0) return 2 ** (1 - n);
  // Terms grow with i up to k < n/2: sum them from the largest, each from the next by the
  // exact ratio P(i − 1) / P(i) = i / (n − i + 1), until they no longer change the sum.
  let sum = 1, compensation = 0, term = 1;
  for (let i = k; i > 0; i--) {
    term *= i / (n - i + 1);
    const next = sum + term;
    compensation += sum - next + term;
    sum = next;
    if (term < sum * 1e-17) break;
  }
  return Math.min(1, Math.exp(Math.LN2 + logBinomialHalf(k, n) + Math.log(sum + compensation)));
}

/** log P(X = x) for X ~ Binomial(n, 1/2), 0 < x < n, in Loader's form (see R's dbinom_raw). */
function logBinomialHalf(x: number, n: number): number {
  const half = n / 2;
  const lc = stirlingError(n) - stirlingError(x) - stirlingError(n - x) - deviance(x, half) -
    deviance(n - x, half);
  const lf = Math.log(2 * Math.PI) + Math.log(x) + Math.log1p(-x / n);
  return lc - 0.5 * lf;
}

/** log(n!) − log(√(2π n) (n/e)^n), the error of Stirling's formula, for integers n ≥ 1. */
function stirlingError(n: number): number {
  if (n <= 15) {
    let logFactorial = 0;
    for (let i = 2; i <= n; i++) logFactorial += Math.log(i);
    return logFactorial - (n + 0.5) * Math.log(n) + n - 0.5 * Math.log(2 * Math.PI);
  }
  const [s0, s1, s2, s3, s4] = [1 / 12, 1 / 360, 1 / 1260, 1 / 1680, 1 / 1188];
  const nn = n * n;
  if (n > 500) return (s0 - s1 / nn) / n;
  if (n > 80) return (s0 - (s1 - s2 / nn) / nn) / n;
  if (n > 35) return (s0 - (s1 - (s2 - s3 / nn) / nn) / nn) / n;
  return (s0 - (s1 - (s2 - (s3 - s4 / nn) / nn) / nn) / nn) / n;
}

/**
 * x log(x / m) + m − x, the deviance term, by its series when x is near m (where the direct
 * form cancels).
 */
function deviance(x: number, m: number): number {
  if (Math.abs(x - m) < 0.1 * (x + m)) {
    let v = (x - m) / (x + m);
    let s = (x - m) * v;
    let ej = 2 * x * v;
    v *= v;
    for (let j = 1; j < 1000; j++) {
      ej *= v;
      const next = s + ej / (2 * j + 1);
      if (next === s) return next;
      s = next;
    }
    return s;
  }
  // log1p of the relative difference: log(x / m) would carry the rounding of the ratio,
  // multiplied by x.
  return x * Math.log1p((x - m) / m) - (x - m);
}
