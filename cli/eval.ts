/**
 * `deno task eval`: classify the MNIST test images with DeepConvNet in each requested format
 * and mode, and compare every run with float64 image by image.
 *
 * @module
 */
import {
  type ActivationScales,
  applyLayerConfig,
  comparePrecisions,
  firstImages,
  imageCount,
  type LayerConfig,
  parseLayerConfig,
  PRECISION_MODES,
  type PrecisionMode,
  type PrecisionResult,
  seededFormats,
  type SeedSpread,
  seedSpreads,
  STORAGES,
  WorkerPool,
} from "../mod.ts";
import {
  arithmeticLines,
  FLIP_FLAGS,
  FLIP_HELP,
  formatsFlag,
  formatTable,
  KERNELS_HELP,
  kernelsFlag,
  MAX_WORKERS,
  parseFlags,
  positiveInteger,
  progressBar,
  runCommand,
  UsageError,
  withFlipFlags,
  workersFlag,
} from "./_cli.ts";
import { loadData, loadModel } from "./_model.ts";
import {
  CALIBRATE_FLAGS,
  CALIBRATE_HELP,
  calibrateArgs,
  calibrateFlags,
  scalesText,
} from "./_calibration.ts";
import { evalReport } from "../report/eval_report.ts";
import { writeReport } from "../report/write_report.ts";
import { checkOutputs } from "./_outputs.ts";

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
  --show-flips     list the indices of the images that changed class
  --json           print the result as JSON on stdout (the table goes to stderr)
  --report FILE    also write an HTML report to FILE: charts, the flipped images, and a
                   re-run of every run in the browser that opens it
${KERNELS_HELP}
  --help           show this text
`;

/** The `--json` output; see the README for the meaning of each field. */
interface EvalReport {
  model: string;
  weights: string;
  data: string;
  images: number;
  /** Dynamic, or static: calibrated on how many images of what. */
  activationScales: ActivationScales;
  results:
    (Omit<PrecisionResult, "flips"> & { flipImages?: { toRight: number[]; toWrong: number[] } })[];
  /** With --config: the file and the configuration it holds (the "mixed" result). */
  config?: { file: string; layers: LayerConfig };
  /** With `--seeds` only: one entry per stochastically rounding format and mode. */
  spreads?: SeedSpread[];
}

async function main(): Promise<void> {
  const args = parse(Deno.args);
  if (args === "help") {
    console.log(HELP);
    return;
  }
  await checkOutputs(args);
  const model = await loadModel(args);
  const { path: weightsPath } = model;
  const data = await loadData(args.data, model);
  const { set, source: dir } = data;
  const limit = args.limit ?? imageCount(set);
  if (limit > imageCount(set)) {
    throw new UsageError(`--limit is ${limit}, but the data has ${imageCount(set)} images`);
  }
  const { net, scales } = await calibrateFlags(
    model.net.withKernels(args.kernels),
    args,
    firstImages(set, limit),
    args.batch,
  );
  const subject = `${model.name} on ${limit} ${data.name}`;

  const config = args.config === undefined ? undefined : await readConfig(args.config);
  const configured = config
    ? [{ name: "mixed", net: applyLayerConfig(net, config, args.config) }]
    : [];
  const runs = 1 + args.formats.filter((f) => f.name !== "f64").length * args.modes.length +
    configured.length;
  const bar = progressBar(runs * limit, "images");
  using pool = new WorkerPool({ size: args.workers });
  const results = await comparePrecisions(net, set, {
    pool,
    formats: args.formats,
    modes: args.modes,
    batch: args.batch,
    limit,
    configured,
    onProgress: (run, done) => bar.update(run.index * limit + done, `${run.format} ${run.mode}`),
  });
  bar.stop();
  const spreads = args.seeds > 1 ? seedSpreads(results) : [];

  const table = formatTable(
    [
      "format",
      "mode",
      "accuracy",
      "Δ vs f64",
      "flips →right/→wrong",
      "McNemar p",
      "time",
      "bytes/image",
    ],
    seededRows(results, spreads).map((r) =>
      "seeds" in r ? spreadRow(r, results[0]) : [
        r.format,
        r.mode === "reference" ? "-" : r.mode,
        `${(100 * r.accuracy).toFixed(3)} %${
          r.unclassified ? ` (${r.unclassified} no class)` : ""
        }`,
        r.mode === "reference" ? "-" : signed(100 * (r.accuracy - results[0].accuracy)),
        r.mode === "reference" ? "-" : `${r.flipsToRight} / ${r.flipsToWrong}`,
        r.mode === "reference" ? "-" : r.mcnemarP.toPrecision(3),
        `${r.seconds.toFixed(1)} s`,
        `${(r.bytesPerImage / 1e6).toFixed(2)} MB`,
      ]
    ),
  );
  const flipLines = args.showFlips
    ? results.filter((r) => r.mode !== "reference").map((r) =>
      `${r.format} ${r.mode}: →right [${r.flips.toRight.join(", ")}], →wrong [${
        r.flips.toWrong.join(", ")
      }]`
    )
    : [];
  const arithmetic = arithmeticLines(
    results.map((r) => ({ label: `${r.format} ${r.mode}`, layers: r.layers })),
  );
  const text = [
    `${subject} (${weightsPath})`,
    `Activation scales: ${scalesText(scales, args.batch)}`,
    table,
    ...flipLines,
    "Kernel path and sums of each layer:",
    ...arithmetic,
  ].join("\n");
  const report: EvalReport = {
    model: model.name,
    weights: weightsPath,
    data: dir,
    images: limit,
    activationScales: scales,
    results: results.map(({ flips, ...r }) =>
      args.showFlips ? { ...r, flipImages: { toRight: flips.toRight, toWrong: flips.toWrong } } : r
    ),
    ...(config && { config: { file: args.config!, layers: config } }),
    ...(args.seeds > 1 ? { spreads } : {}),
  };
  if (args.json) {
    console.error(text);
    console.log(JSON.stringify(report, null, 2));
  } else {
    console.log(text);
  }
  // Written after the results are printed, so that a failed write loses none of them.
  if (args.report !== undefined) {
    const notes = [`weights ${weightsPath}`, `data ${dir}`, `${args.kernels} kernels`];
    const page = await evalReport({
      net,
      set,
      results,
      kernelPath: args.kernels,
      notes,
      subject,
      onnx: model.onnx,
    });
    const bytes = await writeReport(args.report, page);
    console.error(`Report written to ${args.report} (${(bytes / 1e6).toFixed(2)} MB)`);
  }
}

/** The configuration in the file at `path`; a one-line error naming the file when it is bad. */
async function readConfig(path: string): Promise<LayerConfig> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new UsageError(`--config: cannot read ${path}: ${(error as Error).message}`);
  }
  return parseLayerConfig(text, path);
}

/** A spread and its seeds' runs: the table shows it in place of them. */
type SpreadRow = SeedSpread & { runs: PrecisionResult[] };

/** `results` with the runs of each spread replaced by one row, where the first of them was. */
function seededRows(
  results: readonly PrecisionResult[],
  spreads: readonly SeedSpread[],
): (PrecisionResult | SpreadRow)[] {
  const rows: (PrecisionResult | SpreadRow)[] = [];
  const runs = new Map<SeedSpread, PrecisionResult[]>();
  for (const r of results) {
    const spread = spreads.find((s) =>
      s.mode === r.mode && s.seeds.some((seed) => `${s.format}${seed}` === r.format)
    );
    if (!spread) {
      rows.push(r);
      continue;
    }
    if (!runs.has(spread)) {
      runs.set(spread, []);
      rows.push({ ...spread, runs: runs.get(spread)! });
    }
    runs.get(spread)!.push(r);
  }
  return rows;
}

/** A spread's row: accuracy mean ± deviation (min..max), ranges of flips and p, mean time. */
function spreadRow(s: SpreadRow, reference: PrecisionResult): string[] {
  const { mean, std, min, max } = s.accuracy;
  const average = (f: (r: PrecisionResult) => number) =>
    s.runs.reduce((sum, r) => sum + f(r), 0) / s.runs.length;
  const range = (e: { min: number; max: number }, text = (v: number) => String(v)) =>
    text(e.min) === text(e.max) ? text(e.min) : `${text(e.min)}..${text(e.max)}`;
  const p = s.runs.map((r) => r.mcnemarP);
  return [
    `${s.format}${s.seeds[0]}..${s.seeds.at(-1)}`,
    s.mode,
    `${(100 * mean).toFixed(3)} ± ${(100 * std).toFixed(3)} % ` +
    `(${(100 * min).toFixed(2)}..${(100 * max).toFixed(2)})`,
    signed(100 * (mean - reference.accuracy)),
    `${range(s.flipsToRight)} / ${range(s.flipsToWrong)}`,
    range({ min: Math.min(...p), max: Math.max(...p) }, (v) => v.toPrecision(3)),
    `${average((r) => r.seconds).toFixed(1)} s`,
    `${(average((r) => r.bytesPerImage) / 1e6).toFixed(2)} MB`,
  ];
}

/** A percentage-point difference with its sign: "+0.000", "-0.020". */
function signed(points: number): string {
  const text = points.toFixed(3);
  return points >= 0 && !text.startsWith("-") ? `+${text}` : text;
}

function parse(argv: string[]) {
  const values = parseFlags(argv, {
    formats: { type: "string" },
    mode: { type: "string", default: "both" },
    model: { type: "string" },
    weights: { type: "string" },
    data: { type: "string" },
    limit: { type: "string" },
    batch: { type: "string", default: "100" },
    workers: { type: "string", default: String(navigator.hardwareConcurrency) },
    config: { type: "string" },
    seeds: { type: "string", default: "1" },
    ...CALIBRATE_FLAGS,
    "show-flips": { type: "boolean", default: false },
    "allow-non-finite": { type: "boolean", default: false },
    json: { type: "boolean", default: false },
    report: { type: "string" },
    kernels: { type: "string" },
    ...FLIP_FLAGS,
    help: { type: "boolean", default: false },
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
  const flipped = withFlipFlags(formats, values);
  return {
    kernels: kernelsFlag(values.kernels),
    formats: flipped,
    modes,
    model: values.model,
    weights: values.weights,
    data: values.data,
    limit: values.limit === undefined ? undefined : positiveInteger("limit", values.limit),
    batch: positiveInteger("batch", values.batch),
    workers: workersFlag(values.workers),
    config: values.config,
    seeds,
    ...calibrateArgs(values),
    showFlips: values["show-flips"],
    allowNonFinite: values["allow-non-finite"],
    json: values.json,
    report: values.report,
  };
}

function fail(message: string): never {
  throw new UsageError(message);
}

if (import.meta.main) await runCommand("eval", main);
