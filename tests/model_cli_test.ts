/**
 * Every command on an ONNX model (`--model`), end to end, as subprocesses, on a slice of the
 * test set: DeepConvNet exported to ONNX must give what the native network gives, with the
 * model's own layer names, units and page.
 *
 * @module
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { f64, type SearchResult } from "../mod.ts";
import { readOnnxFile } from "../data/files.ts";
import { assertOneLineError, runCli, runEval } from "./_eval_cli.ts";

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
/** DeepConvNet with the book's weights, exported to ONNX in float64 by PyTorch. */
const BOOK = fixture("deepconvnet-book-f64.onnx");
const NODES = (await readOnnxFile(BOOK, { storage: f64 })).layers.map((l) => l.name);

/** The fields of a result that do not depend on the layers' bookkeeping or the clock. */
function outcome(stdout: string) {
  return JSON.parse(stdout).results.map((r: Record<string, unknown>) => ({
    format: r.format,
    mode: r.mode,
    correct: r.correct,
    flipsToRight: r.flipsToRight,
    flipsToWrong: r.flipsToWrong,
    mcnemarP: r.mcnemarP,
  }));
}

Deno.test("eval --model gives what eval gives with the same weights built in", async () => {
  const common = ["--limit", "200", "--formats", "f16,e4m3", "--workers", "2", "--json"];
  const [model, native] = await Promise.all([
    runEval(["--model", BOOK, ...common]),
    runEval(["--weights", "book", ...common]),
  ]);
  assert.equal(model.code, 0, model.stderr);
  assert.equal(native.code, 0, native.stderr);
  assert.match(model.stderr, /^deepconvnet-book-f64\.onnx on 200 MNIST test images/m);
  const json = JSON.parse(model.stdout);
  assert.deepEqual([json.model, json.weights], ["deepconvnet-book-f64.onnx", BOOK]);
  assert.deepEqual(outcome(model.stdout), outcome(native.stdout));
});

Deno.test("analyze --model reports every node of the model by its name", async () => {
  const out = await runCli("analyze", [
    "--model",
    BOOK,
    "--images",
    "8",
    "--formats",
    "f16",
    "--json",
  ]);
  assert.equal(out.code, 0, out.stderr);
  const [f16] = JSON.parse(out.stdout).results;
  assert.deepEqual(f16.layers.map((l: { layer: string }) => l.layer), NODES);
  // f16 keeps 11 significant bits: the logits stay far above 40 dB of SQNR, and exact nowhere.
  const logits = f16.layers.at(-2).propagated.sqnrDb;
  assert.ok(logits > 40 && Number.isFinite(logits), `f16 logits at ${logits} dB`);
});

Deno.test("search --model takes its units from the graph", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const out = await runCli("search", [
      ...["--model", BOOK, "--log", `${dir}/search.jsonl`, "--json", "--workers", "2"],
      ...["--limit", "100", "--search-images", "50", "--sensitivity-images", "4"],
      ...["--formats", "f32,bf16", "--max-evaluations", "3"],
    ]);
    assert.equal(out.code, 0, out.stderr);
    const result: SearchResult & { model: string } = JSON.parse(out.stdout);
    assert.equal(result.model, "deepconvnet-book-f64.onnx");
    // A unit is a node with parameters and the nodes without any after it.
    const convs = NODES.filter((name) => /Conv|Gemm/.test(name));
    assert.deepEqual(result.units.map((u) => u.name), convs);
    assert.deepEqual(result.units.flatMap((u) => u.layers), NODES);
    assert.deepEqual(result.units[1].layers, ["/convs.1/Conv", "/Relu_1", "/MaxPool"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("commands refuse a model file that is not ONNX, in one line", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/broken.onnx`;
    await Deno.writeFile(path, new Uint8Array([0x08, 0x07, 0x12, 0xff]));
    for (const command of ["eval", "analyze", "search"]) {
      assertOneLineError(await runCli(command, ["--model", path]), 1, /broken\.onnx/);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
