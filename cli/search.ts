/**
 * `deno task search`: which layers of DeepConvNet can be narrow. Searches per-layer formats for
 * the Pareto frontier of bytes moved versus accuracy, chooses the cheapest configuration within
 * tolerance of float64, and confirms it on held-out images.
 *
 * @module
 */
import { networkSearchProblem, searchFormats, WorkerPool } from "../mod.ts";
import { firstImages } from "../data/mod.ts";
import {
  formatsFlag,
  KERNELS_HELP,
  MAX_WORKERS,
  parseFlags,
  phaseProgress,
  positiveInteger,
  runCommand,
  UsageError,
  workersFlag,
} from "./_cli.ts";
import {
  BATCH_FLAG,
  commonArgs,
  loadSubject,
  MODEL_FLAGS,
  OUTPUT_FLAGS,
  printResult,
  saveReport,
  WORKERS_FLAG,
} from "./_command.ts";
import { openSearchLog } from "./_search_log.ts";
import { writeOutput } from "./_outputs.ts";
import { searchOutput } from "./_search_output.ts";
import { searchReport } from "../report/search_report.ts";

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
  if (args === "help") return console.log(HELP);
  const started = performance.now();
  // First, so that the workers start while this thread loads the network and the images.
  using pool = new WorkerPool({ size: args.workers });
  const subject = await loadSubject(args, { flag: "limit", value: args.limit });
  const { model, net, images: limit } = subject;
  const set = firstImages(subject.set, limit);
  const searchImages = searchSplit(limit, args.searchImages, args.calibrate);
  const log = await openSearchLog(args.log, args.resume);
  const { formats, batch, sensitivityImages } = args;
  const settings = { weights: model.path, images: limit };
  const calibrationImages = args.calibrate;
  const options = { formats, searchImages, sensitivityImages, calibrationImages, batch, pool };
  const problem = networkSearchProblem(net, set, { ...options, settings });
  const progress = phaseProgress((phase) => phase === "sensitivity" ? "formats" : "images");
  const result = await searchFormats(problem, {
    ...args.search,
    previous: log.previous,
    onLog: log.append,
    onProgress: progress.update,
  });
  progress.stop();
  if (args.out && result.chosen) {
    await writeOutput("out", args.out, JSON.stringify(result.chosen.config, null, 2) + "\n");
  }
  const seconds = (performance.now() - started) / 1000;
  const scales = problem.activationScales;
  const { text, json, notes } = searchOutput(subject, result, scales, { ...args, seconds });
  printResult(text, args.json ? json : undefined);
  // After the output: a report that cannot be written loses no result (and --resume redoes it
  // from the log in seconds).
  if (args.report === undefined) return;
  const input = { net, set, result, kernelPath: args.kernels, subject: subject.title, notes };
  await saveReport(args.report, await searchReport({ ...input, onnx: model.onnx }));
}

function parse(argv: string[]) {
  const values = parseFlags(argv, {
    ...MODEL_FLAGS,
    ...BATCH_FLAG,
    ...WORKERS_FLAG,
    ...OUTPUT_FLAGS,
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
  });
  if (values.help) return "help" as const;
  const optional = (flag: string, value?: string) =>
    value === undefined ? undefined : positiveInteger(flag, value);
  return {
    ...commonArgs(values),
    formats: formatsFlag("formats", values.formats).map((s) => s.name),
    search: {
      tolerancePp: nonNegative("tolerance-pp", values["tolerance-pp"]),
      minP: nonNegative("min-p", values["min-p"], 1),
      maxEvaluations: positiveInteger("max-evaluations", values["max-evaluations"]),
    },
    limit: optional("limit", values.limit),
    searchImages: optional("search-images", values["search-images"]),
    sensitivityImages: positiveInteger("sensitivity-images", values["sensitivity-images"]),
    calibrate: optional("calibrate", values.calibrate),
    log: values.log,
    resume: values.resume,
    out: values.out,
    batch: positiveInteger("batch", values.batch),
    workers: workersFlag(values.workers),
  };
}

/**
 * The images of the search split: `searchImages`, by default half of the `limit` used; a usage
 * error when none would be held out, or when `--calibrate` asks for more than it has.
 */
function searchSplit(limit: number, searchImages = Math.floor(limit / 2), calibrate?: number) {
  if (searchImages >= limit) {
    throw new UsageError(
      `--search-images is ${searchImages}, expected fewer than the ${limit} images used, so ` +
        "that some are held out",
    );
  }
  if (calibrate !== undefined && calibrate > searchImages) {
    throw new UsageError(
      `--calibrate is ${calibrate}, but the search split has ${searchImages} images`,
    );
  }
  return searchImages;
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
