/**
 * `deno bench`: every layer of DeepConvNet (or of the model `HALFPREC_BENCH_MODEL` names, see
 * `_activations.ts`), the whole forward pass and one training step, at batch 100 on real
 * activations, in the formats of `BENCH_FORMATS`. Each benchmark's name carries
 * the bytes it moves (from `bytesMoved`), and each layer is a group with f32 as the baseline,
 * so `deno bench` prints every format's ratio to f32.
 *
 * @module
 */
import { bytesMoved } from "../mod.ts";
import { lossAndGradients } from "../layers/mod.ts";
import { BASELINE, BENCH_FORMATS, loadActivations } from "./_activations.ts";

const { net, inputs, labels } = await loadActivations();

/** Bytes as the benchmark names show them: "2.91 MB", "64.0 kB". */
export function formatBytes(bytes: number): string {
  return bytes >= 1e6 ? `${(bytes / 1e6).toFixed(2)} MB` : `${(bytes / 1e3).toFixed(1)} kB`;
}

for (const storage of BENCH_FORMATS) {
  const narrow = net.to(storage);
  const input = inputs[0].to(storage);
  const bytes = bytesMoved(narrow, input.shape, storage);
  narrow.layers.forEach((layer, i) => {
    const x = inputs[i].to(storage);
    Deno.bench({
      name: `${layer.name} ${storage.name} · ${formatBytes(bytes[i].read + bytes[i].written)}`,
      group: layer.name,
      baseline: storage.name === BASELINE,
      n: 5,
      warmup: 1,
      fn: () => void layer.forward(x),
    });
  });
  const total = bytes.reduce((sum, l) => sum + l.read + l.written, 0);
  Deno.bench({
    name: `forward ${storage.name} · ${formatBytes(total)}`,
    group: "forward",
    baseline: storage.name === BASELINE,
    n: 3,
    warmup: 1,
    fn: () => void narrow.forward(input),
  });
  // A training step needs the loss, which halfprec computes from a final softmax.
  if (net.layers.at(-1)?.kind !== "softmax") continue;
  Deno.bench({
    name: `train step ${storage.name}`,
    group: "train step",
    baseline: storage.name === BASELINE,
    n: 2,
    warmup: 1,
    fn: () => void lossAndGradients(narrow, input, labels),
  });
}
