/**
 * The phases of the format search one by one on the synthetic problem, and all of them
 * composed against the search as one function recorded step by step
 * (`fixtures/search_synthetic.json`: result, log, classifications and progress, for options
 * that take it through every phase).
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  bisectPath,
  budgetLeft,
  configOf,
  confirmChoice,
  evaluate,
  fillFrontier,
  measureSensitivity,
  planPath,
  reference,
  refine,
  type SearchState,
  startReference,
  startSearch,
} from "../analysis/_search_phases.ts";
import { searchFormats, type SearchLogEntry, type SearchOptions } from "../analysis/search.ts";
import {
  allConfigurations,
  bytesOf,
  FORMATS,
  IMAGES,
  syntheticProblem,
  UNITS,
} from "./_synthetic_search.ts";
import { recordSearch, type SearchRecord } from "./_search_record.ts";

const OPTIONS = { tolerancePp: 0.3, minP: 0.05, maxEvaluations: 10 };

/** A search through planPath, ready for its evaluations. */
async function planned(options: SearchOptions = OPTIONS) {
  const problem = syntheticProblem();
  const state = await startSearch(problem, options);
  await measureSensitivity(state);
  planPath(state);
  return { problem, state };
}

Deno.test("startSearch() logs its settings once, and refuses a log of other settings", async () => {
  const log: SearchLogEntry[] = [];
  const state = await startSearch(syntheticProblem(), {
    ...OPTIONS,
    onLog: (e) => void log.push(e),
  });
  // The settings a resumed search must share (the budget may grow).
  const settings = { images: 1000, units: "a,b,c,d", formats: "f32,bf16,e4m3", tolerancePp: 0.3 };
  assert.deepEqual(log, [{ type: "start", settings: { ...settings, minP: 0.05 } }]);
  assert.equal(state.trials.length, 0);
  const again: SearchLogEntry[] = [];
  await startSearch(syntheticProblem(), {
    ...OPTIONS,
    previous: log,
    onLog: (e) => void again.push(e),
  });
  assert.deepEqual(again, []);
  await assert.rejects(
    startSearch(syntheticProblem(), { ...OPTIONS, minP: 0.01, previous: log }),
    /^RangeError: Cannot resume: the log was written with minP 0.05, this search has 0.01;/,
  );
});

Deno.test("measureSensitivity() logs NaN as null and counts it as infinite; a logged one is reused", async () => {
  const problem = { ...syntheticProblem(), sensitivity: () => Promise.resolve([[0, NaN], [1, 2]]) };
  const log: SearchLogEntry[] = [];
  const state = await startSearch(problem, { onLog: (e) => void log.push(e) });
  await measureSensitivity(state);
  assert.deepEqual(state.noise, [[0, Infinity], [1, 2]]);
  assert.deepEqual((log[1] as { noise: unknown }).noise, [[0, null], [1, 2]]);
  const unused = { ...problem, sensitivity: () => Promise.reject(new Error("measured again")) };
  const resumed = await startSearch(unused, { previous: log });
  await measureSensitivity(resumed);
  assert.deepEqual(resumed.noise, state.noise);
});

Deno.test("startReference() runs float64 meanwhile; reference() logs it and shows its progress", async () => {
  const problem = syntheticProblem();
  const events: string[] = [];
  const state = await startSearch(problem, {
    onLog: (e) => void events.push(`log ${e.type}`),
    onProgress: (label) => void events.push(label),
  });
  startReference(state, "search");
  startReference(state, "search");
  assert.deepEqual(problem.runs, ["search f64,f64,f64,f64"]);
  await measureSensitivity(state);
  const { run } = await reference(state, "search");
  assert.equal(run.correct, IMAGES);
  assert.deepEqual(events, [
    "log start",
    "log sensitivity",
    "f64 reference, search split",
    "log reference",
  ]);
  assert.deepEqual(problem.runs, ["search f64,f64,f64,f64"]);
  // A run that fails before it is awaited fails where it is awaited.
  const failing = { ...problem, classify: () => Promise.reject(new Error("worker stopped")) };
  const broken = await startSearch(failing);
  startReference(broken, "holdout");
  await new Promise((resolve) => setTimeout(resolve, 0));
  await assert.rejects(reference(broken, "holdout"), /^Error: worker stopped$/);
});

Deno.test("planPath() narrows one unit one width a step, the most bytes per noise first", async () => {
  const { state } = await planned();
  const { path } = state;
  assert.deepEqual(path[0], UNITS.map(() => "f32"));
  assert.deepEqual(path.at(-1), UNITS.map(() => "e4m3"));
  // f32 > bf16 > e4m3: two steps per unit.
  assert.equal(path.length, 1 + 2 * UNITS.length);
  for (let i = 1; i < path.length; i++) {
    const changed = path[i].flatMap((f, u) => f === path[i - 1][u] ? [] : [u]);
    assert.equal(changed.length, 1, `step ${i}`);
    const u = changed[0];
    assert.equal(FORMATS.indexOf(path[i][u]), FORMATS.indexOf(path[i - 1][u]) + 1);
  }
  // The first step is the one of the best ratio of bytes saved to noise added.
  const score = (u: number) => {
    const next = path[0].with(u, "bf16");
    return (bytesOf(path[0]) - bytesOf(next)) / (state.noise[u][1] - state.noise[u][0]);
  };
  const best = UNITS.map((_, u) => u).reduce((a, b) => score(b) > score(a) ? b : a);
  assert.equal(path[1].findIndex((f, u) => f !== path[0][u]), best);
});

Deno.test("bisectPath() ends on a configuration within tolerance whose next on the path fails", async () => {
  const { state } = await planned();
  await bisectPath(state);
  assert.deepEqual(state.trials.slice(0, 2).map((t) => t.reason), ["widest", "narrowest"]);
  assert.ok(state.trials.slice(2).every((t) => t.reason === "bisect"));
  const best = state.best!;
  assert.ok(best.withinTolerance);
  const at = state.path.findIndex((p) => p.join() === best.formats.join());
  assert.equal(state.evaluated.get(at + 1)?.withinTolerance, false);
  // Bisection needs about log2 of the path's length.
  assert.ok(state.trials.length <= 2 + Math.ceil(Math.log2(state.path.length)));
});

Deno.test("bisectPath() finds no best when even the widest fails, and stops at the budget", async () => {
  const { problem } = await planned();
  const failing = {
    ...problem,
    classify: (config: Record<string, string>) =>
      problem.classify(config.default === "f64" ? config : { default: "e4m3" }, "search"),
  };
  const state = await startSearch(failing, OPTIONS);
  await measureSensitivity(state);
  planPath(state);
  await bisectPath(state);
  assert.equal(state.best, undefined);
  assert.deepEqual(state.trials.map((t) => t.reason), ["widest", "narrowest"]);
  const { state: small } = await planned({ ...OPTIONS, maxEvaluations: 1 });
  await bisectPath(small);
  assert.equal(small.trials.length, 1);
  assert.equal(budgetLeft(small), false);
});

Deno.test("refine() narrows single units from the best while they stay within tolerance", async () => {
  const { state } = await planned({ ...OPTIONS, maxEvaluations: 40 });
  // Start from the widest: every improvement must be a one-unit step that saves bytes.
  state.best = await evaluate(state, state.path[0], "widest");
  await refine(state);
  const refined = state.trials.filter((t) => t.reason === "refine");
  assert.ok(refined.length > 0);
  const best = state.best!;
  assert.ok(best.withinTolerance);
  assert.ok(best.bytesPerImage < state.trials[0].bytesPerImage);
  // At the end, no single-unit narrowing of the best is within tolerance (enumerated).
  const all = allConfigurations();
  for (const [u] of UNITS.entries()) {
    for (const f of FORMATS.filter((f) => bytesOf([f]) < bytesOf([best.formats[u]]))) {
      const step = all.find((c) => c.formats.join() === best.formats.with(u, f).join())!;
      assert.ok(step.accuracy < 1 - 0.003, `${step.formats} is within tolerance`);
    }
  }
});

Deno.test("fillFrontier() splits the widest gaps that lose accuracy until the budget ends", async () => {
  const { state } = await planned({ ...OPTIONS, maxEvaluations: 40 });
  await bisectPath(state);
  const before = state.trials.length;
  await fillFrontier(state);
  const added = state.trials.slice(before);
  assert.ok(added.length > 0 && added.every((t) => t.reason === "frontier"));
  // With budget left, no gap across which accuracy falls by more than the tolerance remains.
  assert.ok(budgetLeft(state));
  const done = [...state.evaluated.keys()].sort((a, b) => a - b);
  for (const [i, end] of done.slice(1).entries()) {
    const [a, b] = [state.evaluated.get(done[i])!, state.evaluated.get(end)!];
    assert.ok(end - done[i] === 1 || 100 * (a.accuracy - b.accuracy) <= 0.3);
  }
});

Deno.test("confirmChoice() takes the fewest bytes within tolerance, and runs it held out", async () => {
  const { problem, state } = await planned();
  await bisectPath(state);
  await fillFrontier(state);
  const { chosen, confirmation } = await confirmChoice(state);
  const passing = state.trials.filter((t) => t.withinTolerance);
  assert.equal(chosen!.bytesPerImage, Math.min(...passing.map((t) => t.bytesPerImage)));
  assert.equal(confirmation!.split, "holdout");
  assert.equal(confirmation!.reason, "confirm");
  assert.deepEqual(confirmation!.config, configOf(problem, chosen!.formats));
  assert.ok(!state.trials.includes(confirmation!));
  const none = await planned();
  assert.deepEqual(await confirmChoice(none.state as SearchState), {
    chosen: null,
    confirmation: null,
  });
});

Deno.test("the phases composed retrace the search as one function, step by step", async () => {
  const golden: (SearchRecord & { options: SearchOptions })[] = JSON.parse(
    await Deno.readTextFile(new URL("./fixtures/search_synthetic.json", import.meta.url)),
  );
  // The recorded options take the search through every phase and both ends.
  const reasons = new Set(
    golden.flatMap((g) =>
      (g.result as { trials: { reason: string }[] }).trials.map((t) => t.reason)
    ),
  );
  assert.deepEqual([...reasons].sort(), ["bisect", "frontier", "narrowest", "refine", "widest"]);
  for (const { options, ...expected } of golden) {
    assert.deepEqual(await recordSearch(searchFormats, options), expected, JSON.stringify(options));
  }
});
