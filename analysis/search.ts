/**
 * Searching per-layer formats: which layers can be narrow, and what each choice costs in bytes
 * moved and accuracy. The `@halfprec/halfprec/search` entry point: `searchFormats` on any
 * `SearchProblem`, `networkSearchProblem` for a network and its images, `paretoFrontier` and
 * `parseSearchLog`.
 *
 * A full evaluation (a configuration run on every image of the search split) is what costs
 * time, so the search spends as few as it can, and runs the float64 reference on the search
 * split while it measures the sensitivity. Per-unit sensitivity (the relative noise power a
 * format adds at a unit's outputs, measured once on a few images) orders the units: starting
 * with every unit in its widest format, the unit that saves the most bytes per unit of added
 * noise is narrowed one width at a time, down to every unit in its narrowest. That path is
 * ordered by predicted harm, so the search evaluates its two ends and bisects it for the
 * narrowest configuration within tolerance of float64, then tries single-unit steps from there
 * (the order is only a prediction; steps predicted noisier than a failure are skipped), then
 * spends what is left of its budget on the path's widest gaps across which accuracy falls by
 * more than the tolerance, to draw the trade-off. The cheapest configuration within
 * tolerance is chosen and run once on the held-out split, which played no part in choosing it.
 *
 * Every reference run, trial and the sensitivity are handed to `onLog` as they are made, as
 * plain JSON; given back as `previous`, they are reused instead of recomputed, and since the
 * search is deterministic it retraces the same steps: that is how an interrupted search
 * resumes.
 *
 * @module
 */
import {
  bisectPath,
  confirmChoice,
  fillFrontier,
  measureSensitivity,
  planPath,
  refine,
  type SearchState,
  startReference,
  startSearch,
} from "./_search_phases.ts";
import type {
  SearchLogEntry,
  SearchOptions,
  SearchProblem,
  SearchResult,
  Trial,
} from "./search_types.ts";

import { logEntryProblem } from "./_search_log_entry.ts";

export type * from "./search_types.ts";
export { type NetworkSearchOptions, networkSearchProblem } from "./search_problem.ts";

/**
 * Searches per-unit formats of `problem` for the Pareto frontier of bytes moved versus
 * accuracy and the cheapest configuration within tolerance of float64 (see the module
 * description for how).
 *
 * @throws {RangeError} When `previous` was logged with other settings, naming the setting.
 *
 * @example Two units, one of which cannot be narrow
 * ```ts
 * import { searchFormats, type SearchProblem } from "@halfprec/halfprec/search";
 * import assert from "node:assert/strict";
 * const labels = new Int32Array(1000).map((_, i) => i % 10);
 * const problem: SearchProblem = {
 *   units: [{ name: "a", layers: ["a"] }, { name: "b", layers: ["b"] }],
 *   formats: ["f32", "e4m3"],
 *   settings: {},
 *   bytesPerImage: (c) => (c.a ?? c.default) === "f32" ? 8 : 2 + ((c.b ?? c.default) === "f32" ? 4 : 1),
 *   sensitivity: () => Promise.resolve([[1e-14, 1e-4], [1e-14, 1e-3]]),
 *   labels: () => labels,
 *   // b in e4m3 gets every tenth image wrong
 *   classify: (c) => Promise.resolve(labels.map((l, i) => (c.b ?? c.default) === "e4m3" && i % 10 === 0 ? l + 1 : l)),
 * };
 * const result = await searchFormats(problem);
 * assert.deepEqual(result.chosen?.formats, ["e4m3", "f32"]);
 * assert.equal(result.confirmation?.withinTolerance, true);
 * ```
 */
export async function searchFormats(
  problem: SearchProblem,
  options: SearchOptions = {},
): Promise<SearchResult> {
  const started = performance.now();
  const state = await startSearch(problem, options);
  // The float64 run on the search split does not depend on the sensitivity: it runs meanwhile.
  startReference(state, "search");
  await measureSensitivity(state);
  planPath(state);
  await bisectPath(state);
  await refine(state);
  await fillFrontier(state);
  const { chosen, confirmation } = await confirmChoice(state);
  return searchResult(state, chosen, confirmation, (performance.now() - started) / 1000);
}

/** The result of the search in `state`, which chose `chosen`, confirmed as `confirmation`. */
function searchResult(
  state: SearchState,
  chosen: Trial | null,
  confirmation: Trial | null,
  seconds: number,
): SearchResult {
  const { problem, memory, trials } = state;
  const references = (["search", "holdout"] as const).flatMap((s) => {
    const known = memory.reference(s);
    return known ? [known.run] : [];
  });
  return {
    units: problem.units.map((u) => ({ name: u.name, layers: [...u.layers] })),
    formats: [...problem.formats],
    tolerancePp: state.tolerancePp,
    minP: state.minP,
    sensitivity: memory.sensitivity!.noise,
    sensitivitySeconds: memory.sensitivity!.seconds,
    references,
    trials,
    frontier: paretoFrontier(trials),
    chosen,
    confirmation,
    evaluations: { search: trials.length, holdout: confirmation ? 1 : 0 },
    resumed: memory.reused,
    seconds,
  };
}

/**
 * The trials that no other trial beats: none has at most as many bytes and at least the same
 * accuracy, one of them strictly. Fewest bytes first; of equal trials, the first is kept.
 *
 * @example
 * ```ts
 * import { paretoFrontier } from "@halfprec/halfprec/search";
 * import assert from "node:assert/strict";
 * const t = (bytesPerImage: number, accuracy: number) => ({ bytesPerImage, accuracy });
 * assert.deepEqual(paretoFrontier([t(4, 0.99), t(2, 0.98), t(3, 0.97), t(1, 0.9)]), [t(1, 0.9), t(2, 0.98), t(4, 0.99)]);
 * ```
 */
export function paretoFrontier<T extends { bytesPerImage: number; accuracy: number }>(
  trials: readonly T[],
): T[] {
  const sorted = [...trials].sort((a, b) =>
    a.bytesPerImage - b.bytesPerImage || b.accuracy - a.accuracy
  );
  const frontier: T[] = [];
  for (const t of sorted) {
    if (frontier.length === 0 || t.accuracy > frontier.at(-1)!.accuracy) frontier.push(t);
  }
  return frontier;
}

/**
 * Parses a search log (JSON Lines, one {@linkcode SearchLogEntry} per line). A last line cut
 * short, as an interrupted write leaves it, is dropped.
 *
 * @param source The log's file name, to begin error messages with.
 * @throws {SyntaxError} When a line before the last is not JSON, or is not a whole log entry
 * (each field of the right kind and range, each accuracy its counts' ratio); the message names
 * the line and the field.
 *
 * @example
 * ```ts
 * import { parseSearchLog } from "@halfprec/halfprec/search";
 * import assert from "node:assert/strict";
 * const text = '{"type":"start","settings":{"formats":"f32"}}\n{"type":"sensi';
 * assert.deepEqual(parseSearchLog(text, "log.jsonl"), [{ type: "start", settings: { formats: "f32" } }]);
 * ```
 */
export function parseSearchLog(text: string, source = "search log"): SearchLogEntry[] {
  const lines = text.split("\n");
  const entries: SearchLogEntry[] = [];
  for (const [i, line] of lines.entries()) {
    if (line.trim() === "") continue;
    const last = i === lines.length - 1;
    let entry: unknown;
    try {
      entry = JSON.parse(line);
    } catch (error) {
      if (last) break;
      throw new SyntaxError(`${source}: line ${i + 1}: ${(error as Error).message}`);
    }
    const problem = logEntryProblem(entry);
    if (problem) throw new SyntaxError(`${source}: line ${i + 1}: ${problem}`);
    entries.push(entry as SearchLogEntry);
  }
  return entries;
}
