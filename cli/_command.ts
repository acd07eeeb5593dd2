/**
 * The preamble and ending every evaluating command shares: the flags that choose the network,
 * its images, the kernels and the output; loading and checking them; printing the result as text
 * or JSON; writing the HTML report.
 *
 * @module
 */
import type { LabeledImages, Sequential } from "../mod.ts";
import type { KernelPath } from "../layers/mod.ts";
import { imageCount } from "../data/mod.ts";
import { writeReport } from "../report/write_report.ts";
import type { ReportData } from "../report/report_data.ts";
import { kernelsFlag, UsageError } from "./_cli.ts";
import { type Data, loadData, loadModel, type Model } from "./_model.ts";
import { checkOutputs, type FileFlags } from "./_outputs.ts";

/** `--model`, `--weights` and `--data`: the network and its images. */
export const MODEL_FLAGS = {
  model: { type: "string" },
  weights: { type: "string" },
  data: { type: "string" },
} as const;

/** `--allow-non-finite`: load weights holding NaN or infinities. */
export const NON_FINITE_FLAG = {
  "allow-non-finite": { type: "boolean", default: false },
} as const;

/** `--batch`: images per forward pass. */
export const BATCH_FLAG = { batch: { type: "string", default: "100" } } as const;

/** `--workers`: threads running forward passes, one per core by default. */
export const WORKERS_FLAG = {
  workers: { type: "string", default: String(navigator.hardwareConcurrency) },
} as const;

/** `--json`, `--report`, `--kernels` and `--help`. */
export const OUTPUT_FLAGS = {
  json: { type: "boolean", default: false },
  report: { type: "string" },
  kernels: { type: "string" },
  help: { type: "boolean", default: false },
} as const;

/** The values of {@linkcode MODEL_FLAGS}, {@linkcode OUTPUT_FLAGS} and the non-finite flag. */
interface CommonValues {
  model?: string;
  weights?: string;
  data?: string;
  "allow-non-finite"?: boolean;
  json: boolean;
  report?: string;
  kernels?: string;
}

/** The common flags, checked. */
export interface CommonArgs {
  /** `--kernels`, the runtime's default when absent. */
  kernels: KernelPath;
  /** `--model`. */
  model?: string;
  /** `--weights`. */
  weights?: string;
  /** `--data`. */
  data?: string;
  /** `--allow-non-finite`. */
  allowNonFinite?: boolean;
  /** `--json`. */
  json: boolean;
  /** `--report`. */
  report?: string;
}

/** The common flags among parsed `values`, checked (a usage error for a bad `--kernels`). */
export function commonArgs(values: CommonValues): CommonArgs {
  return {
    kernels: kernelsFlag(values.kernels),
    model: values.model,
    weights: values.weights,
    data: values.data,
    allowNonFinite: values["allow-non-finite"],
    json: values.json,
    report: values.report,
  };
}

/** What a command runs on: the network on its kernels, the images, and how many of them. */
export interface Subject {
  /** The float64 network as loaded, and where it came from. */
  model: Model;
  /** `model.net` on the kernels `--kernels` chose. */
  net: Sequential;
  /** The images and where they came from. */
  data: Data;
  /** `data.set`. */
  set: LabeledImages;
  /** How many of the images the command uses. */
  images: number;
  /** What the title says: "DeepConvNet on 500 MNIST test images". */
  title: string;
}

/**
 * The network and images the common flags name, checked to fit each other, and how many images
 * to use: `count.value` (given as `--count.flag`; a usage error past the images) or all. The
 * outputs `args` name are checked first, so that a bad output path costs no work.
 */
export async function loadSubject(
  args: CommonArgs & FileFlags,
  count: { flag: string; value?: number },
): Promise<Subject> {
  await checkOutputs(args);
  const model = await loadModel(args);
  const net = model.net.withKernels(args.kernels);
  const data = await loadData(args.data, model);
  const available = imageCount(data.set);
  const images = count.value ?? available;
  if (images > available) {
    throw new UsageError(`--${count.flag} is ${images}, but the data has ${available} images`);
  }
  const title = `${model.name} on ${images} ${data.name}`;
  return { model, net, data, set: data.set, images, title };
}

/** The notes every report carries: the weights, the data and the kernels. */
export function reportNotes(subject: Subject, kernels: KernelPath): string[] {
  return [`weights ${subject.model.path}`, `data ${subject.data.source}`, `${kernels} kernels`];
}

/** `text` on stdout; with `json`, `json` there instead and `text` on stderr. */
export function printResult(text: string, json?: unknown): void {
  if (json === undefined) {
    console.log(text);
    return;
  }
  console.error(text);
  console.log(JSON.stringify(json, null, 2));
}

/** Writes the report page to `path` and says so on stderr, with its size. */
export async function saveReport(path: string, page: ReportData): Promise<void> {
  const bytes = await writeReport(path, page);
  console.error(`Report written to ${path} (${(bytes / 1e6).toFixed(2)} MB)`);
}
