/** What quantization does to the operands of each scaled layer, per format and scale rule. */
import assert from "node:assert/strict";
import { Sequential, storageByName, tensor } from "../mod.ts";
import {
  type OperandLayout,
  quantizeOperand,
  type ScaledCounts,
  scaledCounts,
  scaledStorage,
} from "../layers/storage/mod.ts";
import { Affine, Relu } from "../layers/mod.ts";
import { scaledLayerCounts } from "../analysis/mod.ts";
import { runCli } from "./_eval_cli.ts";

function randomValues(n: number, seed: number, scale: number): number[] {
  let s = seed;
  return Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return (s / 2 ** 31 - 0.5) * scale;
  });
}

/** The counts of quantizing `values` laid out as `layout` in format `name`, by hand. */
function countsOf(
  name: string,
  values: readonly number[],
  layout: OperandLayout,
  role: "weights" | "activations",
): ScaledCounts {
  const counts = scaledCounts();
  quantizeOperand(
    scaledStorage(name)!.scaled,
    Float32Array.from(values),
    layout,
    role,
    undefined,
    counts,
  );
  return counts;
}

Deno.test("scaledLayerCounts: each scaled layer's operands, as quantizing them by hand counts", () => {
  const first = new Affine({ inputs: 40, outputs: 3, storage: storageByName("f32") });
  const second = new Affine({ inputs: 3, outputs: 2, storage: storageByName("mxfp4") });
  const w1 = randomValues(120, 1, 2);
  const w2 = randomValues(6, 2, 1e-3).map((v, i) => i === 0 ? 1 : v); // one block of tiny values
  first.params.W.set(w1);
  second.params.W.set(w2);
  const net = new Sequential([first, new Relu({ storage: storageByName("f32") }), second]);
  const x = tensor([2, 40], randomValues(80, 3, 8));
  const [counts, ...rest] = scaledLayerCounts(net, x);
  assert.equal(rest.length, 0, "the f32 layer has no scaled operands");
  assert.equal(counts.layer, "affine2");
  assert.equal(counts.format, "mxfp4");
  // The input of affine2 is relu1's output in the run.
  const hidden = [...new Relu().forward(first.forward(x)).toFloat64()];
  const inputLayout = { outer: 2, length: 3, inner: 1, channels: "outer" } as const;
  const weightLayout = { outer: 1, length: 3, inner: 2, channels: "inner" } as const;
  assert.deepEqual(counts.input, countsOf("mxfp4", hidden, inputLayout, "activations"));
  assert.deepEqual(counts.weights, countsOf("mxfp4", w2, weightLayout, "weights"));
  assert.ok(counts.weights.flushed > 0, "tiny weights beside a 1 flush");
  // Every rule on the same operands; the format's own is its counts.
  assert.deepEqual(Object.keys(counts.rules!), ["floor", "ceil", "even", "rceil"]);
  assert.deepEqual(counts.rules!.floor, { input: counts.input, weights: counts.weights });
  for (const rule of ["ceil", "even", "rceil"]) {
    const name = `mxfp4-${rule}`;
    assert.deepEqual(counts.rules![rule as "ceil"], {
      input: countsOf(name, hidden, inputLayout, "activations"),
      weights: countsOf(name, w2, weightLayout, "weights"),
    });
  }
  assert.equal(counts.rules!.ceil.input.clamped + counts.rules!.rceil.input.clamped, 0);
  // Tensor-scaled formats have no rules.
  const int8 = scaledLayerCounts(net.to(storageByName("int8")), x);
  assert.deepEqual(int8.map((c) => [c.layer, c.rules]), [["affine1", undefined], [
    "affine2",
    undefined,
  ]]);
  assert.equal(int8[0].input.values, 80);
});

Deno.test("analyze --json: per layer clamped, flushed and NaN counts, MX ones per scale rule", async () => {
  const out = await runCli("analyze", [
    "--formats",
    "mxfp4-even,int4,f16",
    "--images",
    "5",
    "--json",
  ]);
  assert.equal(out.code, 0, out.stderr);
  const [mx, int4, f16] = JSON.parse(out.stdout).results;
  assert.equal(mx.scaled.length, 8);
  assert.deepEqual(mx.scaled[0].rules.even, {
    input: mx.scaled[0].input,
    weights: mx.scaled[0].weights,
  });
  assert.equal(mx.scaled[0].input.values, 5 * 784);
  assert.equal(int4.scaled[7].layer, "affine2");
  assert.equal(int4.scaled[7].rules, undefined);
  assert.equal(f16.scaled, undefined);
  assert.match(out.stderr, /clamped floor\/ceil\/even\/rceil/);
  assert.match(out.stderr, /Activation scales of scaled formats: dynamic \(per batch of 5\)\./);
});
