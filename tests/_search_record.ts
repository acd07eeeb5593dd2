/**
 * A search of the synthetic problem recorded step by step, to compare two implementations of
 * the search: its result, its log and every classification and progress label, in order,
 * without wall times.
 *
 * @module
 */
import type { SearchOptions, SearchProblem, SearchResult } from "../analysis/search.ts";
import { syntheticProblem } from "./_synthetic_search.ts";

/** Options that take the search through each of its phases and ends. */
export const GOLDEN_OPTIONS: SearchOptions[] = [
  { tolerancePp: 0.3, minP: 0.05, maxEvaluations: 10 },
  {},
  { tolerancePp: 1, maxEvaluations: 20 },
  { tolerancePp: 0.5, maxEvaluations: 4 },
  { tolerancePp: 0, minP: 0.5, maxEvaluations: 12 },
  { tolerancePp: 0.2, maxEvaluations: 2 },
];

/** What one search did, as plain JSON without wall times. */
export interface SearchRecord {
  result: unknown;
  log: unknown[];
  runs: string[];
  progress: string[];
}

/** Runs `search` on the synthetic problem with `options`, recording every step. */
export async function recordSearch(
  search: (problem: SearchProblem, options: SearchOptions) => Promise<SearchResult>,
  options: SearchOptions,
): Promise<SearchRecord> {
  const problem = syntheticProblem();
  const log: unknown[] = [];
  const progress: string[] = [];
  const result = await search(problem, {
    ...options,
    // A reference's predictions as a digest: a thousand numbers a run would swamp the fixture.
    onLog: (entry) =>
      void log.push(withoutTimes(
        entry.type === "reference"
          ? { ...entry, predictions: entry.predictions.reduce((h, p, i) => h + (i + 1) * p, 0) }
          : entry,
      )),
    onProgress: (label, done, total) => {
      if (progress.at(-1) !== label) progress.push(`${label} ${done}/${total}`);
    },
  });
  return { result: withoutTimes(result), log, runs: problem.runs, progress };
}

/** `value` without wall times, as JSON gives it back. */
function withoutTimes(value: unknown): unknown {
  return JSON.parse(JSON.stringify(
    value,
    (key, v) => (/^(seconds|sensitivitySeconds)$/.test(key) ? undefined : v),
  ));
}
