/**
 * The kernel path as a command chooses it: `--kernels`, the same default in every command, and
 * the path and sums of every layer in the JSON.
 *
 * @module
 */
import assert from "node:assert/strict";
import { assertOneLineError, runCli, runEval } from "./_eval_cli.ts";
import { MNIST, WEIGHTS } from "./_data.ts";

/** The accuracy of f16 (store) on the first `images` test images in eval and in analyze. */
async function f16Accuracies(mnist: string, weights: string, images: number, extra: string[]) {
  const common = ["--data", mnist, "--weights", weights, "--formats", "f16", "--json", ...extra];
  const [evaluated, analyzed] = await Promise.all([
    runEval([...common, "--mode", "store", "--limit", String(images), "--workers", "1"]),
    runCli("analyze", [...common, "--images", String(images)]),
  ]);
  assert.equal(evaluated.code, 0, evaluated.stderr);
  assert.equal(analyzed.code, 0, analyzed.stderr);
  const evalReport = JSON.parse(evaluated.stdout);
  const analyzeReport = JSON.parse(analyzed.stdout);
  const f16 = evalReport.results.find((r: { format: string }) => r.format === "f16");
  return {
    eval: f16.accuracy,
    analyze: analyzeReport.results[0].accuracy,
    paths: [f16.layers[0].path, analyzeReport.results[0].layers[0].path],
  };
}

Deno.test(
  "eval and analyze compute a format the same way, by default and with --kernels ts",
  async () => {
    const fast = await f16Accuracies(MNIST, WEIGHTS, 200, []);
    const reference = await f16Accuracies(MNIST, WEIGHTS, 200, ["--kernels", "ts"]);
    assert.deepEqual(fast.paths, ["wasm", "wasm"]);
    assert.deepEqual(reference.paths, ["typescript", "typescript"]);
    assert.equal(fast.eval, fast.analyze);
    assert.equal(reference.eval, reference.analyze);
  },
);

Deno.test("--kernels takes wasm or ts, in every command", async () => {
  for (const command of ["eval", "analyze", "search"]) {
    const out = await runCli(command, ["--kernels", "gpu"], { HALFPREC_WEIGHTS: "unused" });
    assertOneLineError(out, 2, new RegExp(`^${command}: --kernels: Unknown kernel path "gpu"`));
  }
});
