/**
 * The report of `deno task analyze`: per-layer error per format, the value ranges against each
 * format's limits, accuracy, the images that changed class, and a browser re-run.
 *
 * @module
 */
import type { LabeledImages, Sequential, Storage, Tensor } from "../mod.ts";
import type { KernelPath } from "../layers/mod.ts";
import type { FirstNonFinite, LayerReport, ScaledLayerCounts } from "../analysis/mod.ts";
import type { ReportData, RerunConfig } from "./report_data.ts";
import { EXTRA_IMAGES, flipsNote, MAX_FLIPS } from "./eval_report.ts";
import { flipImages } from "./flip_images.ts";
import { rangeSection } from "./magnitude_histogram.ts";
import { rerunSection } from "./rerun.ts";

/** What {@linkcode analyzeReport} reports on. */
export interface AnalyzeReportInput {
  /** The float64 network. */
  net: Sequential;
  /** The test set. */
  set: LabeledImages;
  /** The analysed images (the first of the set), in float64. */
  x: Tensor;
  /** The float64 network's accuracy on them. */
  referenceAccuracy: number;
  /** analyze's results, one per format. */
  results: readonly {
    format: string;
    accumulator: string;
    accuracy: number;
    flipsToRight: number;
    flipsToWrong: number;
    layers: LayerReport[];
    /** Scaled formats only: what quantizing each layer's operands did. */
    scaled?: ScaledLayerCounts[];
    firstNonFinite?: FirstNonFinite | null;
  }[];
  /** The formats analysed, for their limits. */
  formats: readonly Storage[];
  /** The kernel path the runs used. */
  kernelPath: KernelPath;
  /** The ONNX model the network was imported from, for the page to import (see `rerunSection`). */
  onnx?: Uint8Array;
  /** What ran on which images, for the title: `"DeepConvNet on 500 MNIST test images"`. */
  subject: string;
  /** Lines under the title (weights, images). */
  notes: string[];
}

/**
 * The report data of an analyze run. The analysed images are classified again in every format
 * to find those that changed class.
 *
 * @example
 * ```ts
 * import { deepConvNet, f16, f64, layerReports, imageBatch, type LabeledImages } from "../mod.ts";
 * import { analyzeReport } from "./analyze_report.ts";
 * import assert from "node:assert/strict";
 * const net = deepConvNet({ seed: 1 });
 * const set: LabeledImages = { images: new Uint8Array(2 * 784).fill(80), labels: new Uint8Array(2), shape: [2, 1, 28, 28], classes: 10 };
 * const x = imageBatch(set, 0, 2, f64);
 * const layers = layerReports(net, net.to(f16), x);
 * const results = [{ format: "f16", accumulator: "f64", accuracy: 0.5, flipsToRight: 0, flipsToWrong: 0, layers }];
 * const data = await analyzeReport({ net, set, x, referenceAccuracy: 0.5, results, formats: [f16], kernelPath: "typescript", notes: [], subject: "DeepConvNet on 3 images" });
 * assert.equal(data.layerErrors![0].layers.length, layers.length);
 * assert.equal(data.ranges!.formats[0].name, "f16");
 * ```
 */
export async function analyzeReport(input: AnalyzeReportInput): Promise<ReportData> {
  const { net, set, x, results, kernelPath } = input;
  const label = (r: { format: string; accumulator: string }) =>
    r.accumulator === "f64" ? r.format : `${r.format}, ${r.accumulator} sums`;
  const configs: RerunConfig[] = [
    { label: "f64", mode: "store", formats: "f64" },
    ...results.map((r) => ({
      label: label(r),
      mode: "store" as const,
      formats: r.format,
      ...(r.accumulator !== "f64" && { accumulator: r.accumulator }),
    })),
  ];
  const images = x.shape[0];
  const analysed = Array.from({ length: images }, (_, i) => i);
  const everyFlip = await flipImages(net, set, analysed, configs);
  const flips = everyFlip.slice(0, MAX_FLIPS);
  const extra = analysed.slice(0, EXTRA_IMAGES).filter((i) => !flips.some((f) => f.index === i));
  return {
    title: `${input.subject}: where precision is lost`,
    notes: [...input.notes, ...flipsNote(everyFlip.length)],
    accuracy: [
      {
        format: "f64",
        mode: "reference",
        accuracy: input.referenceAccuracy,
        flipsToRight: 0,
        flipsToWrong: 0,
      },
      ...results.map((r) => ({
        format: label(r),
        mode: "store",
        accuracy: r.accuracy,
        flipsToRight: r.flipsToRight,
        flipsToWrong: r.flipsToWrong,
      })),
    ],
    layerErrors: results.map((r) => ({
      format: label(r),
      layers: r.layers.map((l) => ({
        layer: l.layer,
        propagatedDb: l.propagated.sqnrDb,
        isolatedDb: l.isolated.sqnrDb,
      })),
      ...(r.firstNonFinite !== undefined && { firstNonFinite: r.firstNonFinite }),
    })),
    ranges: rangeSection(net, x, input.formats),
    scaledCounts: results.flatMap((r) => r.scaled ? [{ format: label(r), layers: r.scaled }] : []),
    flips,
    rerun: await rerunSection(net, set, {
      indices: [...flips.map((f) => f.index), ...extra],
      configs,
      kernelPath,
      onnx: input.onnx,
    }),
  };
}
