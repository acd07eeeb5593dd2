/**
 * The first non-finite value in the commands: analyze's JSON and text, eval's
 * `--first-non-finite`, both agreeing with the library on DeepConvNet in e3m4 (which overflows).
 *
 * @module
 */
import assert from "node:assert/strict";
import { deepConvNet, storageByName, withPrecision } from "../mod.ts";
import { firstNonFiniteOver } from "../analysis/mod.ts";
import { readMnistDir, readSafetensorsFile } from "../data/files.ts";
import { runCli, runEval } from "./_eval_cli.ts";
import { MNIST, WEIGHTS } from "./_data.ts";

const IMAGES = 12;

Deno.test("analyze and eval --first-non-finite name the layer and image the library finds", async () => {
  const common = ["--data", MNIST, "--weights", WEIGHTS, "--formats", "e3m4,f16", "--json"];
  const [analyzed, evaluated] = await Promise.all([
    runCli("analyze", [...common, "--images", String(IMAGES)]),
    runEval([...common, "--limit", String(IMAGES), "--mode", "store", "--first-non-finite"]),
  ]);
  assert.equal(analyzed.code, 0, analyzed.stderr);
  assert.equal(evaluated.code, 0, evaluated.stderr);
  const net = deepConvNet();
  net.loadParams((await readSafetensorsFile(WEIGHTS)).tensors, WEIGHTS);
  const e3m4 = storageByName("e3m4");
  const expected = await firstNonFiniteOver(
    withPrecision(net, e3m4, "store"),
    await readMnistDir(MNIST, "test"),
    { format: e3m4, limit: IMAGES },
  );
  assert.ok(expected, "e3m4 overflows inside DeepConvNet on these images");
  const fromAnalyze = JSON.parse(analyzed.stdout).results;
  assert.deepEqual(fromAnalyze.map((r: { firstNonFinite: unknown }) => r.firstNonFinite), [
    expected,
    null,
  ]);
  assert.match(
    analyzed.stderr,
    new RegExp(
      `first non-finite output: ${expected.layer} \\(${expected.count} values; first on image ${expected.image}`,
    ),
  );
  const fromEval = JSON.parse(evaluated.stdout).results;
  assert.deepEqual(fromEval.map((r: { firstNonFinite: unknown }) => r.firstNonFinite), [
    null,
    expected,
    null,
  ]);
  assert.match(evaluated.stderr, new RegExp(`e3m4 store: ${expected.layer} \\(`));
});
