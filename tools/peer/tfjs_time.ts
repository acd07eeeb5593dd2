/**
 * TensorFlow.js as a speed peer for `deno task perf`: DeepConvNet built from the weights on
 * stdin, timed on the images after them on one backend (`wasm`: XNNPACK, SIMD, one thread;
 * `cpu`: plain JavaScript), batches of 100 after one warm-up batch, best of `PASSES` passes.
 * Prints `{"seconds": s, "cpuSeconds": s, "classes": [...]}` on stdout. It has its own
 * `deno.json` and lockfile, as `ort_logits.ts` has, so that TF.js is fetched only by what runs
 * it, never by the commands of halfprec.
 *
 * Stdin: one line of JSON, `{"params": {"W1": [16, 1, 3, 3], …}, "images": N}`, then the
 * parameters in that order and the N 28 x 28 images, float32, little-endian.
 *
 * Usage: `deno run --quiet --config tools/peer/deno.json --allow-read --allow-env --allow-sys
 * tools/peer/tfjs_time.ts wasm|cpu PASSES < INPUT`
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-backend-wasm";
import process from "node:process";

const BATCH = 100;
const [backend, passes] = Deno.args;
const bytes = new Uint8Array(
  await new Response(Deno.stdin.readable).arrayBuffer(),
);
const newline = bytes.indexOf(10);
const header: { params: Record<string, number[]>; images: number } = JSON.parse(
  new TextDecoder().decode(bytes.subarray(0, newline)),
);
// The backend first: tensors made before it are held by the default one.
await tf.setBackend(backend);
await tf.ready();
// Copied so that the floats are aligned, whatever the header's length.
const values = new Float32Array(bytes.slice(newline + 1).buffer);
let offset = 0;
const params = new Map<string, tf.Tensor>();
for (const [name, shape] of Object.entries(header.params)) {
  const size = shape.reduce((a, b) => a * b, 1);
  params.set(name, tf.tensor(values.subarray(offset, offset + size), shape));
  offset += size;
}
const images = values.subarray(offset, offset + header.images * 784);

// NHWC activations, filters transposed to [kh, kw, in, out], the last pool transposed back to
// NCHW before flattening so that the affine weights apply as in halfprec.
const convs = [1, 2, 3, 4, 5, 6].map((i) => ({
  filter: tf.transpose(params.get(`W${i}`)!, [2, 3, 1, 0]) as tf.Tensor4D,
  bias: params.get(`b${i}`)!,
  pad: i === 4 ? 2 : 1,
}));
const [w7, b7, w8, b8] = ["W7", "b7", "W8", "b8"].map((name) =>
  params.get(name)! as tf.Tensor2D
);
const classify = (start: number, count: number): Int32Array =>
  tf.tidy(() => {
    const batch = images.subarray(start * 784, (start + count) * 784);
    let x = tf.tensor4d(batch, [count, 28, 28, 1]); // one channel: NCHW is NHWC
    convs.forEach(({ filter, bias, pad }, i) => {
      const padding: [
        [number, number],
        [number, number],
        [number, number],
        [number, number],
      ] = [
        [0, 0],
        [pad, pad],
        [pad, pad],
        [0, 0],
      ];
      x = tf.relu(tf.add(tf.conv2d(x, filter, 1, padding), bias));
      if (i % 2 === 1) x = tf.maxPool(x, 2, 2, "valid");
    });
    const flat = tf.reshape(tf.transpose(x, [0, 3, 1, 2]), [
      count,
      1024,
    ]) as tf.Tensor2D;
    const hidden = tf.mul(
      tf.relu(tf.add(tf.matMul(flat, w7), b7)),
      0.5,
    ) as tf.Tensor2D;
    const logits = tf.mul(tf.add(tf.matMul(hidden, w8), b8), 0.5);
    return tf.argMax(logits, 1);
  }).dataSync() as Int32Array;

classify(0, Math.min(BATCH, header.images));
let best = { seconds: Infinity, cpuSeconds: Infinity };
const classes: number[] = [];
for (let pass = 0; pass < Number(passes); pass++) {
  classes.length = 0;
  const cpuStarted = process.cpuUsage();
  const started = performance.now();
  for (let start = 0; start < header.images; start += BATCH) {
    classes.push(...classify(start, Math.min(BATCH, header.images - start)));
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStarted);
  if (seconds < best.seconds) {
    best = { seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
  }
}
console.log(JSON.stringify({ ...best, classes }));
