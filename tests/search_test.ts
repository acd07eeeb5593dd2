/**
 * The format search on a synthetic problem whose every configuration can be enumerated: it
 * finds the cheapest configuration within tolerance with fewer evaluations than units x
 * formats, its frontier is the true one's, and a resumed search ends where an uninterrupted one
 * does.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  paretoFrontier,
  parseSearchLog,
  searchFormats,
  type SearchLogEntry,
  type SearchProblem,
  type SearchResult,
} from "../analysis/search.ts";
import {
  allConfigurations,
  bytesOf,
  FORMATS,
  IMAGES,
  LABELS,
  syntheticProblem,
  unitFormats,
  UNITS,
} from "./_synthetic_search.ts";

/** `result` without what differs between runs: timings and how much came from a log. */
function withoutTimes(result: SearchResult): unknown {
  return JSON.parse(JSON.stringify(
    result,
    (key, value) => (/^(seconds|sensitivitySeconds|resumed)$/.test(key) ? undefined : value),
  ));
}

const OPTIONS = { tolerancePp: 0.3, minP: 0.05, maxEvaluations: 10 };

Deno.test("searchFormats() finds the cheapest configuration within tolerance, as enumeration does", async () => {
  const problem = syntheticProblem();
  const result = await searchFormats(problem, OPTIONS);
  // The truth: enumerate all 3^4 configurations (3 wrong images of 1000 is 0.3 pp).
  const all = allConfigurations();
  const within = all.filter((c) => c.accuracy >= 1 - 0.003);
  const cheapest = Math.min(...within.map((c) => c.bytesPerImage));
  assert.equal(result.chosen?.bytesPerImage, cheapest);
  assert.ok(result.chosen!.withinTolerance);
  // Fewer full evaluations than units x formats; a held-out confirmation of the choice.
  assert.ok(
    result.evaluations.search < UNITS.length * FORMATS.length,
    `${result.evaluations.search}`,
  );
  assert.equal(result.trials.length, result.evaluations.search);
  assert.equal(result.confirmation?.split, "holdout");
  assert.deepEqual(result.confirmation?.formats, result.chosen?.formats);
  assert.equal(problem.runs.filter((r) => r.startsWith("holdout")).length, 2); // f64 and chosen
  // Every frontier point is on the true frontier, and the trials' frontier is paretoFrontier's.
  const truth = paretoFrontier(all);
  for (const t of result.frontier) {
    assert.ok(
      truth.some((c) => c.bytesPerImage === t.bytesPerImage && c.accuracy === t.accuracy),
      `${t.formats} (${t.bytesPerImage} bytes, ${t.accuracy}) is beaten`,
    );
  }
  assert.deepEqual(result.frontier, paretoFrontier(result.trials));
  // Each trial's numbers are consistent with its configuration.
  for (const t of result.trials) {
    assert.equal(t.bytesPerImage, bytesOf(t.formats));
    assert.equal(t.flipsToWrong, IMAGES - t.correct);
    assert.equal(t.deltaPp, 100 * (t.correct - IMAGES) / IMAGES);
    assert.deepEqual(unitFormats(t.config), t.formats);
  }
  // Nothing in the result is unserialisable.
  assert.deepEqual(JSON.parse(JSON.stringify(result)), result);
});

Deno.test("searchFormats() chooses nothing when even the widest configuration is out of tolerance", async () => {
  const problem: SearchProblem = {
    ...syntheticProblem(),
    classify: (_config, split) =>
      Promise.resolve(
        split === "search" && _config.default !== "f64" ? LABELS.map((l) => l + 1) : LABELS,
      ),
  };
  const result = await searchFormats(problem, OPTIONS);
  assert.equal(result.chosen, null);
  assert.equal(result.confirmation, null);
  assert.ok(result.trials.every((t) => !t.withinTolerance));
  assert.equal(result.references.length, 1);
});

Deno.test("a resumed search gives the result of an uninterrupted one, reusing its log", async () => {
  const log: SearchLogEntry[] = [];
  const whole = await searchFormats(syntheticProblem(), {
    ...OPTIONS,
    onLog: (e) => void log.push(e),
  });
  assert.deepEqual(log.map((e) => e.type).slice(0, 3), ["start", "sensitivity", "reference"]);
  assert.equal(log.filter((e) => e.type === "trial").length, whole.trials.length + 1);
  // The log survives JSON Lines, even with its last line cut short.
  const text = log.map((e) => JSON.stringify(e)).join("\n") + "\n";
  assert.deepEqual(parseSearchLog(text.slice(0, -20), "log.jsonl"), log.slice(0, -1));
  for (const cut of [1, 2, 4, 6, log.length - 1, log.length]) {
    const problem = syntheticProblem();
    const resumed = await searchFormats(problem, { ...OPTIONS, previous: log.slice(0, cut) });
    assert.deepEqual(withoutTimes(resumed), withoutTimes(whole), `resumed after ${cut} entries`);
    // Only what the log lacked was classified again.
    const logged = log.slice(0, cut).filter((e) => e.type === "reference" || e.type === "trial");
    assert.equal(problem.runs.length, whole.trials.length + 1 + 2 - logged.length);
    assert.equal(resumed.resumed, logged.length);
  }
});

Deno.test("a search log written with other settings is refused, and a corrupt one named", async () => {
  const log: SearchLogEntry[] = [];
  await searchFormats(syntheticProblem(), { ...OPTIONS, onLog: (e) => void log.push(e) });
  await assert.rejects(
    searchFormats(syntheticProblem(), { ...OPTIONS, tolerancePp: 0.2, previous: log }),
    /^RangeError: Cannot resume: the log was written with tolerancePp 0.3, this search has 0.2;/,
  );
  assert.throws(
    () => parseSearchLog('{"type":"start","settings":{}}\n{oops\n{"type":"trial"}\n', "s.jsonl"),
    /^SyntaxError: s.jsonl: line 2: /,
  );
  assert.throws(
    () => parseSearchLog('{"type":"begin"}\n', "s.jsonl"),
    /^SyntaxError: s.jsonl: line 1: field "type" is "begin", expected start, sensitivity, reference or trial$/,
  );
  // Every field of a line is checked, so that a damaged log never shows as "NaN %".
  const lines = log.map((e) => JSON.stringify(e));
  const trialLine = lines.findIndex((l) => l.startsWith('{"type":"trial"'));
  const damaged: [string, RegExp][] = [
    ['{"type":"trial"}', /field "trial.split" is missing, expected search or holdout$/],
    [
      lines[trialLine].replace(/"accuracy":[^,]+/, '"accuracy":"x"'),
      /field "trial.accuracy" is "x", expected a number from 0 to 1$/,
    ],
    [
      lines[trialLine].replace(/"accuracy":[^,]+/, '"accuracy":0.5'),
      /field "trial.accuracy" is 0.5, expected trial.correct \/ trial.total = \d+ \/ \d+$/,
    ],
    [
      lines[trialLine].replace(/"formats":\[/, '"formats":[7,'),
      /field "trial.formats" is \[7,.*expected an array of format names$/,
    ],
    ['{"type":"sensitivity","noise":[[1]],"seconds":-1}', /field "seconds" is -1, expected a/],
  ];
  for (const [line, pattern] of damaged) {
    const text = [lines[0], line, lines[0]].join("\n");
    assert.throws(() => parseSearchLog(text, "s.jsonl"), (error: Error) => {
      assert.ok(error instanceof SyntaxError);
      assert.match(error.message, /^s.jsonl: line 2: /);
      assert.match(error.message, pattern);
      return true;
    });
  }
  // Each line as logged passes.
  assert.deepEqual(parseSearchLog(lines.join("\n"), "s.jsonl"), log);
});

Deno.test("paretoFrontier() keeps the trials nothing beats in both bytes and accuracy", () => {
  const t = (bytesPerImage: number, accuracy: number) => ({ bytesPerImage, accuracy });
  const trials = [t(4, 0.99), t(4, 0.98), t(2, 0.98), t(3, 0.98), t(1, 0.9), t(1, 0.9)];
  assert.deepEqual(paretoFrontier(trials), [t(1, 0.9), t(2, 0.98), t(4, 0.99)]);
  assert.deepEqual(paretoFrontier([]), []);
});
