/**
 * `deno task analyze`: where precision is lost. For every layer of DeepConvNet and every
 * requested format: the error against float64 with and without the errors of earlier layers,
 * the range counters of every output and weight, and the flips at the output.
 *
 * @module
 */
import { analyzeFormats } from "../analysis/mod.ts";
import { firstImages, imageCount } from "../data/mod.ts";
import {
  accumulatorFlag,
  FLIP_FLAGS,
  FLIP_HELP,
  formatsFlag,
  KERNELS_HELP,
  MAX_WORKERS,
  parseFlags,
  positiveInteger,
  progressBar,
  runCommand,
  UsageError,
  withFlipFlags,
  workersFlag,
} from "./_cli.ts";
import {
  BATCH_FLAG,
  commonArgs,
  loadSubject,
  MODEL_FLAGS,
  NON_FINITE_FLAG,
  OUTPUT_FLAGS,
  printResult,
  reportNotes,
  saveReport,
  WORKERS_FLAG,
} from "./_command.ts";
import {
  CALIBRATE_FLAGS,
  CALIBRATE_HELP,
  calibrateArgs,
  calibrateFlags,
  scalesNote,
} from "./_calibration.ts";
import { analyzeOutput } from "./_analyze_output.ts";
import { analyzeReport } from "../report/analyze_report.ts";
import { WorkerPool } from "../workers/worker_pool.ts";

const DEFAULT_FORMATS = "f32,f16,bf16,e4m3,e5m2";

const HELP = `Usage: deno task analyze [options]

Runs DeepConvNet in float64 and in each format on the first N MNIST test images and reports,
layer by layer: the error of the format's run (propagated: errors of earlier layers included)
and of the layer alone given the float64 input (isolated), as SQNR, relative L2 error, cosine
similarity, maximum absolute error and maximum error in units in the last place of the format;
how many values overflow, underflow to zero or land among the subnormals, predicted from the
float64 run and observed in the format's run; and the images whose class changed.

Options:
  --formats LIST   formats to analyse (default ${DEFAULT_FORMATS}); names as in eval, plus
                   e4m3, e5m2 and e{E}m{M}
${FLIP_HELP}
  --images N       test images to run (default 500)
  --accumulator F  round every partial sum of conv and affine to format F (e.g. f16: what f16
                   accumulation costs; default: float64 sums)
  --gradients      also count the range of every gradient of one training step (dW, db and
                   each layer's input gradient) on the first --batch test images, dropout
                   as in training: predicted from float64, isolated (each layer alone given
                   float64 input and output gradient) and observed in the format's step
  --batch N        images of that step (default 100, as in training)
  --loss-scale X   multiply the loss by X before backward, as in training (default 1); the
                   scaled gradients are the ones stored and counted
  --workers N      threads the formats are shared among (default: one per core,
                   ${navigator.hardwareConcurrency} here; at most 4 per core, ${MAX_WORKERS}); formats that round stochastically
                   or flip bits stay on the main thread; the results do not depend on N
  --model FILE     an ONNX model to run instead of DeepConvNet (as in eval)
  --weights W      DeepConvNet weights (default as in eval)
  --allow-non-finite
                   load weights holding NaN or infinities (as in eval); a metric computed
                   from a NaN shows NaN
  --data DIR       folder with the MNIST IDX files, or a safetensors FILE of images and
                   labels (as in eval)
${CALIBRATE_HELP}
  --json           print the result as JSON on stdout (tables go to stderr)
  --report FILE    also write an HTML report to FILE: charts, the flipped images, and a
                   re-run of every format in the browser that opens it
${KERNELS_HELP}
  --help           show this text
`;

async function main(): Promise<void> {
  const args = parse(Deno.args);
  if (args === "help") return console.log(HELP);
  // First, so that the workers start while this thread loads the network and the images.
  using pool = new WorkerPool({ size: args.workers });
  const subject = await loadSubject(args, { flag: "images", value: args.images });
  const { model, set, images } = subject;
  // The training step whose gradients --gradients counts: the first --batch test images.
  const step = args.gradients
    ? { gradientBatch: Math.min(args.batch, imageCount(set)), lossScale: args.lossScale }
    : undefined;
  const used = firstImages(set, Math.max(images, step?.gradientBatch ?? 0));
  const { net, scales } = await calibrateFlags(subject.net, args, used, args.batch);
  const bar = progressBar(args.formats.length, "formats");
  const analysis = await analyzeFormats(net, set, args.formats, {
    images,
    pool,
    accumulator: args.accumulator,
    ...(step && { gradients: { batch: step.gradientBatch, lossScale: step.lossScale } }),
    onProgress: (done, format) => bar.update(done, format),
  });
  bar.stop();
  const { text, json } = analyzeOutput(subject, analysis, { ...args, scales, step });
  printResult(text, args.json ? json : undefined);
  // Written after the results are printed, so that a failed write loses none of them.
  if (args.report === undefined) return;
  const { x, results, referenceAccuracy } = analysis;
  const scaling = scalesNote(scales, { ...args, batch: subject.images });
  const notes = [
    ...reportNotes(subject, args.kernels),
    ...(scaling ? [`activation scales of scaled formats ${scaling}`] : []),
  ];
  const input = { net, set, x, results, referenceAccuracy, formats: args.formats, notes };
  const page = { ...input, kernelPath: args.kernels, subject: subject.title, onnx: model.onnx };
  await saveReport(args.report, await analyzeReport(page));
}

function parse(argv: string[]) {
  const values = parseFlags(argv, {
    ...MODEL_FLAGS,
    ...NON_FINITE_FLAG,
    ...BATCH_FLAG,
    ...OUTPUT_FLAGS,
    formats: { type: "string", default: DEFAULT_FORMATS },
    images: { type: "string", default: "500" },
    accumulator: { type: "string" },
    gradients: { type: "boolean", default: false },
    "loss-scale": { type: "string", default: "1" },
    ...FLIP_FLAGS,
    ...CALIBRATE_FLAGS,
    ...WORKERS_FLAG,
  });
  if (values.help) return "help" as const;
  const formats = withFlipFlags(formatsFlag("formats", values.formats), values);
  return {
    ...commonArgs(values),
    formats,
    images: positiveInteger("images", values.images),
    accumulator: values.accumulator === undefined ? undefined : accumulatorFlag(values.accumulator),
    gradients: values.gradients,
    batch: positiveInteger("batch", values.batch),
    lossScale: positiveNumber("loss-scale", values["loss-scale"]),
    workers: workersFlag(values.workers),
    ...calibrateArgs(values),
  };
}

/** `value` of `--flag` as a finite positive number, or a usage error quoting it. */
function positiveNumber(flag: string, value: string): number {
  const n = Number(value);
  if (!(value.trim() !== "" && Number.isFinite(n) && n > 0)) {
    throw new UsageError(`--${flag} is "${value}", expected a positive number`);
  }
  return n;
}

if (import.meta.main) await runCommand("analyze", main);
