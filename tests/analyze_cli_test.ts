/**
 * `deno task analyze` end to end, as a subprocess: the JSON report and a bad flag.
 *
 * @module
 */
import assert from "node:assert/strict";
import { MNIST } from "./_data.ts";
import { type CommandOutput, runCli } from "./_eval_cli.ts";

function analyze(args: string[]): Promise<CommandOutput> {
  return runCli("analyze", args);
}

Deno.test("analyze --json reports every layer of every format", async () => {
  const out = await analyze(["--data", MNIST, "--images", "10", "--formats", "f16,e4m3", "--json"]);
  assert.equal(out.code, 0, out.stderr);
  const report = JSON.parse(out.stdout);
  assert.equal(report.images, 10);
  assert.deepEqual(report.results.map((r: { format: string }) => r.format), ["f16", "e4m3"]);
  for (const r of report.results) {
    assert.equal(r.layers.length, 21);
    assert.deepEqual(Object.keys(r.layers[0]), [
      "layer",
      "format",
      "path",
      "accumulation",
      "propagated",
      "isolated",
      "range",
      "predicted",
      "observed",
    ]);
    assert.equal(r.params.length, 16);
  }
  // Which code each layer ran and how it summed: the wasm kernels hold f16 and e4m3 alike.
  const conv1 = report.results.map((r: { layers: { path: string; accumulation: string }[] }) =>
    `${r.layers[0].path} ${r.layers[0].accumulation}`
  );
  assert.deepEqual(conv1, ["wasm float32", "wasm float32"]);
  // e4m3 keeps far fewer bits than f16: its error at the logits must be far larger.
  const logits = (i: number) => report.results[i].layers[19].propagated.sqnrDb;
  assert.ok(logits(0) > logits(1) + 20, `f16 ${logits(0)} dB, e4m3 ${logits(1)} dB`);
  // Neither format is scaled: activation scales play no part, so the text does not name them.
  assert.doesNotMatch(out.stderr, /Activation scales/);
});

Deno.test("analyze rejects an unknown format with a one-line error", async () => {
  const out = await analyze(["--formats", "f7"]);
  assert.equal(out.code, 2);
  assert.match(out.stderr, /^analyze: --formats: Unknown storage format "f7"/);
});
