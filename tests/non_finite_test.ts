/**
 * Weights holding NaN or infinities: refused when loaded, and when allowed, no metric passes a
 * NaN off as a number.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  comparePrecisions,
  deepConvNet,
  f16,
  type LabeledImages,
  serializeSafetensors,
  tensor,
} from "../mod.ts";
import { argmaxRows } from "../layers/mod.ts";
import { readSafetensorsFile } from "../data/files.ts";
import { assertDataError } from "./_assert_data_error.ts";

import { assertOneLineError, runCli } from "./_eval_cli.ts";
import { locateWeights } from "../cli/_locate.ts";

const WEIGHTS = locateWeights("halfprec");

/** The project's weights with `value` at elements 7 and 9 of `name`, saved in a temp folder. */
async function brokenWeights(name: string, value: number): Promise<string> {
  const { tensors } = await readSafetensorsFile(WEIGHTS);
  const t = tensors.get(name)!;
  const values = t.toFloat64();
  values[7] = values[9] = value;
  tensors.set(name, tensor(t.shape, values).to(t.storage));
  const path = join(await Deno.makeTempDir(), `${name}-${value}.safetensors`);
  await Deno.writeFile(path, serializeSafetensors(tensors));
  return path;
}

Deno.test("loadParams() refuses a NaN or an infinity, naming the tensor, count and index", () => {
  for (const value of [NaN, Infinity, -Infinity]) {
    const params = deepConvNet({ seed: 2 }).params();
    const w5 = params.get("W5")!.toFloat64();
    w5[3] = w5[11] = w5[12] = value;
    params.get("W5")!.set(w5);
    const net = deepConvNet();
    const before = net.params().get("W1")!.toFloat64();
    assert.throws(() => net.loadParams(params, "w.safetensors"), (e) =>
      assertDataError(e, {
        source: "w.safetensors",
        field: 'tensor "W5"',
        expected: "finite values",
        found: "3 non-finite values (NaN or infinity), the first at index 3",
      }));
    assert.deepEqual(net.params().get("W1")!.toFloat64(), before, "changed after refusing");
    net.loadParams(params, "w.safetensors", { allowNonFinite: true });
    assert.ok(Object.is(net.params().get("W5")!.toFloat64()[3], value));
  }
});

Deno.test("argmaxRows() gives no class (-1) to a row holding a NaN, wherever it is", () => {
  const rows = tensor([4, 3], [NaN, 1, 2, 3, NaN, 1, NaN, NaN, NaN, -Infinity, Infinity, 0]);
  assert.deepEqual([...argmaxRows(rows)], [-1, -1, -1, 1]);
});

Deno.test("comparePrecisions() counts images without a class and never calls them right", async () => {
  const net = deepConvNet({ seed: 1 });
  const params = net.params();
  params.get("W8")!.set(params.get("W8")!.toFloat64().fill(NaN));
  // Labels of 0: before, a NaN row was class 0 and every image looked right.
  const set: LabeledImages = {
    images: new Uint8Array(3 * 784).fill(50),
    shape: [3, 1, 28, 28],
    labels: new Uint8Array(3),
    classes: 10,
  };
  const results = await comparePrecisions(net, set, { formats: [f16], modes: ["store"] });
  for (const r of results) {
    assert.equal(r.unclassified, 3, r.format);
    assert.equal(r.correct, 0, r.format);
    assert.equal(r.accuracy, 0, r.format);
  }
});

Deno.test("eval refuses weights holding a NaN, in one line naming the file and the tensor", async () => {
  const path = await brokenWeights("W3", NaN);
  const out = await runCli("eval", ["--weights", path, "--limit", "5", "--formats", "f16"]);
  assertOneLineError(
    out,
    1,
    new RegExp(
      `^eval: Cannot read ${path}: tensor "W3": expected finite values, found 2 non-finite ` +
        `values \\(NaN or infinity\\), the first at index 7$`,
    ),
  );
});

Deno.test(
  "analyze --allow-non-finite never shows an SQNR of a NaN error as exact",
  async () => {
    const path = await brokenWeights("W7", Infinity);
    const out = await runCli("analyze", [
      "--weights",
      path,
      "--allow-non-finite",
      "--images",
      "3",
      "--formats",
      "f16",
      "--json",
    ]);
    assert.equal(out.code, 0, out.stderr);
    const logits = JSON.parse(out.stdout).results[0].layers.find((l: { layer: string }) =>
      l.layer === "affine2"
    );
    assert.equal(logits.layer, "affine2");
    assert.equal(logits.propagated.sqnrDb, null, "NaN in JSON is null");
    const row = out.stderr.split("\n").find((line) => line.startsWith("affine2 "))!;
    assert.doesNotMatch(row, /exact/);
    assert.match(row, /NaN/);
    assert.match(out.stderr, /accuracy 0\.00 % \(3 no class\)/);
  },
);
