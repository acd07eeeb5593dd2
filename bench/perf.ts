/**
 * `deno task perf`: the 10,000-image MNIST test pass of DeepConvNet (book weights, store
 * mode) in every storage format, on the wasm and the TypeScript kernel paths, on a
 * `WorkerPool` of 2 workers and on one thread; next to TensorFlow.js running the same weights
 * on its WASM backend (SIMD; single-threaded under Deno, which has no cross-origin isolation)
 * and its CPU backend (tools/peer/tfjs_time.ts), and onnxruntime-node (native, 2 threads) on the
 * same network exported to ONNX (tools/peer/ort_time.ts). The peers run in subprocesses with
 * their own configuration, so that their packages are fetched only by perf. Then the ratios
 * against the targets: every format on the wasm path within 1.3x of f32's time, and f32 at 80 %
 * or more of the floor that the runtime's own f32x4 multiply-add peak sets (measured in the same run by the kernels'
 * `fma_peak` loop on one thread: the test pass's floating-point operations over twice that
 * peak; the peak of each of 2 workers timing the loop at once is printed beside it), with the
 * older targets against TF.js.
 *
 * Every run classifies two warm-up batches first, at once, so that each worker of a pool gets
 * one (V8 compiles wasm with a baseline compiler first and optimises hot functions in the
 * background). Slow runs may be timed on the first
 * `--subset` images and scaled to 10,000; the table says which. The machine is shared: run it
 * twice and read the better numbers, and see the load average it prints.
 *
 * Then one training step (forward and backward of a batch of 100, one thread) in f32, f16,
 * bf16 and f64, on the TypeScript path, with the forward pass on the wasm kernels and the
 * backward in TypeScript, and on the wasm path for both; the runs alternate, so that a change of
 * load on the machine hits all alike.
 *
 * Then where f32's time goes on the wasm path: each layer of the pass alone on one thread, at
 * batches of 20 (short calls, so that some run while no other job holds the core), the fastest
 * of many calls, with its share of the sum and, for conv and affine, its multiply-adds' rate
 * against the FMA peak measured the same way (the fastest of short `fma_peak` calls between the
 * rounds).
 *
 * Then the commands the tool is for, each run once as a user runs it (`deno task`):
 * `deno task search` with its defaults (its log goes to the system's temporary folder; target:
 * under 15 s) and `deno task analyze --images 500` (under 10 s), timed by the wall clock (a
 * child's CPU time is not visible to perf).
 *
 * Options: `--subset N` images for the TypeScript single-thread runs and TF.js CPU (default
 * 1000; the others use all 10,000), `--repeat N` rounds of the fast runs, the fastest counting
 * (default 2: on the wasm path, each configuration's fastest timing of each slice of 1,000 images,
 * the configurations taking turns slice by slice; TF.js WASM's fastest pass), `--formats f32,f16`
 * to limit the formats (`mixed` names the mixed configuration, `MIXED`),
 * `--steps N` timed training steps per configuration, the fastest counting (default 3),
 * `--part test|layers|train|commands` to run only the test pass, the per-layer times of f32,
 * the training step or the commands,
 * `--paths wasm` (or
 * `typescript`) to time one kernel path, `--json` to print one JSON object (the machine,
 * `wasmPeakGflopsPerThread`, `wasmPeakGflopsPerWorker` (the peak of each of 2 workers timing it at
 * once), `testPassGflop`, `floorSeconds`, `f32FractionOfPeak` (wasm f32 on
 * 2 workers against the floor), `f32ThreadFractionOfPeak` (on one thread against half of it), `runs`,
 * `peers` each with its time over wasm f32's on 2 workers (`timesWasmF32`), `trainingSteps`,
 * `layers` (f32 on the wasm path, one thread: the peak timed alongside, `peakGflopsPerThread`,
 * and each step's `seconds` for 10,000 images, a step being a layer or a convolution and the ReLU inference runs with it, `share` and `fractionOfPeak`), `commands` (each command's arguments, seconds, bound and `met`),
 * `targets` each with `met`, and `targetsMet`) on stdout and everything else on stderr.
 *
 * @module
 */
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { cpuUsage } from "node:process";
import {
  applyLayerConfig,
  f32,
  imageBatch,
  type LabeledImages,
  type LayerConfig,
  type Sequential,
  type Storage,
  storageByName,
  type Tensor,
  WorkerPool,
} from "../mod.ts";
import { FP8_STORAGES, STORAGES } from "../layers/storage/mod.ts";
import { type KernelPath, kernelPath, reseedDropout, type Softmax } from "../layers/mod.ts";
import type { Classifier } from "../analysis/mod.ts";
import { kernelBuild, requireKernels } from "../layers/wasm/kernels.ts";
import {
  formatsFlag,
  formatTable,
  parseFlags,
  positiveInteger,
  runCommand,
  UsageError,
} from "../cli/_cli.ts";
import { loadDeepConvNet, loadTestSet } from "../cli/_locate.ts";
import { fmaPeak, fmaPeakOnWorkers, PEAK_ROUNDS } from "./_fma_peak.ts";

const IMAGES = 10000;
const BATCH = 100;
/**
 * Images of one timed slice of the test pass (a third of a second on 2 workers): a whole pass
 * takes seconds, and on a shared virtual machine a slow spell that long can hit one
 * configuration's pass and not the next one's, by more than the ratios measured; timed slice by
 * slice, the configurations taking turns at each, every configuration keeps its fastest timing
 * of each slice over the rounds, and its time is their sum.
 */
const SLICE = 1000;

const HELP = `Usage: deno task perf [options]

Times the 10,000-image test pass in every format on both kernel paths (2 workers and one thread)
next to TF.js WASM and TF.js CPU and against the measured f32x4 FMA peak of this runtime, then one
training step per format, and checks the targets.

Options:
  --subset N       images for the TypeScript single-thread runs and TF.js CPU (default 1000)
  --repeat N       rounds of the fast runs, the fastest counting (default 2): on the wasm path,
                   each format's fastest timing of each slice of 1,000 images
  --formats LIST   formats to time, "mixed" for a mixed configuration (default: all)
  --steps N        timed training steps per configuration, the fastest counting (default 3)
  --part PART      test, layers, train or commands: only the test pass, the per-layer times
                   of wasm f32, the training step, or the timed commands (deno task search,
                   deno task analyze --images 500)
  --paths LIST     kernel paths of the test pass: wasm, typescript or both (default both)
  --json           print one JSON object (runs, peers, the FMA peak, targets) and nothing else
                   on stdout; progress goes to stderr
  --help           show this text
`;

function flags() {
  return parseFlags(Deno.args, {
    subset: { type: "string", default: "1000" },
    repeat: { type: "string", default: "2" },
    formats: { type: "string" },
    steps: { type: "string", default: "3" },
    part: { type: "string" },
    paths: { type: "string", default: "wasm,typescript" },
    json: { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  });
}
let args: ReturnType<typeof flags>;

/**
 * One timed configuration, in seconds for 10,000 images (scaled when run on fewer): wall time,
 * and the process's CPU time (every thread), which other programs on a busy machine inflate far
 * less.
 */
interface Timing {
  seconds: number;
  cpuSeconds: number;
  images: number;
  correct: number;
}

/**
 * Times `classify` on the test images from `start` (`images` of them, whole batches) after two
 * warm-up batches at once (one for each worker of a pool): the slice's own seconds, not scaled.
 */
async function time(
  set: LabeledImages,
  start: number,
  images: number,
  classify: (start: number, count: number) => Promise<Int32Array>,
): Promise<Timing> {
  await Promise.all([classify(0, BATCH), classify(BATCH, BATCH)]);
  let correct = 0;
  const cpuStarted = cpuUsage();
  const started = performance.now();
  // Two batches in flight, as classifyImages does.
  let previous: Promise<void> = Promise.resolve();
  for (let first = start; first < start + images; first += BATCH) {
    const batch = classify(first, BATCH).then((predictions) =>
      predictions.forEach((p, i) => correct += p === set.labels[first + i] ? 1 : 0)
    );
    await previous;
    previous = batch;
  }
  await previous;
  const cpu = cpuUsage(cpuStarted);
  return {
    seconds: (performance.now() - started) / 1000,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    images,
    correct,
  };
}

/** The faster of two timings of one slice (the first, if there is none yet). */
function faster(kept: Timing | undefined, timing: Timing): Timing {
  return kept && kept.seconds <= timing.seconds ? kept : timing;
}

/** Timings of consecutive slices as one run, its times scaled to 10,000 images. */
function joined(slices: Timing[]): Timing {
  const images = slices.reduce((sum, t) => sum + t.images, 0);
  const scale = IMAGES / images;
  return {
    seconds: slices.reduce((sum, t) => sum + t.seconds, 0) * scale,
    cpuSeconds: slices.reduce((sum, t) => sum + t.cpuSeconds, 0) * scale,
    images,
    correct: slices.reduce((sum, t) => sum + t.correct, 0),
  };
}

/** A halfprec network (or a pool holding it) as a `time` callback, input stored in `format`. */
function halfprec(set: LabeledImages, classifier: Classifier, format: Storage) {
  return async (start: number, count: number) =>
    await classifier.classify(imageBatch(set, start, count, format));
}

/**
 * Runs a peer of tools/peer/ (its own `deno.json` and lockfile, so that its package is fetched
 * only by perf) with `input` on its stdin and returns what it prints as JSON: its time and the
 * class of each image.
 */
async function runPeer(
  script: string,
  args: string[],
  permissions: string[],
  input: Uint8Array,
): Promise<{ seconds: number; cpuSeconds?: number; classes: number[] }> {
  const peer = new URL("../tools/peer/", import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--config",
      `${peer}deno.json`,
      ...permissions,
      peer + script,
      ...args,
    ],
    // onnxruntime-node's install script fetches GPU libraries; its CPU library is in the package.
    env: { ONNXRUNTIME_NODE_INSTALL: "skip" },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const [{ code, stdout, stderr }] = await Promise.all([
    child.output(),
    new Blob([input as Uint8Array<ArrayBuffer>]).stream().pipeTo(child.stdin),
  ]);
  if (code !== 0) throw new Error(new TextDecoder().decode(stderr).trim().split("\n")[0]);
  return JSON.parse(new TextDecoder().decode(stdout));
}

/** The bytes of float32 values, for a peer's stdin. */
function float32Bytes(values: Float32Array): Uint8Array {
  return new Uint8Array(values.buffer as ArrayBuffer, values.byteOffset, values.byteLength);
}

/** A peer's classes scored on the test set, its time scaled to 10,000 images. */
function peerTiming(
  set: LabeledImages,
  images: number,
  result: { seconds: number; cpuSeconds?: number; classes: number[] },
): Timing {
  const correct = result.classes.filter((c, i) => c === set.labels[i]).length;
  const scale = IMAGES / images;
  return {
    seconds: result.seconds * scale,
    cpuSeconds: (result.cpuSeconds ?? NaN) * scale,
    images,
    correct,
  };
}

/**
 * TensorFlow.js (tools/peer/tfjs_time.ts) on `backend` running DeepConvNet with `net`'s
 * weights as float32 on the first `images` test images, the best of `passes`; undefined, with
 * the reason on the progress stream, when it cannot run.
 */
async function tfjs(
  set: LabeledImages,
  net: Sequential,
  backend: "wasm" | "cpu",
  images: number,
  passes: number,
): Promise<Timing | undefined> {
  const params = [...net.params()];
  const header = JSON.stringify({
    params: Object.fromEntries(params.map(([name, t]) => [name, t.shape])),
    images,
  });
  const values = [
    ...params.map(([, t]) => Float32Array.from(t.toFloat64())),
    imageBatch(set, 0, images, f32).data as Float32Array,
  ];
  const input = new Uint8Array(
    await new Blob([
      header + "\n",
      ...values.map((v) => float32Bytes(v) as Uint8Array<ArrayBuffer>),
    ]).arrayBuffer(),
  );
  try {
    const permissions = ["--allow-read", "--allow-env", "--allow-sys"];
    const result = await runPeer("tfjs_time.ts", [backend, String(passes)], permissions, input);
    return peerTiming(set, images, result);
  } catch (error) {
    say(`TF.js ${backend} peer not run: ${(error as Error).message}`);
    return undefined;
  }
}

/**
 * onnxruntime-node (native, 2 intra-op threads) on the same network exported to ONNX
 * (tests/fixtures/deepconvnet-book-f32.onnx), tools/peer/ort_time.ts; undefined, with the
 * reason on the progress stream, when it cannot run.
 */
async function onnxruntime(set: LabeledImages): Promise<Timing | undefined> {
  const model = new URL("../tests/fixtures/deepconvnet-book-f32.onnx", import.meta.url).pathname;
  const x = imageBatch(set, 0, IMAGES, f32).data as Float32Array;
  try {
    const permissions = ["--allow-read", "--allow-env", "--allow-ffi", "--allow-sys"];
    const result = await runPeer("ort_time.ts", [model, "2"], permissions, float32Bytes(x));
    return peerTiming(set, IMAGES, result);
  } catch (error) {
    say(`onnxruntime peer not run: ${(error as Error).message}`);
    return undefined;
  }
}

/** The book's network and the MNIST test set, found by the commands' lookup (after --help). */
let net: Sequential;
let set: LabeledImages;

/** One checked target: the measured value (wall time, and from CPU time), its bound, the verdict. */
interface Target {
  name: string;
  value: number;
  valueFromCpu: number;
  bound: number;
  atMost: boolean;
  met: boolean;
}
const targets: Target[] = [];

/** One timed run of the test pass, as `--json` reports it. */
interface Run {
  path: KernelPath;
  /** The format of every layer, or `"mixed"`. */
  format: string;
  /** For `"mixed"`: the layer configuration. */
  config?: LayerConfig;
  workers: number;
  seconds: number;
  cpuSeconds: number;
  images: number;
  correct: number;
}
const runs: Run[] = [];
const peers: {
  name: string;
  seconds: number;
  cpuSeconds: number;
  images: number;
  correct: number;
}[] = [];

/** Progress and tables: on stdout, or on stderr when stdout carries the JSON. */
function say(line: string): void {
  if (args.json) console.error(line);
  else console.log(line);
}

/** Records one target and prints its line: the measured value, the bound, whether it is met. */
function target(
  what: string,
  values: [number, number] | [number],
  bound: number,
  unit: string,
  atMost: boolean,
) {
  const met = (v: number) => atMost ? v <= bound : v >= bound;
  const [wallValue, cpuValue = NaN] = values;
  targets.push({
    name: what,
    value: wallValue,
    valueFromCpu: cpuValue,
    bound,
    atMost,
    met: met(wallValue),
  });
  const fromCpu = Number.isNaN(cpuValue)
    ? ""
    : ` (from CPU time: ${cpuValue.toFixed(2)}${unit}, ${met(cpuValue) ? "met" : "missed"})`;
  say(
    `${met(wallValue) ? "met   " : "MISSED"} ${what}: ${wallValue.toFixed(2)}${unit}${fromCpu}; ` +
      `target ${atMost ? "<=" : ">="} ${bound}${unit}`,
  );
}
/** [wall, CPU] seconds of a timing on `threads` threads. */
const both = (
  t: StepTiming | Timing,
  threads: number,
): [number, number] => [t.seconds, t.cpuSeconds / threads];
const ratio = (
  a: [number, number],
  b: [number, number],
): [number, number] => [a[0] / b[0], a[1] / b[1]];
/** The 10,000-image test pass on both kernel paths and TF.js, its table and its targets. */
async function testPass(): Promise<void> {
  const rows = new Map<string, { workers: Timing; thread: Timing }>();
  using pool = new WorkerPool({ size: 2 });
  const configurations = [
    ...formats.map((format) => ({ name: format.name, config: { default: format.name } })),
    ...(mixed ? [{ name: "mixed", config: MIXED }] : []),
  ];
  for (const path of paths) {
    const rounds = path === "wasm" ? repeat : 1;
    const threadImages = path === "wasm" ? IMAGES : subset;
    const networks = configurations.map(({ name, config }) => ({
      name,
      config,
      narrow: applyLayerConfig(net.withKernels(path), config),
    }));
    // Each configuration's fastest timing of each slice, on 2 workers and on one thread.
    const fastest = new Map(networks.map(({ name }) => [name, {
      workers: [] as Timing[],
      thread: [] as Timing[],
    }]));
    // Slice after slice, every configuration in turn, round after round: a spell of slowness
    // on the machine then hits them all alike, and each keeps its fastest timing of every slice.
    for (let round = 0; round < rounds; round++) {
      for (let start = 0; start < IMAGES; start += SLICE) {
        const slice = start / SLICE;
        for (const { name, narrow } of networks) {
          const input = narrow.layers[0].storage;
          const kept = fastest.get(name)!;
          await pool.load(narrow);
          const workers = await time(set, start, SLICE, halfprec(set, pool, input));
          kept.workers[slice] = faster(kept.workers[slice], workers);
          if (start >= threadImages) continue;
          const images = Math.min(SLICE, threadImages - start);
          const thread = await time(set, start, images, halfprec(set, narrow, input));
          kept.thread[slice] = faster(kept.thread[slice], thread);
        }
      }
      for (const { name } of networks) {
        const seconds = joined(fastest.get(name)!.workers).seconds;
        say(`  ${path} ${name}, round ${round + 1}: ${seconds.toFixed(2)} s on 2 workers`);
      }
    }
    for (const { name, config } of networks) {
      const kept = fastest.get(name)!;
      const workers = joined(kept.workers);
      const thread = joined(kept.thread);
      rows.set(`${path} ${name}`, { workers, thread });
      const configured = name === "mixed" ? { config } : {};
      runs.push({ path, format: name, ...configured, workers: 2, ...workers });
      runs.push({ path, format: name, ...configured, workers: 1, ...thread });
    }
  }
  const tfWasm = await tfjs(set, net, "wasm", IMAGES, repeat);
  const tfCpu = await tfjs(set, net, "cpu", subset, 1);
  if (tfWasm) peers.push({ name: "TF.js WASM (XNNPACK, SIMD, 1 thread)", ...tfWasm });
  if (tfCpu) peers.push({ name: "TF.js CPU (1 thread)", ...tfCpu });
  const ort = await onnxruntime(set);
  if (ort) peers.push({ name: "onnxruntime-node (native CPU, 2 threads)", ...ort });

  const scaled = (t: Timing) => t.images < IMAGES ? "*" : "";
  const wall = (t: Timing) => `${t.seconds.toFixed(2)} s${scaled(t)}`;
  const cpu = (t: Timing, threads: number) =>
    `${(t.cpuSeconds / threads).toFixed(2)} s${scaled(t)}`;
  const table = formatTable(
    ["path", "format", "2 workers", "CPU / 2", "1 thread", "CPU", "correct", "vs f32 (2 workers)"],
    [
      ...[...rows].map(([key, { workers, thread }]) => {
        const [path, format] = key.split(" ");
        const f32Row = rows.get(`${path} f32`);
        return [
          path,
          format,
          wall(workers),
          cpu(workers, 2),
          wall(thread),
          cpu(thread, 1),
          String(workers.correct),
          f32Row ? `${(workers.seconds / f32Row.workers.seconds).toFixed(2)}x` : "-",
        ];
      }),
      ...(tfWasm
        ? [[
          "TF.js WASM (SIMD)",
          "f32",
          "-",
          "-",
          wall(tfWasm),
          cpu(tfWasm, 1),
          `${tfWasm.correct}`,
          "-",
        ]]
        : []),
      ...(ort
        ? [["onnxruntime-node (2 threads)", "f32", wall(ort), "-", "-", "-", `${ort.correct}`, "-"]]
        : []),
      ...(tfCpu
        ? [[
          "TF.js CPU",
          "f32",
          "-",
          "-",
          wall(tfCpu),
          cpu(tfCpu, 1),
          `${tfCpu.correct} of ${tfCpu.images}`,
          "-",
        ]]
        : []),
    ],
  );
  say(`\n${table}`);
  say(
    `* timed on the first ${subset} images and scaled to ${IMAGES}. CPU: the process's CPU time ` +
      `(all threads; "CPU / 2" is what 2 workers would take on 2 idle cores)`,
  );
  say(`load average after: ${loadavg().map((l) => l.toFixed(2)).join(" ")}\n`);

  const wasmF32 = rows.get("wasm f32");
  const tsF32 = rows.get("typescript f32");
  const onWorkers = workerPeaks.map((p) => p.toFixed(1)).join(" and ");
  say(
    `f32x4 FMA peak of this runtime: ${peak.toFixed(1)} GFLOP/s a thread; the test pass is ` +
      `${(flop / 1e9).toFixed(1)} GFLOP, ${floorSeconds().toFixed(2)} s at that peak on 2 ` +
      `threads (timed on 2 workers at once: ${onWorkers} GFLOP/s)`,
  );
  if (wasmF32) {
    // The one-thread pass against the one-thread floor: the kernels alone, without the two
    // cores' contention for the caches and the memory, and the workers' messages.
    const seconds = wasmF32.thread.seconds;
    say(
      `wasm f32 on one thread: ${seconds.toFixed(2)} s, ` +
        `${(100 * 2 * floorSeconds() / seconds).toFixed(1)} % of the peak`,
    );
  }
  say("Targets (wall time; the same from CPU time in brackets):");
  if (wasmF32) {
    const workers = both(wasmF32.workers, 2);
    const floor = floorSeconds();
    target(
      "wasm f32 (2 workers): fraction of the FMA peak",
      [
        floor / workers[0],
        floor / workers[1],
      ],
      0.8,
      "",
      false,
    );
    for (const [key, row] of rows) {
      if (!key.startsWith("wasm ") || key === "wasm f32") continue;
      target(`${key} / f32, 2 workers`, ratio(both(row.workers, 2), workers), 1.3, "x", true);
    }
    target("wasm f32, 2 workers, 10k pass", workers, 3, " s", true);
    if (tfWasm) {
      target(
        "wasm f32 (2 workers) speed-up over TF.js WASM",
        ratio(both(tfWasm, 1), workers),
        2,
        "x",
        false,
      );
      target(
        "wasm f32 (1 thread) speed-up over TF.js WASM (1 thread)",
        ratio(both(tfWasm, 1), both(wasmF32.thread, 1)),
        2,
        "x",
        false,
      );
    }
  }
  if (tsF32 && tfCpu) {
    target(
      "TypeScript f32 (2 workers) speed-up over TF.js CPU",
      ratio(both(tfCpu, 1), both(tsF32.workers, 2)),
      5,
      "x",
      false,
    );
    target(
      "TypeScript f32 (1 thread) speed-up over TF.js CPU (1 thread)",
      ratio(both(tfCpu, 1), both(tsF32.thread, 1)),
      5,
      "x",
      false,
    );
  }
}

/** Seconds of one training step: wall time and the process's CPU time. */
interface StepTiming {
  seconds: number;
  cpuSeconds: number;
}

/** The timed training steps, as `--json` reports them. */
const stepRuns: { format: string; path: KernelPath; seconds: number; cpuSeconds: number }[] = [];

/** The kernel paths a training step is timed on; speed-ups are relative to the first. */
const STEP_PATHS: KernelPath[] = ["typescript", "wasm"];

/**
 * One training step of `net` on `x`: forward in training mode, cross-entropy, backward, with
 * the same dropout masks every time.
 */
function trainingStep(net: Sequential, x: Tensor, labels: ArrayLike<number>): StepTiming {
  const cpuStarted = cpuUsage();
  const started = performance.now();
  reseedDropout(net, 1);
  net.forward(x, { train: true });
  const { dlogits } = (net.layers.at(-1) as Softmax).crossEntropy(labels);
  let d = dlogits;
  for (let i = net.layers.length - 2; i >= 0; i--) d = net.layers[i].backward(d);
  const cpu = cpuUsage(cpuStarted);
  return {
    seconds: (performance.now() - started) / 1000,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
}

/**
 * The training step in each format on each of {@linkcode STEP_PATHS}: one warm-up step each,
 * then the paths in turn, `steps` times; the fastest counts. Prints the table. The 3x
 * target is against the code before the backward kernels, whose TypeScript backward did not yet
 * skip zeros: that comparison needs the old commit, so it is made with `deno bench` there and
 * here (README, "Speed"), and this table only shows where the time goes now.
 */
function trainingSteps(): void {
  const trainFormats = formats.filter((f) => ["f32", "f16", "bf16", "f64"].includes(f.name));
  const labels = set.labels.subarray(0, BATCH);
  const results: { format: string; timings: StepTiming[] }[] = [];
  for (const format of trainFormats) {
    const models = STEP_PATHS.map((path) => net.withKernels(path).to(format));
    const x = imageBatch(set, 0, BATCH, format);
    const timings = models.map((model) => trainingStep(model, x, labels));
    for (let i = 0; i < steps; i++) {
      models.forEach((model, j) => {
        const t = trainingStep(model, x, labels);
        if (i === 0 || t.seconds < timings[j].seconds) timings[j] = t;
      });
    }
    results.push({ format: format.name, timings });
    timings.forEach((t, j) => stepRuns.push({ format: format.name, path: STEP_PATHS[j], ...t }));
    say(
      `  training step ${format.name}: ${timings.map((t) => t.seconds.toFixed(3)).join(" s, ")} s`,
    );
  }
  const ms = (seconds: number) => `${(seconds * 1000).toFixed(0)} ms`;
  const rows = results.flatMap(({ format, timings }) =>
    timings.map((t, j) => [
      format,
      STEP_PATHS[j],
      ms(t.seconds),
      ms(t.cpuSeconds),
      `${(timings[0].seconds / t.seconds).toFixed(2)}x`,
    ])
  );
  const table = formatTable(["format", "path", "wall", "CPU", "speed-up over TypeScript"], rows);
  say(
    `\nTraining step: forward + backward, batch ${BATCH}, one thread, fastest of ${steps}\n` +
      table,
  );
  say(`load average after: ${loadavg().map((l) => l.toFixed(2)).join(" ")}\n`);
  say(
    "The 3x target is against the code before the backward kernels (commit 0fb5811): run\n" +
      '`deno bench -P --filter "train step"` there and here (README, "Speed").',
  );
}

/** Each layer's time in the f32 pass on the wasm path, as `--json` reports them. */
const layerRuns: { layer: string; seconds: number; share: number; fractionOfPeak?: number }[] = [];
/** The FMA peak {@linkcode layerTimes} measured alongside them, GFLOP/s on one thread. */
let layerPeak = 0;

/** Images per timed call of {@linkcode layerTimes}, and batches timed per round. */
const LAYER_BATCH = 20;
const LAYER_BATCHES = 5;

/**
 * Where f32's time goes on the wasm path, on this thread: each layer of the pass run alone on
 * its input (with the next ones up to the next layer with weights, as one step, where inference
 * runs them in one pass: see `Layer.forwardWith`; inference also goes on into that next layer,
 * which a step does not, so that each product has a row), {@linkcode LAYER_BATCH} images a call, the fastest call over `repeat` x
 * 20 rounds of {@linkcode LAYER_BATCHES} batches, scaled to 10,000 images; its share of the
 * steps' sum and, for conv and affine, its multiply-adds' rate over the FMA peak, timed the
 * same way (the fastest of short `fma_peak` calls, one a round). Prints the table.
 */
function layerTimes(): void {
  const { fma_peak } = requireKernels();
  const narrow = net.withKernels("wasm").to(f32);
  const shapes = narrow.shapes([1, 1, 28, 28]);
  const batches = Array.from(
    { length: LAYER_BATCHES },
    (_, b) => imageBatch(set, b * LAYER_BATCH, LAYER_BATCH, f32),
  );
  // The steps inference takes, found on the first batch, which also warms up the kernels.
  const steps: { name: string; first: number; run: (x: Tensor) => Tensor }[] = [];
  for (let i = 0, y = batches[0]; i < narrow.layers.length; i++) {
    const layer = narrow.layers[i];
    const end = narrow.layers.findIndex((next, j) => j > i && next.fanIn > 0);
    const following = narrow.layers.slice(i + 1, end < 0 ? undefined : end);
    const fused = layer.forwardWith?.(y, following, false);
    const run = fused
      ? (x: Tensor) => layer.forwardWith!(x, following, false)!.outputs[0]
      : (x: Tensor) => layer.forward(x, false);
    const names = narrow.layers.slice(i, i + 1 + (fused?.fused ?? 0)).map((l) => l.name);
    steps.push({ name: names.join("+"), first: i, run });
    y = fused ? fused.outputs[0] : layer.forward(y, false);
    i += fused?.fused ?? 0;
  }
  narrow.forward(batches[0]); // warm-up: V8 optimises the kernels in the background
  const fastest = new Float64Array(steps.length).fill(Infinity);
  let shortPeak = 0;
  const rounds = PEAK_ROUNDS / 20;
  for (let round = 0; round < repeat * 20; round++) {
    const started = performance.now();
    fma_peak(rounds, 0.9999999, 1e-7);
    shortPeak = Math.max(shortPeak, (96 * rounds) / ((performance.now() - started) / 1000) / 1e9);
    for (const x of batches) {
      let y = x;
      steps.forEach((step, i) => {
        const started = performance.now();
        y = step.run(y);
        fastest[i] = Math.min(fastest[i], (performance.now() - started) / 1000);
      });
    }
  }
  const scale = IMAGES / LAYER_BATCH;
  const sum = fastest.reduce((a, b) => a + b, 0) * scale;
  steps.forEach(({ name, first }, i) => {
    const { fanIn } = narrow.layers[first];
    const flop = 2 * fanIn * shapes[first].slice(1).reduce((a, b) => a * b, 1) * LAYER_BATCH;
    const seconds = fastest[i] * scale;
    layerRuns.push({
      layer: name,
      seconds,
      share: seconds / sum,
      ...(flop > 0 ? { fractionOfPeak: flop / fastest[i] / 1e9 / shortPeak } : {}),
    });
  });
  const percent = (x: number) => `${(100 * x).toFixed(1)} %`;
  say(
    `\nwasm f32, one thread, each step alone (a layer, or those inference runs in one ` +
      `pass), ${LAYER_BATCH} images a call (the fastest call), for ${IMAGES} images: ${
        sum.toFixed(2)
      } s; FMA peak timed alike ` +
      `${shortPeak.toFixed(1)} GFLOP/s, at which the pass takes ${
        (flop / (shortPeak * 1e9)).toFixed(2)
      } s (${percent(flop / (shortPeak * 1e9) / sum)} of the sum)\n` +
      formatTable(
        ["layer", "seconds", "share", "of the FMA peak"],
        layerRuns.map((r) => [
          r.layer,
          r.seconds.toFixed(3),
          percent(r.share),
          r.fractionOfPeak === undefined ? "-" : percent(r.fractionOfPeak),
        ]),
      ),
  );
  layerPeak = shortPeak;
}

/** The parts of a run, in order; `--part` picks one. */
const PARTS = ["test", "layers", "train", "commands"];

/**
 * The commands timed as a user runs them, each with its bound in seconds; search with its
 * defaults but for where its log goes (the system's temporary folder, not the repository).
 */
const COMMANDS: { task: string; args: string[]; bound: number }[] = [
  { task: "search", args: ["--log", join(tmpdir(), "halfprec-perf-search.jsonl")], bound: 15 },
  { task: "analyze", args: ["--images", "500"], bound: 10 },
];

/** The timed commands, as `--json` reports them. */
const commandRuns: { command: string; seconds: number; bound: number; met: boolean }[] = [];

/**
 * Runs each of {@linkcode COMMANDS} once through `deno task` of this repository and checks its
 * wall time against its bound. The data is found as the commands find it (HALFPREC_MNIST, the
 * cache).
 */
async function commands(): Promise<void> {
  const config = new URL("../deno.json", import.meta.url).pathname;
  for (const { task, args: taskArgs, bound } of COMMANDS) {
    const command = ["deno", "task", task, ...taskArgs].join(" ");
    say(`  ${command} ...`);
    const started = performance.now();
    const { code, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["task", "--quiet", "--config", config, task, ...taskArgs],
      stdout: "null",
      stderr: "piped",
    }).output();
    const seconds = (performance.now() - started) / 1000;
    if (code !== 0) {
      const lines = new TextDecoder().decode(stderr).trim().split("\n");
      throw new Error(`${command} failed: ${lines.at(-1)}`);
    }
    commandRuns.push({ command, seconds, bound, met: seconds <= bound });
    target(command, [seconds], bound, " s", true);
  }
  say(`load average after: ${loadavg().map((l) => l.toFixed(2)).join(" ")}\n`);
}

let subset = 0, repeat = 0, steps = 0;
let paths: KernelPath[] = [];
let formats: readonly Storage[] = [
  ...STORAGES,
  ...FP8_STORAGES,
  ...["e3m4", "mxfp8-e4m3", "mxfp4", "nvfp4", "int8"].map(storageByName),
];
/** Whether to time {@linkcode MIXED} too. */
let mixed = true;

/**
 * The mixed configuration timed as `mixed`: formats change at conv and affine layers (bf16,
 * e4m3, MXFP4 and f16 in turn), as a search's choice does, so that conversions at format
 * boundaries are part of the time.
 */
const MIXED: LayerConfig = {
  default: "mxfp4",
  conv1: "bf16",
  relu1: "bf16",
  conv2: "e4m3",
  relu2: "e4m3",
  pool1: "e4m3",
  affine2: "f16",
  dropout2: "f16",
  softmax1: "f16",
};
/**
 * The measured f32x4 FMA peak (GFLOP/s, one thread), each of 2 workers' timed at once, and the
 * test pass's floating-point work.
 */
let peak = 0, workerPeaks: number[] = [], flop = 0;

/** Floating-point operations of the test pass: 2 per multiply-add of every conv and affine. */
function testPassFlop(network: Sequential): number {
  const shapes = network.shapes([1, 1, 28, 28]);
  const perImage = network.layers.reduce(
    (sum, layer, i) => sum + layer.fanIn * shapes[i].slice(1).reduce((a, b) => a * b, 1),
    0,
  );
  return 2 * perImage * IMAGES;
}

/** Seconds the test pass would take at the FMA peak on 2 threads: no kernel can beat it. */
function floorSeconds(): number {
  return flop / (peak * 1e9 * 2);
}

async function main(): Promise<void> {
  args = flags();
  if (args.help) {
    console.log(HELP);
    return;
  }
  if (args.part !== undefined && !PARTS.includes(args.part)) {
    throw new UsageError(`--part is "${args.part}", expected ${PARTS.join(", ")}`);
  }
  subset = positiveInteger("subset", args.subset);
  repeat = positiveInteger("repeat", args.repeat);
  steps = positiveInteger("steps", args.steps);
  paths = args.paths.split(",").map((p) => kernelPath(p.trim()));
  if (args.formats !== undefined) {
    const names = args.formats.split(",").map((name) => name.trim());
    mixed = names.includes("mixed");
    const others = names.filter((name) => name !== "mixed");
    formats = others.length ? formatsFlag("formats", others.join(",")) : [];
  }
  net = (await loadDeepConvNet("book")).net;
  set = (await loadTestSet()).set;
  say(
    `DeepConvNet, ${IMAGES} MNIST test images, batches of ${BATCH}, store mode; ` +
      `${cpus().length} cores (${cpus()[0]?.model ?? "unknown"}), wasm build: ${kernelBuild}`,
  );
  say(`load average before: ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
  peak = fmaPeak();
  workerPeaks = await fmaPeakOnWorkers(2);
  flop = testPassFlop(net);
  const part = (name: string) => args.part === undefined || args.part === name;
  if (part("test")) await testPass();
  if (part("layers")) layerTimes();
  if (part("train")) trainingSteps();
  if (part("commands")) await commands();
  if (args.json) {
    const f32Run = runs.find((r) => r.path === "wasm" && r.format === "f32" && r.workers === 2);
    const f32Thread = runs.find((r) => r.path === "wasm" && r.format === "f32" && r.workers === 1);
    console.log(JSON.stringify(
      {
        machine: {
          cores: cpus().length,
          cpu: cpus()[0]?.model ?? "unknown",
          deno: Deno.version.deno,
          wasmBuild: kernelBuild,
        },
        wasmPeakGflopsPerThread: peak,
        wasmPeakGflopsPerWorker: workerPeaks,
        testPassGflop: flop / 1e9,
        floorSeconds: floorSeconds(),
        f32FractionOfPeak: f32Run ? floorSeconds() / f32Run.seconds : null,
        f32ThreadFractionOfPeak: f32Thread ? 2 * floorSeconds() / f32Thread.seconds : null,
        runs,
        peers: peers.map((p) => ({
          ...p,
          timesWasmF32: f32Run ? p.seconds / f32Run.seconds : null,
        })),
        trainingSteps: stepRuns,
        layers: layerRuns.length > 0 ? { peakGflopsPerThread: layerPeak, layers: layerRuns } : null,
        commands: commandRuns,
        targets,
        targetsMet: targets.every((t) => t.met),
      },
      null,
      2,
    ));
  }
}

await runCommand("perf", main);
