/**
 * Searching per-layer formats: which layers can be narrow, and what each choice costs in bytes
 * moved and accuracy.
 *
 * A full evaluation (a configuration run on every image of the search split) is what costs
 * time, so the search spends as few as it can. Per-unit sensitivity (the relative noise power a
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
import { storageByName } from "../layers/storage/formats.ts";
import { bitsPerValue } from "../layers/storage/scaled.ts";
import { compactLayerConfig, type LayerConfig } from "./layer_config.ts";
import { flips, mcnemarExact } from "./mcnemar.ts";
import { logEntryProblem } from "./_search_log_entry.ts";

/** The two image sets of a search: one to choose on, one to confirm the choice on. */
export type SearchSplit = "search" | "holdout";

/**
 * A group of layers that share one format in a search: a layer with parameters and the layers
 * without any that follow it (conv1 and relu1; conv2, relu2 and pool1), so that formats change
 * only where the weights do.
 *
 * @example
 * ```ts
 * import type { SearchUnit } from "@halfprec/halfprec";
 * const unit: SearchUnit = { name: "conv2", layers: ["conv2", "relu2", "pool1"] };
 * ```
 */
export interface SearchUnit {
  /** The unit's name: its first layer's. */
  name: string;
  /** Its layers, in order. */
  layers: string[];
}

/**
 * What a search needs to know about a network and its data; `networkSearchProblem` makes one
 * for a `Sequential` and MNIST images, tests make small synthetic ones.
 *
 * @example
 * ```ts
 * import type { SearchProblem } from "@halfprec/halfprec";
 * const labels = new Uint8Array([0, 1]);
 * const problem: SearchProblem = {
 *   units: [{ name: "a", layers: ["a"] }],
 *   formats: ["f32", "e4m3"],
 *   settings: {},
 *   bytesPerImage: (config) => (config.default === "e4m3" ? 1 : 4),
 *   sensitivity: () => Promise.resolve([[1e-14, 1e-3]]),
 *   labels: () => labels,
 *   classify: () => Promise.resolve(new Int32Array([0, 1])),
 * };
 * ```
 */
export interface SearchProblem {
  /** The units to give formats to, in network order. */
  units: readonly SearchUnit[];
  /** The candidate format names. */
  formats: readonly string[];
  /** What a log must have been written with to be resumed (weights, image counts...). */
  settings: Readonly<Record<string, string | number>>;
  /** Bytes moved per image by one forward pass in `config`, conversions included. */
  bytesPerImage(config: LayerConfig): number;
  /**
   * The relative noise power (noise / signal energy) each unit adds in each candidate format,
   * `[unit][format]`; `Infinity` where the format breaks the unit (overflow to NaN).
   * `onProgress` gets the formats done.
   */
  sensitivity(onProgress?: (done: number, total: number) => void): Promise<number[][]>;
  /** The labels of a split's images. */
  labels(split: SearchSplit): ArrayLike<number>;
  /**
   * The predicted class of every image of `split` with the network in `config`
   * (`{ default: "f64" }` is the reference); `onProgress` gets the images done.
   */
  classify(
    config: LayerConfig,
    split: SearchSplit,
    onProgress?: (done: number, total: number) => void,
  ): Promise<Int32Array>;
}

/** Why a configuration was evaluated. */
export type TrialReason = "widest" | "narrowest" | "bisect" | "refine" | "frontier" | "confirm";

/**
 * One full evaluation of a configuration on a split, compared with float64 on the same images.
 *
 * @example
 * ```ts
 * import type { Trial } from "@halfprec/halfprec";
 * const trial: Trial = {
 *   split: "search", reason: "narrowest", formats: ["e4m3"], config: { default: "e4m3" },
 *   bytesPerImage: 1, accuracy: 0.99, correct: 99, total: 100, deltaPp: -0.1, flipsToRight: 0,
 *   flipsToWrong: 1, mcnemarP: 1, withinTolerance: true, seconds: 0.5,
 * };
 * ```
 */
export interface Trial {
  /** The images it ran on. */
  split: SearchSplit;
  /** Why the search ran it. */
  reason: TrialReason;
  /** The format of each unit, in the order of {@linkcode SearchResult.units}. */
  formats: string[];
  /** The same as a layer configuration (for `deno task eval --config`). */
  config: LayerConfig;
  /** Bytes moved per image by one forward pass, conversions included. */
  bytesPerImage: number;
  /** Fraction of the split's images classified correctly. */
  accuracy: number;
  /** Images classified correctly. */
  correct: number;
  /** Images classified. */
  total: number;
  /** Accuracy minus float64's on the same images, in percentage points. */
  deltaPp: number;
  /** Images float64 got wrong and this configuration right. */
  flipsToRight: number;
  /** Images float64 got right and this configuration wrong. */
  flipsToWrong: number;
  /** Exact McNemar p-value of the difference from float64. */
  mcnemarP: number;
  /** At most the tolerance below float64, with a p-value above the minimum. */
  withinTolerance: boolean;
  /** Wall time of the evaluation, in seconds. */
  seconds: number;
}

/** The float64 reference on one split. */
export interface ReferenceRun {
  /** The images it ran on. */
  split: SearchSplit;
  /** Fraction classified correctly. */
  accuracy: number;
  /** Images classified correctly. */
  correct: number;
  /** Images classified. */
  total: number;
  /** Bytes moved per image in float64. */
  bytesPerImage: number;
  /** Wall time, in seconds. */
  seconds: number;
}

/**
 * The outcome of {@linkcode searchFormats}: plain JSON (numbers, strings, arrays, objects; no
 * `Infinity`), for reports and charts.
 *
 * @example
 * ```ts
 * import type { SearchResult } from "@halfprec/halfprec";
 * const chosenBytes = (result: SearchResult) => result.chosen?.bytesPerImage;
 * ```
 */
export interface SearchResult {
  /** The units, in network order; every `formats` array follows this order. */
  units: SearchUnit[];
  /** The candidate formats. */
  formats: string[];
  /** Largest accuracy drop accepted, in percentage points. */
  tolerancePp: number;
  /** Smallest McNemar p-value accepted. */
  minP: number;
  /** Relative noise power per unit and format (`[unit][format]`); null where infinite. */
  sensitivity: (number | null)[][];
  /** Wall time of measuring the sensitivity, in seconds (in the run that measured it). */
  sensitivitySeconds: number;
  /** Float64 on the search split, and on the held-out split when a choice was confirmed. */
  references: ReferenceRun[];
  /** Every evaluation on the search split, in the order they were made. */
  trials: Trial[];
  /** The trials no other trial beats in both bytes and accuracy, fewest bytes first. */
  frontier: Trial[];
  /** The trial with the fewest bytes within tolerance; null when none is. */
  chosen: Trial | null;
  /** The chosen configuration on the held-out split; null when nothing was chosen. */
  confirmation: Trial | null;
  /** Full evaluations of configurations: on the search split, then on the held-out one. */
  evaluations: { search: number; holdout: number };
  /** How many of the evaluations (and reference runs) came from a previous run's log. */
  resumed: number;
  /** Wall time of this run, in seconds. */
  seconds: number;
}

/**
 * One line of a search log: the settings it ran with, the sensitivity, a float64 reference run
 * (with its predictions, which trials are compared with) or a trial.
 *
 * @example
 * ```ts
 * import type { SearchLogEntry } from "@halfprec/halfprec";
 * const start: SearchLogEntry = { type: "start", settings: { formats: "f32,e4m3" } };
 * ```
 */
export type SearchLogEntry =
  | { type: "start"; settings: Record<string, string | number> }
  | { type: "sensitivity"; noise: (number | null)[][]; seconds: number }
  | { type: "reference"; run: ReferenceRun; predictions: number[] }
  | { type: "trial"; trial: Trial };

/** Options of {@linkcode searchFormats}. */
export interface SearchOptions {
  /** Largest accuracy drop from float64 accepted, in percentage points. @default {0.1} */
  tolerancePp?: number;
  /** Smallest McNemar p-value accepted (a smaller one means a real difference). @default {0.05} */
  minP?: number;
  /** Most full evaluations on the search split. @default {12} */
  maxEvaluations?: number;
  /** The entries of an earlier run's log, to resume it. */
  previous?: readonly SearchLogEntry[];
  /** Called with every new log entry, before the search goes on. */
  onLog?: (entry: SearchLogEntry) => void | Promise<void>;
  /** Called as an evaluation progresses: what runs, and images done of its total. */
  onProgress?: (label: string, done: number, total: number) => void;
}

/**
 * Searches per-unit formats of `problem` for the Pareto frontier of bytes moved versus
 * accuracy and the cheapest configuration within tolerance of float64 (see the module
 * description for how).
 *
 * @throws {RangeError} When `previous` was logged with other settings, naming the setting.
 *
 * @example Two units, one of which cannot be narrow
 * ```ts
 * import { searchFormats, type SearchProblem } from "@halfprec/halfprec";
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
  const { tolerancePp = 0.1, minP = 0.05, maxEvaluations = 12, onLog, onProgress } = options;
  const settings = {
    ...problem.settings,
    units: problem.units.map((u) => u.name).join(","),
    formats: problem.formats.join(","),
    tolerancePp,
    minP,
  };
  const memory = new SearchMemory(options.previous ?? [], settings);
  const log = async (entry: SearchLogEntry) => {
    memory.remember(entry);
    await onLog?.(entry);
  };
  if (!memory.started) await log({ type: "start", settings });

  if (!memory.sensitivity) {
    const t = performance.now();
    const measured = await measureSensitivity(problem, onProgress);
    const seconds = (performance.now() - t) / 1000;
    await log({ type: "sensitivity", noise: measured.map((row) => row.map(finite)), seconds });
  }
  const sensitivity = memory.sensitivity!;
  const noise = sensitivity.noise.map((row) => row.map((n) => n ?? Infinity));
  const ladders = problem.units.map((_, u) => ladder(problem.formats, noise[u]));

  const reference = async (split: SearchSplit) => {
    const known = memory.reference(split);
    if (known) return known;
    const t = performance.now();
    const predictions = await problem.classify(
      { default: "f64" },
      split,
      (done, total) => onProgress?.(`f64 reference, ${split} split`, done, total),
    );
    const labels = problem.labels(split);
    const correct = countCorrect(predictions, labels);
    const run: ReferenceRun = {
      split,
      accuracy: correct / labels.length,
      correct,
      total: labels.length,
      bytesPerImage: problem.bytesPerImage({ default: "f64" }),
      seconds: (performance.now() - t) / 1000,
    };
    await log({ type: "reference", run, predictions: [...predictions] });
    return memory.reference(split)!;
  };

  const configOf = (formats: readonly string[]) =>
    compactLayerConfig(
      problem.units.flatMap((u) => u.layers),
      problem.units.flatMap((u, i) => u.layers.map(() => formats[i])),
    );
  const trials: Trial[] = [];
  const evaluate = async (
    formats: string[],
    reason: TrialReason,
    split: SearchSplit = "search",
  ): Promise<Trial> => {
    const known = memory.trial(split, formats);
    const trial = known ?? await runTrial(formats, reason, split);
    if (split === "search" && !trials.includes(trial)) trials.push(trial);
    return trial;
  };
  const runTrial = async (formats: string[], reason: TrialReason, split: SearchSplit) => {
    const base = await reference(split);
    const config = configOf(formats);
    const t = performance.now();
    const label = split === "search"
      ? `${reason} ${trials.length + 1}: ${formats.join(" ")}`
      : `held-out: ${formats.join(" ")}`;
    const predictions = await problem.classify(
      config,
      split,
      (done, total) => onProgress?.(label, done, total),
    );
    const labels = problem.labels(split);
    const f = flips(base.predictions, predictions, labels);
    const correct = countCorrect(predictions, labels);
    const deltaPp = 100 * (correct - base.run.correct) / labels.length;
    const mcnemarP = mcnemarExact(f.toRight.length, f.toWrong.length);
    const trial: Trial = {
      split,
      reason,
      formats,
      config,
      bytesPerImage: problem.bytesPerImage(config),
      accuracy: correct / labels.length,
      correct,
      total: labels.length,
      deltaPp,
      flipsToRight: f.toRight.length,
      flipsToWrong: f.toWrong.length,
      mcnemarP,
      // A hair of slack: deltaPp is a ratio, and "exactly the tolerance" must pass.
      withinTolerance: deltaPp >= -tolerancePp - 1e-9 && mcnemarP > minP,
      seconds: (performance.now() - t) / 1000,
    };
    await log({ type: "trial", trial });
    return trial;
  };
  const budgetLeft = () => trials.length < maxEvaluations;

  // The path from every unit at its widest to every unit at its narrowest, by predicted harm.
  const path = greedyPath(problem, ladders, noise, configOf);
  const evaluated = new Map<number, Trial>();
  const atPath = async (i: number, reason: TrialReason) => {
    const trial = await evaluate(path[i], reason);
    evaluated.set(i, trial);
    return trial;
  };
  let best: Trial | undefined;
  if ((await atPath(0, "widest")).withinTolerance) {
    best = evaluated.get(0);
    const last = path.length - 1;
    if (last > 0 && budgetLeft() && (await atPath(last, "narrowest")).withinTolerance) {
      best = evaluated.get(last);
    } else {
      let [pass, fail] = [0, last];
      while (fail - pass > 1 && budgetLeft()) {
        const mid = Math.floor((pass + fail) / 2);
        if ((await atPath(mid, "bisect")).withinTolerance) pass = mid;
        else fail = mid;
      }
      best = evaluated.get(pass);
    }
  } else if (path.length > 1 && budgetLeft()) {
    await atPath(path.length - 1, "narrowest");
  }

  // Single-unit steps from the best configuration, most promising first: the path's order was
  // a prediction, and a unit it narrowed too late may still go narrower. A step predicted to
  // add more noise in total than a configuration that already failed is not tried: the search
  // rests on harm growing with noise, and such steps would spend the budget on sure failures.
  const predicted = (formats: readonly string[]) =>
    formats.reduce((sum, f, u) => sum + noise[u][problem.formats.indexOf(f)], 0);
  const failedAt = () =>
    Math.min(...trials.filter((t) => !t.withinTolerance).map((t) => predicted(t.formats)));
  const blocked = new Set<string>();
  while (best && budgetLeft()) {
    const from: Trial = best;
    // Every strictly narrower format of one unit: same-width swaps save no bytes.
    const steps = problem.units.flatMap((_, u) => {
      const current = problem.formats.indexOf(from.formats[u]);
      const width = bytesOf(from.formats[u]);
      return problem.formats.map((_, f) => f).filter((f) => bytesOf(problem.formats[f]) < width)
        .map((f) => {
          const formats = from.formats.with(u, problem.formats[f]);
          const saved = from.bytesPerImage - problem.bytesPerImage(configOf(formats));
          return { formats, score: harmScore(saved, noise[u][f] - noise[u][current]) };
        });
    }).filter((s) => !blocked.has(s.formats.join()))
      .sort((a, b) => b.score - a.score);
    let improved = false;
    for (const step of steps) {
      if (!budgetLeft()) break;
      if (predicted(step.formats) >= failedAt()) continue;
      const trial = await evaluate(step.formats, "refine");
      if (trial.withinTolerance && trial.bytesPerImage < from.bytesPerImage) {
        best = trial;
        improved = true;
        break;
      }
      blocked.add(step.formats.join());
    }
    if (!improved) break;
  }

  // What is left of the budget draws the trade-off: the middle of the path's widest gap in
  // bytes across which accuracy falls by more than the tolerance. Where it falls less, the
  // points between would differ by what the tolerance calls noise.
  while (budgetLeft()) {
    const done = [...evaluated.keys()].sort((a, b) => a - b);
    const gaps = done.slice(1).map((end, i) => ({ start: done[i], end }))
      .filter((g) =>
        g.end - g.start > 1 &&
        100 * (evaluated.get(g.start)!.accuracy - evaluated.get(g.end)!.accuracy) > tolerancePp
      );
    if (gaps.length === 0) break;
    const widest = gaps.reduce((w, g) =>
      evaluated.get(g.start)!.bytesPerImage - evaluated.get(g.end)!.bytesPerImage >
          evaluated.get(w.start)!.bytesPerImage - evaluated.get(w.end)!.bytesPerImage
        ? g
        : w
    );
    await atPath(Math.floor((widest.start + widest.end) / 2), "frontier");
  }

  const passing = trials.filter((t) => t.withinTolerance);
  const chosen = passing.reduce<Trial | null>(
    (c, t) =>
      !c || t.bytesPerImage < c.bytesPerImage ||
        (t.bytesPerImage === c.bytesPerImage && t.accuracy > c.accuracy)
        ? t
        : c,
    null,
  );
  const confirmation = chosen && await evaluate(chosen.formats, "confirm", "holdout");
  const references = (["search", "holdout"] as const).flatMap((s) => {
    const known = memory.reference(s);
    return known ? [known.run] : [];
  });
  return {
    units: problem.units.map((u) => ({ name: u.name, layers: [...u.layers] })),
    formats: [...problem.formats],
    tolerancePp,
    minP,
    sensitivity: sensitivity.noise,
    sensitivitySeconds: sensitivity.seconds,
    references,
    trials,
    frontier: paretoFrontier(trials),
    chosen,
    confirmation,
    evaluations: { search: trials.length, holdout: confirmation ? 1 : 0 },
    resumed: memory.reused,
    seconds: (performance.now() - started) / 1000,
  };
}

/**
 * The trials that no other trial beats: none has at most as many bytes and at least the same
 * accuracy, one of them strictly. Fewest bytes first; of equal trials, the first is kept.
 *
 * @example
 * ```ts
 * import { paretoFrontier } from "@halfprec/halfprec";
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
 * import { parseSearchLog } from "@halfprec/halfprec";
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

/** What earlier runs (a log) and this one know: sensitivity, references and trials. */
class SearchMemory {
  readonly #references = new Map<SearchSplit, { run: ReferenceRun; predictions: number[] }>();
  readonly #trials = new Map<string, Trial>();
  readonly #fresh = new Set<object>();
  sensitivity?: { noise: (number | null)[][]; seconds: number };
  started = false;
  reused = 0;

  constructor(previous: readonly SearchLogEntry[], settings: Record<string, string | number>) {
    for (const entry of previous) {
      if (entry.type === "start") checkSettings(entry.settings, settings);
      this.remember(entry);
    }
    this.#fresh.clear();
  }

  remember(entry: SearchLogEntry): void {
    if (entry.type === "start") this.started = true;
    else if (entry.type === "sensitivity") this.sensitivity = entry;
    else if (entry.type === "reference") {
      this.#references.set(entry.run.split, entry);
      this.#fresh.add(entry);
    } else {
      this.#trials.set(`${entry.trial.split} ${entry.trial.formats.join()}`, entry.trial);
      this.#fresh.add(entry.trial);
    }
  }

  reference(split: SearchSplit) {
    return this.#count(this.#references.get(split));
  }

  trial(split: SearchSplit, formats: readonly string[]): Trial | undefined {
    return this.#count(this.#trials.get(`${split} ${formats.join()}`));
  }

  /** Counts each remembered item the first time it is reused from a previous run. */
  #count<T extends object>(item: T | undefined): T | undefined {
    if (item && !this.#fresh.has(item)) {
      this.reused++;
      this.#fresh.add(item);
    }
    return item;
  }
}

function checkSettings(
  logged: Record<string, string | number>,
  current: Record<string, string | number>,
): void {
  for (const key of new Set([...Object.keys(logged), ...Object.keys(current)])) {
    if (logged[key] !== current[key]) {
      throw new RangeError(
        `Cannot resume: the log was written with ${key} ${JSON.stringify(logged[key])}, this ` +
          `search has ${JSON.stringify(current[key])}; run with the same settings or a new log`,
      );
    }
  }
}

/** Every unit's relative noise power in every format, measured by the problem. */
async function measureSensitivity(
  problem: SearchProblem,
  onProgress?: (label: string, done: number, total: number) => void,
): Promise<number[][]> {
  const noise = await problem.sensitivity((done, total) =>
    onProgress?.("sensitivity", done, total)
  );
  return noise.map((row) => row.map((n) => (Number.isNaN(n) ? Infinity : n)));
}

/**
 * A unit's formats from widest to narrowest: for each element width, the candidate that adds
 * the least noise to this unit (the others of that width are only tried when refining).
 */
function ladder(formats: readonly string[], noise: readonly number[]): number[] {
  const byWidth = new Map<number, number>();
  formats.forEach((name, f) => {
    const width = bytesOf(name);
    const held = byWidth.get(width);
    if (held === undefined || noise[f] < noise[held]) byWidth.set(width, f);
  });
  return [...byWidth].sort((a, b) => b[0] - a[0]).map(([, f]) => f);
}

/** The configurations from widest to narrowest, one unit narrowed one width at a time. */
function greedyPath(
  problem: SearchProblem,
  ladders: readonly number[][],
  noise: readonly number[][],
  configOf: (formats: readonly string[]) => LayerConfig,
): string[][] {
  const rungs = ladders.map(() => 0);
  const formatsAt = (r: readonly number[]) => r.map((k, u) => problem.formats[ladders[u][k]]);
  const path = [formatsAt(rungs)];
  let bytes = problem.bytesPerImage(configOf(path[0]));
  for (;;) {
    const steps = ladders.flatMap((l, u) => {
      if (rungs[u] + 1 >= l.length) return [];
      const next = formatsAt(rungs.with(u, rungs[u] + 1));
      const nextBytes = problem.bytesPerImage(configOf(next));
      const added = noise[u][l[rungs[u] + 1]] - noise[u][l[rungs[u]]];
      return [{ u, next, nextBytes, score: harmScore(bytes - nextBytes, added) }];
    });
    if (steps.length === 0) return path;
    const step = steps.reduce((a, b) => (b.score > a.score ? b : a));
    rungs[step.u]++;
    path.push(step.next);
    bytes = step.nextBytes;
  }
}

/** Bytes saved per unit of noise added: higher is a better step; a breaking step comes last. */
function harmScore(saved: number, added: number): number {
  if (!Number.isFinite(added)) return -Infinity;
  return saved / Math.max(added, Number.MIN_VALUE);
}

/** A format's width, for ordering: bits per value, a scaled format's block scales included. */
function bytesOf(format: string): number {
  return bitsPerValue(storageByName(format)) / 8;
}

function finite(n: number): number | null {
  return Number.isFinite(n) ? n : null;
}

function countCorrect(predictions: ArrayLike<number>, labels: ArrayLike<number>): number {
  let correct = 0;
  for (let i = 0; i < labels.length; i++) if (predictions[i] === labels[i]) correct++;
  return correct;
}
