/**
 * `deno task eval --seeds`: stochastic rounding formats run over several seeds and reported as
 * mean ± spread, as a subprocess.
 *
 * @module
 */
import assert from "node:assert/strict";
import { runEval } from "./_eval_cli.ts";
import { MNIST } from "./_data.ts";

Deno.test("eval --seeds runs every seed and reports the spread", async () => {
  const args = ["--data", MNIST, "--limit", "30", "--mode", "seed", "--json"];
  const out = await runEval([...args, "--formats", "e4m3-sr, f16", "--seeds", "3"]);
  assert.equal(out.code, 0, out.stderr);
  const report = JSON.parse(out.stdout);
  const runs = report.results.map((r: { format: string }) => r.format);
  assert.deepEqual(runs, ["f64", "e4m3-sr1", "e4m3-sr2", "e4m3-sr3", "f16"]);
  assert.equal(report.spreads.length, 1);
  const [spread] = report.spreads;
  assert.deepEqual([spread.format, spread.mode, spread.seeds], ["e4m3-sr", "seed", [1, 2, 3]]);
  const accuracies = report.results.slice(1, 4).map((r: { accuracy: number }) => r.accuracy);
  const mean = accuracies.reduce((a: number, b: number) => a + b) / 3;
  assert.ok(Math.abs(spread.accuracy.mean - mean) < 1e-15);
  assert.equal(spread.accuracy.min, Math.min(...accuracies));
  // The table shows one row for the three seeds, with mean ± deviation.
  assert.match(out.stderr, /^e4m3-sr1\.\.3 +seed +\d+\.\d{3} ± \d+\.\d{3} % \(/m);
  assert.doesNotMatch(out.stderr, /^e4m3-sr2 +seed +\d/m);

  const single = JSON.parse((await runEval([...args, "--formats", "e4m3-sr5"])).stdout);
  assert.deepEqual(single.results.map((r: { format: string }) => r.format), ["f64", "e4m3-sr5"]);
  assert.equal(single.spreads, undefined, "without --seeds the report is unchanged");
});

Deno.test("eval rejects a bad --seeds with a one-line usage error", async () => {
  const out = await runEval(["--seeds", "0"]);
  assert.equal(out.code, 2);
  assert.match(out.stderr, /^eval: --seeds is "0", expected a positive whole number\n/);
});
