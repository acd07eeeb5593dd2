/**
 * Stochastic rounding over several seeds: one run per seed of a stochastically rounding format,
 * and the spread of their accuracies and flips. A single seed's accuracy says little: two seeds
 * of the same format can differ by more than the format differs from float64.
 *
 * @module
 */
import type { Storage } from "../layers/storage/storage.ts";
import { storageByName } from "../layers/storage/formats.ts";
import type { PrecisionResult } from "./evaluate.ts";

/** `-sr{seed}` ends the name of every stochastically rounding minifloat (see `minifloat`). */
const STOCHASTIC = /^(.*-sr)(\d+)$/;

/** Smallest and largest of a set of runs' values. */
export interface Extent {
  /** Smallest value. */
  min: number;
  /** Largest value. */
  max: number;
}

/** The accuracy of one stochastically rounding format over several seeds. */
export interface SeedSpread {
  /** The format's name without its seed (`"e5m10-sr"`). */
  format: string;
  /** How the format was applied. */
  mode: PrecisionResult["mode"];
  /** The seeds run, in order. */
  seeds: number[];
  /**
   * Fraction correct: mean, sample standard deviation (divided by seeds − 1; 0 for one seed),
   * smallest and largest.
   */
  accuracy: Extent & { mean: number; std: number };
  /** Images the baseline got wrong and a run right: fewest and most over the seeds. */
  flipsToRight: Extent;
  /** Images the baseline got right and a run wrong: fewest and most over the seeds. */
  flipsToWrong: Extent;
}

/**
 * `format` with `count` consecutive seeds from its own (`e5m10-sr7` with 3: seeds 7, 8, 9), or
 * `[format]` when it does not round stochastically.
 *
 * @throws {RangeError} When `count` is not a positive integer, or a seed passes 2^32 − 1.
 *
 * @example
 * ```ts
 * import { f16, storageByName } from "@halfprec/halfprec";
 * import { seededFormats } from "@halfprec/halfprec/analysis";
 * import assert from "node:assert/strict";
 * const names = seededFormats(storageByName("e5m10-sr7"), 3).map((s) => s.name);
 * assert.deepEqual(names, ["e5m10-sr7", "e5m10-sr8", "e5m10-sr9"]);
 * assert.deepEqual(seededFormats(f16, 3), [f16]);
 * ```
 */
export function seededFormats(format: Storage, count: number): Storage[] {
  if (!(Number.isInteger(count) && count >= 1)) {
    throw new RangeError(
      `Cannot seed ${format.name}: count is ${count}, expected a positive integer`,
    );
  }
  const match = STOCHASTIC.exec(format.name);
  if (!match) return [format];
  const [, base, first] = match;
  return Array.from({ length: count }, (_, i) => storageByName(`${base}${Number(first) + i}`));
}

/**
 * Groups the runs of `results` that differ only in their stochastic rounding seed (same
 * format and mode otherwise) and summarises each group, in order of first appearance. Runs of
 * formats that do not round stochastically are left out. The runs of a group must classify the
 * same images (the same `total`).
 *
 * @example Three seeds of E5M10 with stochastic rounding
 * ```ts
 * import { type PrecisionResult, seedSpreads } from "@halfprec/halfprec/analysis";
 * import assert from "node:assert/strict";
 * const run = (format: string, correct: number, toWrong: number) =>
 *   ({ format, mode: "store", correct, total: 4, accuracy: correct / 4, flipsToRight: 0,
 *     flipsToWrong: toWrong }) as PrecisionResult;
 * const [spread] = seedSpreads([run("f64", 4, 0), run("e5m10-sr1", 2, 2), run("e5m10-sr2", 3, 1),
 *   run("e5m10-sr3", 4, 0)]);
 * assert.equal(spread.format, "e5m10-sr");
 * assert.deepEqual(spread.seeds, [1, 2, 3]);
 * assert.deepEqual(spread.accuracy, { mean: 0.75, std: 0.25, min: 0.5, max: 1 });
 * assert.deepEqual(spread.flipsToWrong, { min: 0, max: 2 });
 * ```
 */
export function seedSpreads(results: readonly PrecisionResult[]): SeedSpread[] {
  const groups = new Map<string, { format: string; mode: SeedSpread["mode"]; runs: Run[] }>();
  for (const result of results) {
    const match = STOCHASTIC.exec(result.format);
    if (!match) continue;
    const key = `${match[1]} ${result.mode}`;
    const group = groups.get(key) ?? { format: match[1], mode: result.mode, runs: [] };
    group.runs.push({ seed: Number(match[2]), result });
    groups.set(key, group);
  }
  return [...groups.values()].map(({ format, mode, runs }) => {
    const pick = (f: (r: PrecisionResult) => number) => runs.map((run) => f(run.result));
    return {
      format,
      mode,
      seeds: runs.map((run) => run.seed),
      accuracy: meanAndSpread(pick((r) => r.correct), runs[0].result.total),
      flipsToRight: extent(pick((r) => r.flipsToRight)),
      flipsToWrong: extent(pick((r) => r.flipsToWrong)),
    };
  });
}

/** One seed's run. */
interface Run {
  seed: number;
  result: PrecisionResult;
}

function extent(values: readonly number[]): Extent {
  return { min: Math.min(...values), max: Math.max(...values) };
}

/**
 * The statistics of `counts` of `total`, computed on the counts so that equal runs give a
 * deviation of exactly 0, not rounding noise.
 */
function meanAndSpread(counts: readonly number[], total: number): SeedSpread["accuracy"] {
  const n = counts.length;
  const mean = counts.reduce((sum, v) => sum + v, 0) / n;
  const squares = counts.reduce((sum, v) => sum + (v - mean) ** 2, 0);
  const { min, max } = extent(counts);
  return {
    mean: mean / total,
    std: n > 1 ? Math.sqrt(squares / (n - 1)) / total : 0,
    min: min / total,
    max: max / total,
  };
}
