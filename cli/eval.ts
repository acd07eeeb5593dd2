/**
 * `deno task eval`: classify the MNIST test images with DeepConvNet in each requested format
 * and mode, and compare every run with float64 image by image.
 *
 * @module
 */
import {
  applyLayerConfig,
  comparePrecisions,
  type LayerConfig,
  parseLayerConfig,
  type PrecisionMode,
  WorkerPool,
} from "../mod.ts";
import { STORAGES } from "../layers/storage/mod.ts";
import { PRECISION_MODES, seededFormats, seedSpreads } from "../analysis/mod.ts";
import { firstImages } from "../data/mod.ts";
import {
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
import { evalOutput } from "./_eval_output.ts";
import { evalReport } from "../report/eval_report.ts";

const HELP = `Usage: deno task eval [options]

Classifies the 10,000 MNIST test images (or your own, --data) with DeepConvNet (or your model,
--model) in float64 and in each format, and reports accuracy, the images whose class changed
(flips) and McNemar's exact p-value.

Options:
  --formats LIST   formats to compare with f64 (default: ${STORAGES.map((s) => s.name).join(",")})
  --mode MODE      seed: weights and input rounded, arrays kept f64 (the classic experiment);
                   store: weights, input and every layer output stored in the format;
                   both (default)
  --model FILE     an ONNX model to run instead of DeepConvNet (docs/data.md)
  --weights W      DeepConvNet weights: book (default: the book's pretrained network),
                   halfprec (trained by this project) or a safetensors FILE
  --data DIR       folder with the MNIST IDX files (default: $HALFPREC_MNIST, else the test
                   set in data/), or a safetensors FILE of images and labels (docs/data.md)
  --allow-non-finite
                   load weights holding NaN or infinities (refused otherwise), to study
                   overflow; images whose logits hold a NaN have no class and count as wrong
  --limit N        classify only the first N test images
  --batch N        images per forward pass (default 100)
  --workers N      threads running forward passes (default: one per core,
                   ${navigator.hardwareConcurrency} here; at most 4 per core, ${MAX_WORKERS})
  --config FILE    also evaluate the per-layer formats in FILE (JSON or JSONC, such as
                   { "default": "f16", "conv1": "f32" }) as format "mixed"; without
                   --formats, only it is compared with f64
  --seeds N        run every stochastically rounding format (e5m10-sr7: seed 7; e5m10-sr: seed
                   1) with N consecutive seeds and report its accuracy as mean ± standard
                   deviation (min..max) and its flips as ranges (default 1)
${FLIP_HELP}
${CALIBRATE_HELP}
  --first-non-finite
                   also name, for every run, the first layer whose output held an infinity
                   or a NaN, how many, on which image (one more pass per run, on this thread)
  --show-flips     list the indices of the images that changed class
  --json           print the result as JSON on stdout (the table goes to stderr)
  --report FILE    also write an HTML report to FILE: charts, the flipped images, and a
                   re-run of every run in the browser that opens it
${KERNELS_HELP}
  --help           show this text
`;

async function main(): Promise<void> {
  const args = parse(Deno.args);
  if (args === "help") return console.log(HELP);
  const subject = await loadSubject(args, { flag: "limit", value: args.limit });
  const { set, images: limit } = subject;
  const evaluated = firstImages(set, limit);
  const { net, scales } = await calibrateFlags(subject.net, args, evaluated, args.batch);
  const config = args.config === undefined ? undefined : await readConfig(args.config);
  const mixed = config && applyLayerConfig(net, config.layers, config.file);
  const configured = mixed ? [{ name: "mixed", net: mixed }] : [];
  const runs = 1 + args.formats.filter((f) => f.name !== "f64").length * args.modes.length +
    configured.length;
  const bar = progressBar(runs * limit, "images");
  using pool = new WorkerPool({ size: args.workers });
  const { formats, modes, batch, firstNonFinite } = args;
  const results = await comparePrecisions(net, set, {
    formats,
    modes,
    batch,
    firstNonFinite,
    pool,
    limit,
    configured,
    onProgress: (run, done) => bar.update(run.index * limit + done, `${run.format} ${run.mode}`),
  });
  bar.stop();
  const spreads = args.seeds > 1 ? seedSpreads(results) : undefined;
  const { text, json } = evalOutput(subject, results, { ...args, scales, spreads, config });
  printResult(text, args.json ? json : undefined);
  // Written after the results are printed, so that a failed write loses none of them.
  if (args.report === undefined) return;
  const scaling = scalesNote(scales, { ...args, configured: config !== undefined });
  const notes = [
    ...reportNotes(subject, args.kernels),
    ...(scaling ? [`activation scales ${scaling}`] : []),
  ];
  const { title, model: { onnx } } = subject;
  const input = { net, set, results, kernelPath: args.kernels, notes, subject: title, onnx };
  await saveReport(args.report, await evalReport(input));
}

/** The configuration in the file at `path`; a one-line error naming the file when it is bad. */
async function readConfig(path: string): Promise<{ file: string; layers: LayerConfig }> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new UsageError(`--config: cannot read ${path}: ${(error as Error).message}`);
  }
  return { file: path, layers: parseLayerConfig(text, path) };
}

function parse(argv: string[]) {
  const values = parseFlags(argv, {
    ...MODEL_FLAGS,
    ...NON_FINITE_FLAG,
    ...BATCH_FLAG,
    ...WORKERS_FLAG,
    ...OUTPUT_FLAGS,
    formats: { type: "string" },
    mode: { type: "string", default: "both" },
    limit: { type: "string" },
    config: { type: "string" },
    seeds: { type: "string", default: "1" },
    ...CALIBRATE_FLAGS,
    "show-flips": { type: "boolean", default: false },
    "first-non-finite": { type: "boolean", default: false },
    ...FLIP_FLAGS,
  });
  if (values.help) return "help" as const;
  const modes: readonly PrecisionMode[] = values.mode === "both"
    ? PRECISION_MODES
    : PRECISION_MODES.includes(values.mode as PrecisionMode)
    ? [values.mode as PrecisionMode]
    : fail(`--mode is "${values.mode}", expected seed, store or both`);
  const seeds = positiveInteger("seeds", values.seeds);
  // A stochastic format named without its seed starts at seed 1.
  const formats = values.formats === undefined && values.config !== undefined ? [] : formatsFlag(
    "formats",
    (values.formats ?? STORAGES.map((s) => s.name).join(",")).replace(/-sr(?=\s*(,|$))/g, "-sr1"),
  ).flatMap((format) => seededFormats(format, seeds));
  return {
    ...commonArgs(values),
    formats: withFlipFlags(formats, values),
    modes,
    limit: values.limit === undefined ? undefined : positiveInteger("limit", values.limit),
    batch: positiveInteger("batch", values.batch),
    workers: workersFlag(values.workers),
    config: values.config,
    seeds,
    ...calibrateArgs(values),
    showFlips: values["show-flips"],
    firstNonFinite: values["first-non-finite"],
  };
}

function fail(message: string): never {
  throw new UsageError(message);
}

if (import.meta.main) await runCommand("eval", main);
