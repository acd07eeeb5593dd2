/**
 * The phases of the per-layer format search (see `search.ts` for what each is for), each a
 * function of one {@linkcode SearchState}: start (settings and log), sensitivity, the path from
 * widest to narrowest, bisection of the path, single-unit refinement, frontier filling, and the
 * choice confirmed on the held-out split.
 *
 * @module
 */
import { storageByName } from "../layers/storage/formats.ts";
import { bitsPerValue } from "../layers/storage/scaled.ts";
import { compactLayerConfig, type LayerConfig } from "./layer_config.ts";
import { flips, mcnemarExact } from "./mcnemar.ts";
import { SearchMemory } from "./_search_memory.ts";
import type {
  ReferenceRun,
  SearchLogEntry,
  SearchOptions,
  SearchProblem,
  SearchSplit,
  Trial,
  TrialReason,
} from "./search_types.ts";

/** Everything a search knows as it goes; the phases read and extend it. */
export interface SearchState {
  /** The network and data searched. */
  readonly problem: SearchProblem;
  /** Largest accuracy drop from float64 accepted, in percentage points. */
  readonly tolerancePp: number;
  /** Smallest McNemar p-value accepted. */
  readonly minP: number;
  /** Most full evaluations on the search split. */
  readonly maxEvaluations: number;
  /** Receives every new log entry. */
  readonly onLog?: SearchOptions["onLog"];
  /** Receives the progress of every evaluation. */
  readonly onProgress?: SearchOptions["onProgress"];
  /** What the log held and what this run has logged. */
  readonly memory: SearchMemory;
  /** Relative noise power per unit and format (`Infinity` where the format breaks the unit). */
  noise: number[][];
  /** The configurations from widest to narrowest, by predicted harm ({@linkcode planPath}). */
  path: string[][];
  /** The trials at positions of `path`. */
  readonly evaluated: Map<number, Trial>;
  /** Every evaluation on the search split, in order. */
  readonly trials: Trial[];
  /** The cheapest configuration within tolerance found so far, from which refinement starts. */
  best?: Trial;
  /** Float64 runs started and not yet logged, by split ({@linkcode startReference}). */
  readonly running: Map<SearchSplit, RunningReference>;
}

/** A float64 run under way: its predictions and wall time to come, its progress held back. */
interface RunningReference {
  /** The predictions and the run's wall time in seconds. */
  readonly result: Promise<{ predictions: Int32Array; seconds: number }>;
  /** Reports the progress held back so far, and from then on as it comes. */
  show(): void;
}

/**
 * A search of `problem` with `options`: the log of `options.previous` taken in (a RangeError
 * when it was written with other settings) and the start logged unless it was.
 */
export async function startSearch(
  problem: SearchProblem,
  options: SearchOptions = {},
): Promise<SearchState> {
  const { tolerancePp = 0.1, minP = 0.05, maxEvaluations = 12, onLog, onProgress } = options;
  const settings = {
    ...problem.settings,
    units: problem.units.map((u) => u.name).join(","),
    formats: problem.formats.join(","),
    tolerancePp,
    minP,
  };
  const memory = new SearchMemory(options.previous ?? [], settings);
  const state: SearchState = {
    problem,
    tolerancePp,
    minP,
    maxEvaluations,
    onLog,
    onProgress,
    memory,
    noise: [],
    path: [],
    evaluated: new Map(),
    trials: [],
    running: new Map(),
  };
  if (!memory.started) await log(state, { type: "start", settings });
  return state;
}

/** Remembers `entry` and hands it to `onLog`. */
async function log(state: SearchState, entry: SearchLogEntry): Promise<void> {
  state.memory.remember(entry);
  await state.onLog?.(entry);
}

/**
 * Measures (or takes from the log) every unit's relative noise power in every format; NaN
 * counts as `Infinity`, logged as null.
 */
export async function measureSensitivity(state: SearchState): Promise<void> {
  const { memory, problem, onProgress } = state;
  if (!memory.sensitivity) {
    const t = performance.now();
    const measured = await problem.sensitivity((done, total) =>
      onProgress?.("sensitivity", done, total)
    );
    const noise = measured.map((row) => row.map((n) => Number.isFinite(n) ? n : null));
    await log(state, { type: "sensitivity", noise, seconds: (performance.now() - t) / 1000 });
  }
  state.noise = memory.sensitivity!.noise.map((row) => row.map((n) => n ?? Infinity));
}

/**
 * The path from every unit at its widest to every unit at its narrowest: each step narrows the
 * unit that saves the most bytes per unit of added noise by one width.
 */
export function planPath(state: SearchState): void {
  const { problem, noise } = state;
  const ladders = problem.units.map((_, u) => ladder(problem.formats, noise[u]));
  const rungs = ladders.map(() => 0);
  const formatsAt = (r: readonly number[]) => r.map((k, u) => problem.formats[ladders[u][k]]);
  const path = [formatsAt(rungs)];
  let bytes = problem.bytesPerImage(configOf(problem, path[0]));
  for (;;) {
    const steps = ladders.flatMap((l, u) => {
      if (rungs[u] + 1 >= l.length) return [];
      const next = formatsAt(rungs.with(u, rungs[u] + 1));
      const nextBytes = problem.bytesPerImage(configOf(problem, next));
      const added = noise[u][l[rungs[u] + 1]] - noise[u][l[rungs[u]]];
      return [{ u, next, nextBytes, score: harmScore(bytes - nextBytes, added) }];
    });
    if (steps.length === 0) break;
    const step = steps.reduce((a, b) => (b.score > a.score ? b : a));
    rungs[step.u]++;
    path.push(step.next);
    bytes = step.nextBytes;
  }
  state.path = path;
}

/**
 * Evaluates the path's ends and bisects it for its narrowest configuration within tolerance,
 * which becomes `best` (none when even the widest fails).
 */
export async function bisectPath(state: SearchState): Promise<void> {
  const last = state.path.length - 1;
  if (!(await atPath(state, 0, "widest")).withinTolerance) {
    if (last > 0 && budgetLeft(state)) await atPath(state, last, "narrowest");
    return;
  }
  if (last > 0 && budgetLeft(state) && (await atPath(state, last, "narrowest")).withinTolerance) {
    state.best = state.evaluated.get(last);
    return;
  }
  let [pass, fail] = [0, last];
  while (fail - pass > 1 && budgetLeft(state)) {
    const mid = Math.floor((pass + fail) / 2);
    if ((await atPath(state, mid, "bisect")).withinTolerance) pass = mid;
    else fail = mid;
  }
  state.best = state.evaluated.get(pass);
}

/**
 * Single-unit steps from `best`, most promising first: the path's order was a prediction, and a
 * unit it narrowed too late may still go narrower. A step predicted to add more noise in total
 * than a configuration that already failed is not tried: the search rests on harm growing with
 * noise, and such steps would spend the budget on sure failures.
 */
export async function refine(state: SearchState): Promise<void> {
  const { problem, noise, trials } = state;
  const predicted = (formats: readonly string[]) =>
    formats.reduce((sum, f, u) => sum + noise[u][problem.formats.indexOf(f)], 0);
  const failedAt = () =>
    Math.min(...trials.filter((t) => !t.withinTolerance).map((t) => predicted(t.formats)));
  const blocked = new Set<string>();
  while (state.best && budgetLeft(state)) {
    const from: Trial = state.best;
    // Every strictly narrower format of one unit: same-width swaps save no bytes.
    const steps = problem.units.flatMap((_, u) => {
      const current = problem.formats.indexOf(from.formats[u]);
      const width = bytesOf(from.formats[u]);
      return problem.formats.map((_, f) => f).filter((f) => bytesOf(problem.formats[f]) < width)
        .map((f) => {
          const formats = from.formats.with(u, problem.formats[f]);
          const saved = from.bytesPerImage - problem.bytesPerImage(configOf(problem, formats));
          return { formats, score: harmScore(saved, noise[u][f] - noise[u][current]) };
        });
    }).filter((s) => !blocked.has(s.formats.join()))
      .sort((a, b) => b.score - a.score);
    let improved = false;
    for (const step of steps) {
      if (!budgetLeft(state)) break;
      if (predicted(step.formats) >= failedAt()) continue;
      const trial = await evaluate(state, step.formats, "refine");
      if (trial.withinTolerance && trial.bytesPerImage < from.bytesPerImage) {
        state.best = trial;
        improved = true;
        break;
      }
      blocked.add(step.formats.join());
    }
    if (!improved) break;
  }
}

/**
 * Spends what is left of the budget drawing the trade-off: the middle of the path's widest gap
 * in bytes across which accuracy falls by more than the tolerance. Where it falls less, the
 * points between would differ by what the tolerance calls noise.
 */
export async function fillFrontier(state: SearchState): Promise<void> {
  const { evaluated, tolerancePp } = state;
  const drop = (g: { start: number; end: number }) =>
    evaluated.get(g.start)!.accuracy - evaluated.get(g.end)!.accuracy;
  const saved = (g: { start: number; end: number }) =>
    evaluated.get(g.start)!.bytesPerImage - evaluated.get(g.end)!.bytesPerImage;
  while (budgetLeft(state)) {
    const done = [...evaluated.keys()].sort((a, b) => a - b);
    const gaps = done.slice(1).map((end, i) => ({ start: done[i], end }))
      .filter((g) => g.end - g.start > 1 && 100 * drop(g) > tolerancePp);
    if (gaps.length === 0) break;
    const widest = gaps.reduce((w, g) => saved(g) > saved(w) ? g : w);
    await atPath(state, Math.floor((widest.start + widest.end) / 2), "frontier");
  }
}

/**
 * The trial with the fewest bytes within tolerance (of equal bytes, the more accurate), and
 * its evaluation on the held-out split; both null when no trial is within tolerance.
 */
export async function confirmChoice(
  state: SearchState,
): Promise<{ chosen: Trial | null; confirmation: Trial | null }> {
  const chosen = state.trials.filter((t) => t.withinTolerance).reduce<Trial | null>(
    (c, t) =>
      !c || t.bytesPerImage < c.bytesPerImage ||
        (t.bytesPerImage === c.bytesPerImage && t.accuracy > c.accuracy)
        ? t
        : c,
    null,
  );
  const confirmation = chosen && await evaluate(state, chosen.formats, "confirm", "holdout");
  return { chosen, confirmation };
}

/** Whether the budget of evaluations on the search split allows another. */
export function budgetLeft(state: SearchState): boolean {
  return state.trials.length < state.maxEvaluations;
}

/** The configuration giving each unit's layers the unit's format in `formats`. */
export function configOf(problem: SearchProblem, formats: readonly string[]): LayerConfig {
  return compactLayerConfig(
    problem.units.flatMap((u) => u.layers),
    problem.units.flatMap((u, i) => u.layers.map(() => formats[i])),
  );
}

/** The trial of the path's configuration `i`, recorded in `evaluated`. */
async function atPath(state: SearchState, i: number, reason: TrialReason): Promise<Trial> {
  const trial = await evaluate(state, state.path[i], reason);
  state.evaluated.set(i, trial);
  return trial;
}

/**
 * The trial of `formats` on `split`: from memory when known, else run and logged. Trials on the
 * search split join `trials` (once).
 */
export async function evaluate(
  state: SearchState,
  formats: string[],
  reason: TrialReason,
  split: SearchSplit = "search",
): Promise<Trial> {
  const trial = state.memory.trial(split, formats) ?? await runTrial(state, formats, reason, split);
  if (split === "search" && !state.trials.includes(trial)) state.trials.push(trial);
  return trial;
}

async function runTrial(
  state: SearchState,
  formats: string[],
  reason: TrialReason,
  split: SearchSplit,
): Promise<Trial> {
  const { problem, tolerancePp, minP } = state;
  const base = await reference(state, split);
  const config = configOf(problem, formats);
  const t = performance.now();
  const label = split === "search"
    ? `${reason} ${state.trials.length + 1}: ${formats.join(" ")}`
    : `held-out: ${formats.join(" ")}`;
  const predictions = await problem.classify(
    config,
    split,
    (done, total) => state.onProgress?.(label, done, total),
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
  await log(state, { type: "trial", trial });
  return trial;
}

/**
 * Starts the float64 run on `split` unless it is known or under way, so that it can run
 * alongside other work (the sensitivity, on another thread); {@linkcode reference} logs it when
 * first asked for, so the log keeps its order, and its progress is held back until then.
 */
export function startReference(state: SearchState, split: SearchSplit): void {
  if (state.running.has(split) || state.memory.reference(split)) return;
  const label = `f64 reference, ${split} split`;
  let held: [number, number][] | undefined = [];
  const report = (done: number, total: number) =>
    held ? held.push([done, total]) : state.onProgress?.(label, done, total);
  const t = performance.now();
  const result = state.problem.classify({ default: "f64" }, split, report)
    .then((predictions) => ({ predictions, seconds: (performance.now() - t) / 1000 }));
  // A failure is rethrown where the run is awaited; unawaited until then, it would end the
  // process.
  result.catch(() => {});
  const show = () => {
    const shown = held ?? [];
    held = undefined;
    for (const [done, total] of shown) report(done, total);
  };
  state.running.set(split, { result, show });
}

/**
 * The float64 run on `split` and its predictions: from memory when known, else run (or awaited,
 * when {@linkcode startReference} started it) and logged.
 */
export async function reference(
  state: SearchState,
  split: SearchSplit,
): Promise<{ run: ReferenceRun; predictions: number[] }> {
  const { memory, problem } = state;
  const known = memory.reference(split);
  if (known) return known;
  startReference(state, split);
  const running = state.running.get(split)!;
  running.show();
  const { predictions, seconds } = await running.result;
  state.running.delete(split);
  const labels = problem.labels(split);
  const correct = countCorrect(predictions, labels);
  const run: ReferenceRun = {
    split,
    accuracy: correct / labels.length,
    correct,
    total: labels.length,
    bytesPerImage: problem.bytesPerImage({ default: "f64" }),
    seconds,
  };
  await log(state, { type: "reference", run, predictions: [...predictions] });
  return memory.reference(split)!;
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

/** Bytes saved per unit of noise added: higher is a better step; a breaking step comes last. */
function harmScore(saved: number, added: number): number {
  if (!Number.isFinite(added)) return -Infinity;
  return saved / Math.max(added, Number.MIN_VALUE);
}

/** A format's width, for ordering: bits per value, a scaled format's block scales included. */
function bytesOf(format: string): number {
  return bitsPerValue(storageByName(format)) / 8;
}

function countCorrect(predictions: ArrayLike<number>, labels: ArrayLike<number>): number {
  let correct = 0;
  for (let i = 0; i < labels.length; i++) if (predictions[i] === labels[i]) correct++;
  return correct;
}
