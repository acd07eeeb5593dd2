/**
 * Gradient range counters in the commands, as subprocesses: `analyze --gradients` (table and
 * JSON) and the per-epoch line of `train`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { deepConvNet } from "../mod.ts";
import { MNIST, trainingSlice } from "./_data.ts";
import { runCli as run } from "./_eval_cli.ts";

const PARAMS = [...deepConvNet().params().values()].reduce((n, t) => n + t.size, 0);

Deno.test("analyze --gradients reports every gradient of a step", async () => {
  const out = await run("analyze", [
    ...["--data", MNIST, "--images", "4", "--formats", "f16", "--gradients", "--batch", "4"],
    ...["--loss-scale", "1024", "--json"],
  ]);
  assert.equal(out.code, 0, out.stderr);
  const report = JSON.parse(out.stdout);
  assert.equal(report.gradientBatch, 4);
  assert.equal(report.lossScale, 1024);
  const gradients = report.results[0].gradients;
  assert.equal(gradients.length, 16 + 21);
  assert.deepEqual(Object.keys(gradients[0]), [
    "tensor",
    "layer",
    "format",
    "range",
    "predicted",
    "observed",
    "isolated",
  ]);
  const params = gradients.filter((g: { tensor: string }) => g.tensor !== "dx");
  assert.equal(
    params.reduce((n: number, g: { predicted: { total: number } }) => n + g.predicted.total, 0),
    PARAMS,
  );
  for (const g of params) assert.deepEqual(g.isolated, g.predicted, `${g.layer} ${g.tensor}`);
  assert.match(
    out.stderr,
    new RegExp(`parameter gradients \\(${PARAMS} values, predicted / observed\\)`),
  );
});

Deno.test("analyze rejects a bad --loss-scale with a one-line error", async () => {
  const out = await run("analyze", ["--gradients", "--loss-scale", "zero"]);
  assert.equal(out.code, 2);
  assert.match(out.stderr, /^analyze: --loss-scale is "zero", expected a positive number\n/);
});

Deno.test("train logs the range of the scaled gradients every epoch", async () => {
  const dir = await Deno.makeTempDir();
  const data = await trainingSlice(100);
  try {
    const out = await run("train", [
      ...["--data", data, "--out", join(dir, "f16.safetensors"), "--format", "f16"],
      ...["--limit", "100", "--batch", "50", "--epochs", "1", "--test-limit", "50"],
      ...["--workers", "1"],
    ]);
    assert.equal(out.code, 0, out.stderr);
    const line = out.stderr.split("\n").find((l) => l.includes("gradients of one step"));
    assert.ok(line, out.stderr);
    // f16 trains with dynamic loss scaling: the counted gradients are the scaled ones.
    assert.match(line, /scaled by 32768: parameter gradients \((\d+) values/);
    assert.equal(Number(/\((\d+) values/.exec(line)![1]), PARAMS);
    assert.match(line, /overflow \d+ \/ \d+, underflow \d+ \/ \d+, subnormal \d+ \/ \d+;/);
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(data, { recursive: true });
  }
});
