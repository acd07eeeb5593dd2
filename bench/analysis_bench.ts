/**
 * `deno bench`: the loops `deno task analyze` runs over every element of every layer's output in
 * every format (the error metrics against float64 and the range counts, predicted and observed),
 * on the float64 output of the first layer of DeepConvNet (or of the model `HALFPREC_BENCH_MODEL`
 * names, see `_activations.ts`) for 20 images, the batch analyze compares, against that output
 * rounded to each format once. Analyze calls each loop thousands of times: the warm-up lets V8
 * optimise it as it does there (the first calls run several times slower).
 *
 * @module
 */
import { errorMetrics, observeRange, predictRange } from "../analysis/mod.ts";
import { storageByName } from "../mod.ts";
import { loadActivations } from "./_activations.ts";

const { net, inputs } = await loadActivations();
const first = net.layers[0];
const layer = first.name;
const output = first.forward(inputs[0]);
const reference = output.toFloat64().subarray(0, (output.size / output.shape[0]) * 20);
const size = `${(reference.length / 1e6).toFixed(2)}M values`;

for (const name of ["f32", "f16", "bf16", "e4m3"]) {
  const format = storageByName(name);
  const rounded = reference.map(format.round);
  const loops: [string, () => void][] = [
    ["errorMetrics", () => void errorMetrics(reference, rounded, format)],
    ["predictRange", () => void predictRange(reference, format)],
    ["observeRange", () => void observeRange(reference, rounded, format)],
  ];
  for (const [loop, fn] of loops) {
    Deno.bench({
      name: `${loop} ${layer} ${name} · ${size}`,
      group: `${loop} ${layer}`,
      baseline: name === "f32",
      n: 100,
      warmup: 50,
      fn,
    });
  }
}
