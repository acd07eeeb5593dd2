/**
 * `deno task search`: which layers of DeepConvNet can be narrow. Searches per-layer formats for
 * the Pareto frontier of bytes moved versus accuracy, chooses the cheapest configuration within
 * tolerance of float64, and confirms it on held-out images.
 *
 * @module
 */
import {
  firstImages,
  imageCount,
  networkSearchProblem,
  parseSearchLog,
  searchFormats,
  type SearchLogEntry,
  type SearchResult,
  type Trial,
  WorkerPool,
} from "../mod.ts";
import {
  formatsFlag,
  formatTable,
  KERNELS_HELP,
  kernelsFlag,
  MAX_WORKERS,
  parseFlags,
  positiveInteger,
  type Progress,
  progressBar,
  runCommand,
  UsageError,
  workersFlag,
} from "./_cli.ts";
import { loadData, loadModel } from "./_model.ts";
import { scalesText } from "./_calibration.ts";
import { searchReport } from "../report/search_report.ts";
import { writeReport } from "../report/write_report.ts";
import { checkOutputs, writeOutput } from "./_outputs.ts";

const DEFAULT_FORMATS = "f32,bf16,f16,e4m3,e5m2";
const DEFAULT_LOG = "halfprec-search.jsonl";

const HELP = `Usage: deno task search [options]

Searches a format for each layer of DeepConvNet (a layer with weights and the ReLU and pooling
layers after it share one) for the Pareto frontier of bytes moved per image versus accuracy,
and chooses the configuration with the fewest bytes whose accuracy is within tolerance of
float64. Per-layer sensitivity, measured on a few images, orders the search, so that it needs
few full evaluations. The test images are split in two, evenly spaced: the search split to
choose on, the held-out split to confirm the choice on.

Options:
  --formats LIST          candidate formats (default ${DEFAULT_FORMATS})
  --tolerance-pp X        largest accuracy drop from f64 accepted, in percentage points
                          (default 0.1)
  --min-p X               smallest McNemar p-value accepted (default 0.05)
  --max-evaluations N     most full evaluations on the search split (default 12)
  --limit N               use only the first N test images (default all)
  --search-images N       images in the search split (default half); the rest are held out
  --sensitivity-images N  search images the per-layer sensitivity is measured on (default 50)
  --calibrate N           static activation scales for the scaled formats: the amax of each
                          conv and affine layer's input over the first N images of the search
                          split, run in float64 (default: dynamic, per batch)
  --log FILE              the trial log, JSON Lines, written as the search goes (default
                          ${DEFAULT_LOG}; replaced unless --resume)
  --resume                continue the search in --log, reusing every evaluation it holds
  --out FILE              write the chosen configuration there, for deno task eval --config
  --model FILE            an ONNX model to run instead of DeepConvNet (as in eval)
  --weights W             DeepConvNet weights (default as in eval)
  --data DIR              folder with the MNIST IDX files, or a safetensors FILE of
                          images and labels (as in eval)
  --batch N               images per forward pass (default 100)
  --workers N             threads running forward passes (default: one per core,
                          ${navigator.hardwareConcurrency} here; at most 4 per core, ${MAX_WORKERS})
  --json                  print the result as JSON on stdout (the table goes to stderr)
  --report FILE           also write an HTML report to FILE: bytes against accuracy of every
                          trial with the frontier and the choice marked, the held-out check,
                          and a re-run of f64 and the choice in the browser that opens it
${KERNELS_HELP}
  --help                  show this text
`;

async function main(): Promise<void> {
  const args = parse(Deno.args);
  if (args === "help") {
    console.log(HELP);
    return;
  }
  await checkOutputs(args);
  const started = performance.now();
  const model = await loadModel(args);
  const { path: weightsPath } = model;
  const net = model.net.withKernels(args.kernels);
  const data = await loadData(args.data, model);
  const { set: all, source: dir } = data;
  const limit = args.limit ?? imageCount(all);
  if (limit > imageCount(all)) {
    throw new UsageError(`--limit is ${limit}, but the data has ${imageCount(all)} images`);
  }
  const set = firstImages(all, limit);
  const searchImages = args.searchImages ?? Math.floor(limit / 2);
  if (searchImages >= limit) {
    throw new UsageError(
      `--search-images is ${searchImages}, expected fewer than the ${limit} images used, so ` +
        "that some are held out",
    );
  }
  if (args.calibrate !== undefined && args.calibrate > searchImages) {
    throw new UsageError(
      `--calibrate is ${args.calibrate}, but the search split has ${searchImages} images`,
    );
  }
  const previous = args.resume ? await readLog(args.log) : [];
  await writeOutput("log", args.log, previous.map((e) => JSON.stringify(e) + "\n").join(""));

  using pool = new WorkerPool({ size: args.workers });
  const problem = networkSearchProblem(net, set, {
    formats: args.formats,
    searchImages,
    sensitivityImages: args.sensitivityImages,
    calibrationImages: args.calibrate,
    batch: args.batch,
    pool,
    settings: { weights: weightsPath, images: limit },
  });
  let bar: Progress | undefined;
  let current = "";
  const result = await searchFormats(problem, {
    tolerancePp: args.tolerancePp,
    minP: args.minP,
    maxEvaluations: args.maxEvaluations,
    previous,
    onLog: (entry) => Deno.writeTextFile(args.log, JSON.stringify(entry) + "\n", { append: true }),
    onProgress: (label, done, total) => {
      if (label !== current) {
        bar?.stop();
        bar = progressBar(total, label === "sensitivity" ? "formats" : "images");
        current = label;
      }
      bar!.update(done, label);
    },
  });
  bar?.stop();
  if (args.out && result.chosen) {
    await writeOutput("out", args.out, JSON.stringify(result.chosen.config, null, 2) + "\n");
  }

  const seconds = (performance.now() - started) / 1000;
  const subject = `${model.name} on ${limit} ${data.name}`;
  const lines = summary(result, {
    subject,
    weights: weightsPath,
    images: limit,
    seconds,
    log: args.log,
  });
  const text = [
    `${lines.images} Units (columns) are a layer with weights and the layers after it. ` +
    `${lines.tolerance} "frontier" marks the Pareto frontier of bytes versus accuracy.`,
    `Activation scales of scaled formats: ${scalesText(problem.activationScales, args.batch)}.`,
    table(result),
    lines.chosen,
    lines.evaluations,
  ].join("\n");
  if (args.json) {
    console.error(text);
    const json = {
      model: model.name,
      weights: weightsPath,
      data: dir,
      images: limit,
      activationScales: problem.activationScales,
      ...result,
      seconds,
    };
    console.log(JSON.stringify(json, null, 2));
  } else {
    console.log(text);
  }
  // After the output: a report that cannot be written loses no result (and --resume redoes it
  // from the log in seconds).
  if (args.report !== undefined) {
    const page = await searchReport({
      net,
      set,
      result,
      kernelPath: args.kernels,
      subject,
      onnx: model.onnx,
      notes: [
        lines.images,
        `data ${dir}`,
        `${args.kernels} kernels`,
        lines.tolerance,
        lines.chosen,
        lines.evaluations,
      ],
    });
    const bytes = await writeReport(args.report, page);
    console.error(`Report written to ${args.report} (${(bytes / 1e6).toFixed(2)} MB)`);
  }
}

/** The entries of the log at `path`, for --resume; a usage error when there is none. */
async function readLog(path: string): Promise<SearchLogEntry[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new UsageError(`--resume: there is no log ${path} to resume (see --log)`);
    }
    throw error;
  }
  return parseSearchLog(text, path);
}

/** The sentences around the table, which the HTML report's notes repeat. */
function summary(
  result: SearchResult,
  run: { subject: string; weights: string; images: number; seconds: number; log: string },
): { images: string; tolerance: string; chosen: string; evaluations: string } {
  const [search, holdout] = result.references;
  const chosen = result.chosen
    ? `Chosen: ${JSON.stringify(result.chosen.config)}, ${
      (result.chosen.bytesPerImage / 1e6).toFixed(3)
    } MB/image against ${(search.bytesPerImage / 1e6).toFixed(3)} MB in f64 (${
      (search.bytesPerImage / result.chosen.bytesPerImage).toFixed(1)
    }x fewer bytes). On the held-out split: ${
      (100 * result.confirmation!.accuracy).toFixed(2)
    } % against ${(100 * holdout.accuracy).toFixed(2)} % in f64, ${
      result.confirmation!.withinTolerance ? "confirmed" : "NOT confirmed"
    } (Δ ${signed(result.confirmation!.deltaPp)} pp, p ${
      result.confirmation!.mcnemarP.toPrecision(3)
    }).`
    : "Chosen: none; no configuration is within tolerance (not even the widest).";
  return {
    images: `${run.subject} (${run.weights}): ` +
      `${search.total} to search on (f64 ${(100 * search.accuracy).toFixed(2)} %), ` +
      `${run.images - search.total} held out.`,
    tolerance: `Tolerance: at most ${result.tolerancePp} pp below f64, McNemar p above ` +
      `${result.minP}.`,
    chosen,
    evaluations: `Full evaluations: ${result.evaluations.search} on the search split, ` +
      `${result.evaluations.holdout} held-out (and f64 once per split); ${result.resumed} ` +
      `taken from the log. Sensitivity took ${result.sensitivitySeconds.toFixed(1)} s; wall ` +
      `time ${run.seconds.toFixed(1)} s. Log: ${run.log}.`,
  };
}

/** Every trial and the held-out confirmation, a column per unit. */
function table(result: SearchResult): string {
  const frontier = new Set(result.frontier);
  const row = (t: Trial, name: string) => [
    name,
    t.reason,
    ...t.formats,
    `${(t.bytesPerImage / 1e6).toFixed(3)} MB`,
    `${(100 * t.accuracy).toFixed(2)} %`,
    signed(t.deltaPp),
    `${t.flipsToRight} / ${t.flipsToWrong}`,
    t.mcnemarP.toPrecision(3),
    t.withinTolerance ? "yes" : "no",
    frontier.has(t) ? "*" : "",
    `${t.seconds.toFixed(1)} s`,
  ];
  return formatTable(
    [
      "#",
      "why",
      ...result.units.map((u) => u.name),
      "bytes/image",
      "accuracy",
      "Δ pp",
      "flips →right/→wrong",
      "McNemar p",
      "within",
      "frontier",
      "time",
    ],
    [
      ...result.trials.map((t, i) => row(t, String(i + 1))),
      ...(result.confirmation ? [row(result.confirmation, "held-out")] : []),
    ],
  );
}

/** A signed number with 2 decimals: "+0.00", "-0.12". */
function signed(x: number): string {
  const text = x.toFixed(2);
  return x >= 0 && !text.startsWith("-") ? `+${text}` : text;
}

function parse(argv: string[]) {
  const values = parseFlags(argv, {
    formats: { type: "string", default: DEFAULT_FORMATS },
    "tolerance-pp": { type: "string", default: "0.1" },
    "min-p": { type: "string", default: "0.05" },
    "max-evaluations": { type: "string", default: "12" },
    limit: { type: "string" },
    "search-images": { type: "string" },
    "sensitivity-images": { type: "string", default: "50" },
    calibrate: { type: "string" },
    log: { type: "string", default: DEFAULT_LOG },
    resume: { type: "boolean", default: false },
    out: { type: "string" },
    model: { type: "string" },
    weights: { type: "string" },
    data: { type: "string" },
    batch: { type: "string", default: "100" },
    workers: { type: "string", default: String(navigator.hardwareConcurrency) },
    json: { type: "boolean", default: false },
    report: { type: "string" },
    kernels: { type: "string" },
    help: { type: "boolean", default: false },
  });
  if (values.help) return "help" as const;
  const optional = (flag: string, value?: string) =>
    value === undefined ? undefined : positiveInteger(flag, value);
  return {
    kernels: kernelsFlag(values.kernels),
    formats: formatsFlag("formats", values.formats).map((s) => s.name),
    tolerancePp: nonNegative("tolerance-pp", values["tolerance-pp"]),
    minP: nonNegative("min-p", values["min-p"], 1),
    maxEvaluations: positiveInteger("max-evaluations", values["max-evaluations"]),
    limit: optional("limit", values.limit),
    searchImages: optional("search-images", values["search-images"]),
    sensitivityImages: positiveInteger("sensitivity-images", values["sensitivity-images"]),
    calibrate: optional("calibrate", values.calibrate),
    log: values.log,
    resume: values.resume,
    out: values.out,
    model: values.model,
    weights: values.weights,
    data: values.data,
    batch: positiveInteger("batch", values.batch),
    workers: workersFlag(values.workers),
    json: values.json,
    report: values.report,
  };
}

/** `value` of `--flag` as a number from 0 to `max`, or a usage error quoting it. */
function nonNegative(flag: string, value: string, max = Infinity): number {
  const n = Number(value);
  if (value.trim() === "" || !(n >= 0 && n <= max)) {
    const range = max === Infinity ? "a number of at least 0" : `a number from 0 to ${max}`;
    throw new UsageError(`--${flag} is "${value}", expected ${range}`);
  }
  return n;
}

if (import.meta.main) await runCommand("search", main);
