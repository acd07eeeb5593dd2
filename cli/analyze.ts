/**
 * `deno task analyze`: where precision is lost. For every layer of DeepConvNet and every
 * requested format: the error against float64 with and without the errors of earlier layers,
 * the range counters of every output and weight, and the flips at the output.
 *
 * @module
 */
import {
  classifyImages,
  f64,
  firstImages,
  flips,
  type GradientRangeReport,
  gradientRanges,
  gradientRangeTotals,
  imageBatch,
  imageCount,
  type LayerReport,
  layerReports,
  predictRange,
  type RangeCounts,
  type ScaledLayerCounts,
  scaledLayerCounts,
  type Sequential,
  type Storage,
  valueRange,
} from "../mod.ts";
import {
  arithmeticText,
  FLIP_FLAGS,
  FLIP_HELP,
  formatsFlag,
  formatTable,
  KERNELS_HELP,
  kernelsFlag,
  parseFlags,
  positiveInteger,
  progressBar,
  runCommand,
  UsageError,
  withFlipFlags,
} from "./_cli.ts";
import { gradientTotalsText } from "./_gradient_text.ts";
import { loadData, loadModel } from "./_model.ts";
import {
  CALIBRATE_FLAGS,
  CALIBRATE_HELP,
  calibrateArgs,
  calibrateFlags,
  scalesText,
} from "./_calibration.ts";
import { analyzeReport } from "../report/analyze_report.ts";
import { SCALED_COUNTS_NOTE, scaledCountsTable } from "../report/_scaled_counts.ts";
import { writeReport } from "../report/write_report.ts";
import { checkOutputs } from "./_outputs.ts";

const DEFAULT_FORMATS = "f32,f16,bf16,e4m3,e5m2";

const HELP = `Usage: deno task analyze [options]

Runs DeepConvNet in float64 and in each format on the first N MNIST test images and reports,
layer by layer: the error of the format's run (propagated: errors of earlier layers included)
and of the layer alone given the float64 input (isolated), as SQNR, relative L2 error, cosine
similarity, maximum absolute error and maximum error in units in the last place of the format;
how many values overflow, underflow to zero or land among the subnormals, predicted from the
float64 run and observed in the format's run; and the images whose class changed.
Kernels run on the TypeScript path (float64 accumulation, one rounding per output).

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
  if (args === "help") {
    console.log(HELP);
    return;
  }
  await checkOutputs(args);
  const model = await loadModel(args);
  const { path: weights } = model;
  const data = await loadData(args.data, model);
  const { set, source: dir } = data;
  if (args.images > imageCount(set)) {
    throw new UsageError(`--images is ${args.images}, but the data has ${imageCount(set)} images`);
  }
  const images = args.images;
  // The training step whose gradients --gradients counts: the first --batch test images.
  const stepImages = Math.min(args.batch, imageCount(set));
  const used = Math.max(images, args.gradients ? stepImages : 0);
  const { net, scales } = await calibrateFlags(
    model.net.withKernels(args.kernels),
    args,
    firstImages(set, used),
    args.batch,
  );
  const subject = `${model.name} on ${images} ${data.name}`;
  const x = imageBatch(set, 0, images, f64);
  const labels = set.labels.subarray(0, images);
  const reference = await classifyImages(net, set, { limit: images });
  const stepRanges = (candidate: Sequential) =>
    gradientRanges(
      net,
      candidate,
      imageBatch(set, 0, stepImages, f64),
      set.labels.subarray(0, stepImages),
      { lossScale: args.lossScale },
    );

  const bar = progressBar(args.formats.length, "formats");
  const results = [];
  for (const [index, format] of args.formats.entries()) {
    bar.update(index, format.name);
    const candidate = net.to(format, args.accumulator);
    const layers = layerReports(net, candidate, x);
    const predictions = await classifyImages(candidate, set, { format, limit: images });
    const f = flips(reference, predictions, labels);
    const scaled = scaledLayerCounts(candidate, x.to(format));
    const result = {
      format: format.name,
      accumulator: args.accumulator?.name ?? "f64",
      accuracy: correct(predictions, labels) / images,
      unclassified: unclassified(predictions),
      flipsToRight: f.toRight.length,
      flipsToWrong: f.toWrong.length,
      layers,
      params: paramRanges(net, format),
      ...(scaled.length > 0 ? { scaled } : {}),
      ...(args.gradients ? { gradients: stepRanges(candidate) } : {}),
    };
    bar.update(index + 1, format.name);
    results.push(result);
  }
  bar.stop();

  if (args.report !== undefined) {
    const notes = [`weights ${weights}`, `data ${dir}`, `${args.kernels} kernels`];
    const referenceAccuracy = correct(reference, labels) / images;
    const formats = args.formats;
    const page = await analyzeReport({
      net,
      set,
      x,
      results,
      referenceAccuracy,
      formats,
      kernelPath: args.kernels,
      notes,
      subject,
      onnx: model.onnx,
    });
    const bytes = await writeReport(args.report, page);
    console.error(`Report written to ${args.report} (${(bytes / 1e6).toFixed(2)} MB)`);
  }

  const text = [
    `${subject} (${weights}); f64 accuracy ` +
    `${percent(correct(reference, labels) / images)}${
      noClass(unclassified(reference))
    }. ${args.kernels} kernels by default (each ` +
    `layer's path and sums below). SQNR and max ulp as propagated / isolated; range counts as ` +
    `predicted / observed (overflow, underflow to 0, subnormal). Activation scales of ` +
    `scaled formats: ${scalesText(scales, images)}.`,
    ...results.map((r) =>
      [
        ``,
        `${r.format}${args.accumulator ? ` (accumulator ${r.accumulator})` : ""}: accuracy ${
          percent(r.accuracy)
        }${noClass(r.unclassified)}, flips →right ${r.flipsToRight} / ` +
        `→wrong ${r.flipsToWrong}`,
        `kernel path and sums: ${arithmeticText(r.layers)}`,
        layerTable(r.layers),
        `weights: ${
          r.params.map((p) => `${p.name} ${rangeText(p.predicted)}`).filter((t) => !/ -$/.test(t))
            .join(", ") || "all within range"
        }`,
        ...(r.scaled ? [scaledTable(r.scaled)] : []),
        ...(r.gradients ? [gradientTable(r.gradients)] : []),
      ].join("\n")
    ),
  ].join("\n");
  if (!args.json) {
    console.log(text);
    return;
  }
  console.error(text);
  const step = args.gradients ? { gradientBatch: stepImages, lossScale: args.lossScale } : {};
  const json = {
    model: model.name,
    weights,
    data: dir,
    images,
    activationScales: scales,
    ...step,
    results,
  };
  console.log(JSON.stringify(json, null, 2));
}

function layerTable(layers: LayerReport[]): string {
  return formatTable(
    [
      "layer",
      "SQNR dB",
      "rel L2",
      "cosine",
      "max |Δ|",
      "max ulp",
      "overflow",
      "underflow",
      "subnormal",
    ],
    layers.map((l) => [
      l.layer,
      `${db(l.propagated.sqnrDb)} / ${db(l.isolated.sqnrDb)}`,
      l.propagated.relL2.toExponential(1),
      l.propagated.cosine.toFixed(6),
      l.propagated.maxAbs.toExponential(1),
      `${l.propagated.maxUlp.toFixed(1)} / ${l.isolated.maxUlp.toFixed(1)}`,
      `${l.predicted.overflow} / ${l.observed.overflow}`,
      `${l.predicted.underflow} / ${l.observed.underflow}`,
      `${l.predicted.subnormal} / ${l.observed.subnormal}`,
    ]),
  );
}

/** What quantization did to each scaled layer's operands (see `scaledCountsTable`). */
function scaledTable(layers: ScaledLayerCounts[]): string {
  const { header, rows } = scaledCountsTable(layers);
  return [SCALED_COUNTS_NOTE, formatTable(header, rows)].join("\n");
}

/** The gradient counters as predicted / isolated / observed, the tensors with any count. */
function gradientTable(reports: GradientRangeReport[]): string {
  const counts = (r: GradientRangeReport, key: "overflow" | "underflow" | "subnormal") =>
    `${r.predicted[key]} / ${r.isolated[key]} / ${r.observed[key]}`;
  const flagged = reports.filter((r) =>
    [r.predicted, r.isolated, r.observed].some((c) => c.overflow + c.underflow + c.subnormal > 0)
  );
  return [
    `gradients of one step (overflow, underflow to 0, subnormal as predicted / isolated / ` +
    `observed):`,
    flagged.length === 0 ? "every gradient within range" : formatTable(
      ["layer", "tensor", "range", "overflow", "underflow", "subnormal"],
      flagged.map((r) => [
        r.layer,
        r.tensor,
        `${r.range.minNonzero.toExponential(1)}..${r.range.maxAbs.toExponential(1)}`,
        counts(r, "overflow"),
        counts(r, "underflow"),
        counts(r, "subnormal"),
      ]),
    ),
    gradientTotalsText(gradientRangeTotals(reports)),
  ].join("\n");
}

/** Range of every parameter of the float64 network, and what storing it in `format` does. */
function paramRanges(net: Sequential, format: Storage) {
  return [...net.params()].map(([name, t]) => {
    const values = t.toFloat64();
    return { name, range: valueRange(values), predicted: predictRange(values, format) };
  });
}

/** "2 overflow, 7 underflow, 30 subnormal" for the nonzero counts, "-" when none. */
function rangeText(c: RangeCounts): string {
  const parts = [[c.overflow, "overflow"], [c.underflow, "underflow"], [c.subnormal, "subnormal"]]
    .filter(([n]) => n !== 0).map(([n, what]) => `${n} ${what}`);
  return parts.length > 0 ? parts.join(" ") : "-";
}

function correct(predictions: Int32Array, labels: ArrayLike<number>): number {
  return predictions.reduce((n, p, i) => n + (p === labels[i] ? 1 : 0), 0);
}

/** Images whose logits hold a NaN (argmaxRows gives them -1): they have no class. */
function unclassified(predictions: Int32Array): number {
  return predictions.reduce((n, p) => p < 0 ? n + 1 : n, 0);
}

function noClass(count: number): string {
  return count === 0 ? "" : ` (${count} no class)`;
}

function percent(fraction: number): string {
  return `${(100 * fraction).toFixed(2)} %`;
}

/** An SQNR: "exact" only for no error at all; NaN and -inf (an infinite error) as such. */
function db(value: number): string {
  if (value === Infinity) return "exact";
  return Number.isFinite(value) ? value.toFixed(1) : value === -Infinity ? "-inf" : "NaN";
}

function parse(argv: string[]) {
  const values = parseFlags(argv, {
    formats: { type: "string", default: DEFAULT_FORMATS },
    images: { type: "string", default: "500" },
    accumulator: { type: "string" },
    gradients: { type: "boolean", default: false },
    batch: { type: "string", default: "100" },
    "loss-scale": { type: "string", default: "1" },
    model: { type: "string" },
    weights: { type: "string" },
    "allow-non-finite": { type: "boolean", default: false },
    data: { type: "string" },
    json: { type: "boolean", default: false },
    report: { type: "string" },
    kernels: { type: "string" },
    ...FLIP_FLAGS,
    ...CALIBRATE_FLAGS,
    help: { type: "boolean", default: false },
  });
  if (values.help) return "help" as const;
  const formats = withFlipFlags(formatsFlag("formats", values.formats), values);
  return {
    kernels: kernelsFlag(values.kernels),
    formats,
    images: positiveInteger("images", values.images),
    accumulator: values.accumulator === undefined
      ? undefined
      : formatsFlag("accumulator", values.accumulator)[0],
    gradients: values.gradients,
    batch: positiveInteger("batch", values.batch),
    lossScale: positiveNumber("loss-scale", values["loss-scale"]),
    model: values.model,
    weights: values.weights,
    allowNonFinite: values["allow-non-finite"],
    data: values.data,
    json: values.json,
    report: values.report,
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
