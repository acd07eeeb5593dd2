/**
 * onnxruntime as a speed peer for `deno task perf`: classifies float32 images (N x 1 x 28 x 28,
 * little-endian, read from stdin) with an ONNX model in batches of 100 on onnxruntime's CPU
 * provider with `threads` intra-op threads, after one warm-up batch, and prints
 * `{"seconds": s, "classes": [...]}` on stdout, the time of the whole pass. Run as
 * `ort_logits.ts` is (its own `deno.json` and lockfile; see there).
 *
 * Usage: `deno run --quiet --config tools/peer/deno.json --allow-read --allow-env --allow-ffi
 * --allow-sys tools/peer/ort_time.ts MODEL.onnx THREADS < IMAGES.bin`
 *
 * @module
 */
import * as ort from "onnxruntime-node";

const BATCH = 100;
const [model, threads] = Deno.args;
const bytes = new Uint8Array(
  await new Response(Deno.stdin.readable).arrayBuffer(),
);
const images = new Float32Array(bytes.buffer, 0, bytes.length / 4);
const count = images.length / 784;
const session = await ort.InferenceSession.create(model, {
  intraOpNumThreads: Number(threads),
  interOpNumThreads: 1,
});
const classify = async (start: number, n: number): Promise<number[]> => {
  const x = new ort.Tensor(
    "float32",
    images.subarray(start * 784, (start + n) * 784),
    [
      n,
      1,
      28,
      28,
    ],
  );
  const out =
    (await session.run({ [session.inputNames[0]]: x }))[session.outputNames[0]];
  const logits = out.data as Float32Array;
  const classes: number[] = [];
  for (let i = 0; i < n; i++) {
    const row = logits.subarray(i * 10, i * 10 + 10);
    classes.push(row.indexOf(Math.max(...row)));
  }
  return classes;
};
await classify(0, BATCH);
const started = performance.now();
const classes: number[] = [];
for (let start = 0; start < count; start += BATCH) {
  classes.push(...await classify(start, Math.min(BATCH, count - start)));
}
const seconds = (performance.now() - started) / 1000;
console.log(JSON.stringify({ seconds, classes }));
