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
 * import { flips } from "@halfprec/halfprec";
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
 * @example
 * ```ts
 * import { mcnemarExact } from "@halfprec/halfprec";
 * import assert from "node:assert/strict";
 * assert.equal(mcnemarExact(0, 0), 1);
 * assert.equal(mcnemarExact(0, 5), 0.0625); // 2 * (1/2)^5
 * assert.equal(mcnemarExact(3, 3), 1);
 * ```
 */
export function mcnemarExact(b: number, c: number): number {
  const n = b + c;
  if (n === 0) return 1;
  const k = Math.min(b, c);
  // Sum the binomial tail in log space: (1/2)^n underflows for n above 1074.
  let logPmf = -n * Math.LN2; // P(X = 0)
  let logTail = logPmf;
  for (let i = 0; i < k; i++) {
    logPmf += Math.log((n - i) / (i + 1));
    const hi = Math.max(logTail, logPmf);
    logTail = hi + Math.log(Math.exp(logTail - hi) + Math.exp(logPmf - hi));
  }
  return Math.min(1, 2 * Math.exp(logTail));
}
