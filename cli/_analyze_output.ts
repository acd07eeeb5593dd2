/**
 * What `deno task analyze` prints: for each format its accuracy and flips, each layer's errors
 * and range counters, the weights' range counters and those of one step's gradients; or its
 * JSON.
 *
 * @module
 */
import type { Storage } from "../mod.ts";
import type { KernelPath } from "../layers/mod.ts";
import {
  type ActivationScales,
  type Analysis,
  describeFirstNonFinite,
  type GradientRangeReport,
  gradientRangeTotals,
  type LayerReport,
  type RangeCounts,
  type ScaledLayerCounts,
} from "../analysis/mod.ts";
import { SCALED_COUNTS_NOTE, scaledCountsTable } from "../report/_scaled_counts.ts";
import { arithmeticText, formatTable } from "./_cli.ts";
import type { Subject } from "./_command.ts";
import { scalesNote } from "./_calibration.ts";
import { gradientTotalsText } from "./_gradient_text.ts";

/** How analyze ran: the flags that shape its output, and the activation scales it used. */
export interface AnalyzeRun {
  /** `--kernels`. */
  kernels: KernelPath;
  /** `--formats`. */
  formats: readonly Storage[];
  /** `--accumulator`. */
  accumulator?: Storage;
  /** Dynamic, or calibrated with `--calibrate`. */
  scales: ActivationScales;
  /** With `--gradients`: the images of the step and the loss scale. */
  step?: { gradientBatch: number; lossScale: number };
}

/** analyze's text and its `--json` document. */
export function analyzeOutput(
  subject: Subject,
  analysis: Analysis,
  run: AnalyzeRun,
): { text: string; json: unknown } {
  const scales = scalesNote(run.scales, { ...run, batch: subject.images });
  const scaling = scales ? ` Activation scales of scaled formats: ${scales}.` : "";
  const accumulated = run.accumulator !== undefined;
  const text = analyzeText(subject, analysis, run.kernels, accumulated, scaling);
  const { model, data, images } = subject;
  const json = {
    model: model.name,
    weights: model.path,
    data: data.source,
    images,
    activationScales: run.scales,
    ...run.step,
    results: analysis.results,
  };
  return { text, json };
}

/**
 * The text of analyze's result: a heading with float64's accuracy, then a block per format;
 * `accumulated` names each format's accumulator (given with `--accumulator`); `scaling` ends
 * the heading.
 */
function analyzeText(
  { title, model }: Subject,
  { results, referenceAccuracy, referenceUnclassified }: Analysis,
  kernels: KernelPath,
  accumulated: boolean,
  scaling: string,
): string {
  return [
    `${title} (${model.path}); f64 accuracy ` +
    `${percent(referenceAccuracy)}${noClass(referenceUnclassified)}. ${kernels} kernels by ` +
    `default (each layer's path and sums below). SQNR and max ulp as propagated / isolated; ` +
    `range counts as predicted / observed (overflow, underflow to 0, subnormal).${scaling}`,
    ...results.map((r) =>
      [
        ``,
        `${r.format}${accumulated ? ` (accumulator ${r.accumulator})` : ""}: accuracy ${
          percent(r.accuracy)
        }${noClass(r.unclassified)}, flips →right ${r.flipsToRight} / ` +
        `→wrong ${r.flipsToWrong}`,
        `kernel path and sums: ${arithmeticText(r.layers)}`,
        `first non-finite output: ${describeFirstNonFinite(r.firstNonFinite)}`,
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
}

function layerTable(layers: readonly LayerReport[]): string {
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
function scaledTable(layers: readonly ScaledLayerCounts[]): string {
  const { header, rows } = scaledCountsTable(layers);
  return [SCALED_COUNTS_NOTE, formatTable(header, rows)].join("\n");
}

/** The gradient counters as predicted / isolated / observed, the tensors with any count. */
function gradientTable(reports: readonly GradientRangeReport[]): string {
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

/** "2 overflow, 7 underflow, 30 subnormal" for the nonzero counts, "-" when none. */
function rangeText(c: RangeCounts): string {
  const parts = [[c.overflow, "overflow"], [c.underflow, "underflow"], [c.subnormal, "subnormal"]]
    .filter(([n]) => n !== 0).map(([n, what]) => `${n} ${what}`);
  return parts.length > 0 ? parts.join(" ") : "-";
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
