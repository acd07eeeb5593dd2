/**
 * Comparing logits from two implementations: the largest difference relative to each row's
 * largest logit, and the class of each row.
 *
 * @module
 */

/** The class of each row of `logits` (rows of `classes` values): the first largest. */
export function argmax(logits: Float64Array, classes: number): number[] {
  return Array.from({ length: logits.length / classes }, (_, i) => {
    const row = logits.subarray(i * classes, (i + 1) * classes);
    return row.indexOf(Math.max(...row));
  });
}

/** The largest difference of `actual` from `expected`, relative to each row's largest logit. */
export function worstError(actual: Float64Array, expected: Float64Array, classes: number): number {
  if (actual.length !== expected.length) {
    throw new RangeError(`${actual.length} logits, expected ${expected.length}`);
  }
  let worst = 0;
  for (let i = 0; i < expected.length; i += classes) {
    const row = expected.subarray(i, i + classes);
    const scale = Math.max(...row.map(Math.abs));
    for (let j = 0; j < classes; j++) {
      worst = Math.max(worst, Math.abs(actual[i + j] - row[j]) / scale);
    }
  }
  return worst;
}
