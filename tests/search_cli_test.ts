/**
 * `deno task search` and `deno task eval --config` end to end, as subprocesses: a small search
 * on the real data, its resumption from the log, the chosen configuration evaluated by eval,
 * and bad input giving one-line errors.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { SearchResult } from "../mod.ts";
import { assertOneLineError, runCli, runEval } from "./_eval_cli.ts";

/** Runs the search command with `args`. */
function runSearch(args: readonly string[]) {
  return runCli("search", args);
}

Deno.test("search rejects bad flags with a one-line usage error", async () => {
  const cases: [string[], RegExp][] = [
    [["--formats", "f32,f8"], /^search: --formats: Unknown storage format "f8"/],
    [["--tolerance-pp=-1"], /^search: --tolerance-pp is "-1", expected a number of at least 0$/],
    [["--min-p", "2"], /^search: --min-p is "2", expected a number from 0 to 1$/],
    [["--max-evaluations", "0"], /^search: --max-evaluations is "0", expected a positive whole/],
    [["--frobnicate"], /^search: Unknown option '--frobnicate'/],
  ];
  for (const [args, pattern] of cases) {
    assertOneLineError(await runSearch(args), 2, pattern);
  }
});

Deno.test("search on 300 images: frontier, held-out confirmation, resume, and eval --config", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const log = join(dir, "search.jsonl");
    const chosenFile = join(dir, "chosen.json");
    const args = [
      "--limit",
      "300",
      "--search-images",
      "200",
      "--sensitivity-images",
      "10",
      "--formats",
      "f32,bf16,e2m1",
      "--max-evaluations",
      "5",
      "--log",
      log,
      "--json",
    ];
    const out = await runSearch([...args, "--out", chosenFile]);
    assert.equal(out.code, 0, out.stderr);
    const result: SearchResult & { images: number } = JSON.parse(out.stdout);
    assert.equal(result.images, 300);
    assert.deepEqual(result.units.map((u) => u.name).slice(0, 2), ["conv1", "conv2"]);
    assert.ok(result.trials.length >= 2 && result.trials.length <= 5);
    assert.deepEqual(result.trials.slice(0, 2).map((t) => t.reason), ["widest", "narrowest"]);
    assert.ok(result.trials[0].formats.every((f) => f === "f32"));
    // e2m1 has one significand bit: every layer in it cannot be within 0.1 pp.
    assert.ok(result.trials[1].formats.every((f) => f === "e2m1"));
    assert.equal(result.trials[1].withinTolerance, false);
    assert.ok(result.frontier.length >= 1);
    assert.ok(result.chosen, out.stderr);
    assert.ok(result.chosen.withinTolerance);
    assert.ok(result.trials.some((t) => t.bytesPerImage === result.chosen!.bytesPerImage));
    assert.equal(result.confirmation?.split, "holdout");
    assert.deepEqual(result.references.map((r) => [r.split, r.total]), [
      ["search", 200],
      ["holdout", 100],
    ]);
    assert.match(out.stderr, /Full evaluations: \d+ on the search split, 1 held-out/);
    // No format searched is scaled: activation scales play no part, so the text does not name them.
    assert.doesNotMatch(out.stderr, /Activation scales/);
    const lines = (await Deno.readTextFile(log)).trim().split("\n");
    assert.equal(lines.length, 1 + 1 + 2 + result.trials.length + 1);

    // Resuming a finished search reuses everything and gives the same answer.
    const again = await runSearch([...args, "--resume"]);
    assert.equal(again.code, 0, again.stderr);
    const resumed: SearchResult = JSON.parse(again.stdout);
    assert.equal(resumed.resumed, 2 + result.trials.length + 1);
    assert.deepEqual(resumed.chosen, result.chosen);
    assert.deepEqual(resumed.frontier, result.frontier);

    // The chosen configuration file is what eval --config takes, with the same accuracy.
    const evaluated = await runEval(["--config", chosenFile, "--limit", "300", "--json"]);
    assert.equal(evaluated.code, 0, evaluated.stderr);
    const report = JSON.parse(evaluated.stdout);
    assert.deepEqual(report.results.map((r: { format: string }) => r.format), ["f64", "mixed"]);
    assert.deepEqual(report.config, { file: chosenFile, layers: result.chosen.config });
    assert.equal(report.results[1].bytesPerImage, result.chosen.bytesPerImage);
    assert.equal(
      report.results[1].correct,
      result.chosen.correct + result.confirmation!.correct,
    );

    // A search interrupted in its third evaluation, the last line half written, resumes.
    await Deno.writeTextFile(log, lines.slice(0, 5).join("\n") + "\n" + lines[5].slice(0, 30));
    const interrupted = await runSearch([...args, "--resume"]);
    assert.equal(interrupted.code, 0, interrupted.stderr);
    const continued: SearchResult = JSON.parse(interrupted.stdout);
    assert.equal(continued.resumed, 3); // the reference and two trials
    assert.deepEqual(continued.chosen?.formats, result.chosen.formats);
    assert.deepEqual(continued.trials.map((t) => t.formats), result.trials.map((t) => t.formats));
    assert.equal((await Deno.readTextFile(log)).trim().split("\n").length, lines.length);

    // A log written with other settings is refused.
    const other = await runSearch([...args, "--resume", "--tolerance-pp", "0.5"]);
    assertOneLineError(other, 1, /^search: Cannot resume: the log was written with tolerancePp/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("eval --config and search --resume name the bad file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const write = async (name: string, text: string) => {
      await Deno.writeTextFile(join(dir, name), text);
      return join(dir, name);
    };
    const cases: [string, RegExp][] = [
      [
        await write("layer.json", '{ "default": "f16", "conv9": "f32" }'),
        /^eval: \S*layer\.json: field "conv9": unknown layer; expected one of default, conv1, relu1, /,
      ],
      [
        await write("format.jsonc", '{\n  // narrow\n  "conv1": "fp8"\n}'),
        /^eval: \S*format\.jsonc: field "conv1": Unknown storage format "fp8": expected one of f64, /,
      ],
      [
        await write("range.json", '{ "default": "f16", "conv1": "e4m3-b999" }'),
        /^eval: \S*range\.json: field "conv1": e4m3-b999 has normal numbers from 3\.73e-301 to 1\.07e-296, expected a range holding 1 /,
      ],
      [await write("syntax.json", '{ "conv1": }'), /^eval: \S*syntax\.json: line 1, column 12: /],
      [join(dir, "missing.json"), /^eval: --config: cannot read \S*missing\.json: /],
    ];
    for (const [file, pattern] of cases) {
      const out = await runEval(["--config", file, "--limit", "10"]);
      assertOneLineError(out, file.endsWith("missing.json") ? 2 : 1, pattern);
    }
    const noLog = await runSearch(["--resume", "--log", join(dir, "none.jsonl")]);
    assertOneLineError(noLog, 2, /^search: --resume: there is no log \S*none\.jsonl to resume/);
    const bad = await write("bad.jsonl", '{"type":"start","settings":{}}\nnot json\n{}\n');
    const corrupt = await runSearch(["--resume", "--log", bad]);
    assertOneLineError(corrupt, 1, /^search: \S*bad\.jsonl: line 2: /);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
