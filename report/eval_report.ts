/**
 * The report of `deno task eval`: accuracy per format and mode, the images that changed class,
 * and a browser re-run of every run on those images and a few others.
 *
 * @module
 */
import type { LabeledImages, PrecisionResult, Sequential } from "../mod.ts";
import type { KernelPath } from "../layers/mod.ts";
import { describeFirstNonFinite } from "../analysis/mod.ts";
import type { FaultCurve, ReportData, RerunConfig } from "./report_data.ts";
import { flipImages } from "./flip_images.ts";
import { rerunSection } from "./rerun.ts";

/** Flipped images shown and re-run at most: enough to see, few enough to keep the page small. */
export const MAX_FLIPS = 48;
/** Test images re-run in the browser besides the flipped ones. */
export const EXTRA_IMAGES = 16;

/**
 * A line for the report's notes when there are more flipped images than it shows.
 *
 * @example
 * ```ts
 * import { flipsNote } from "./eval_report.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(flipsNote(3), []);
 * assert.match(flipsNote(100)[0], /first 48 of the 100/);
 * ```
 */
export function flipsNote(flips: number): string[] {
  return flips > MAX_FLIPS
    ? [`The first ${MAX_FLIPS} of the ${flips} images that changed class are shown and re-run.`]
    : [];
}

/** What {@linkcode evalReport} reports on. */
export interface EvalReportInput {
  /** The float64 network. */
  net: Sequential;
  /** The test set. */
  set: LabeledImages;
  /** What `comparePrecisions` returned, the baseline first. */
  results: readonly PrecisionResult[];
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
 * The report data of an eval run. The flipped images are classified again in every run so
 * that each shows what it became.
 *
 * @example
 * ```ts
 * import { comparePrecisions, deepConvNet, f16, type LabeledImages } from "../mod.ts";
 * import { evalReport } from "./eval_report.ts";
 * import assert from "node:assert/strict";
 * const net = deepConvNet({ seed: 1 });
 * const set: LabeledImages = { images: new Uint8Array(3 * 784).fill(50), labels: new Uint8Array(3), shape: [3, 1, 28, 28], classes: 10 };
 * const results = await comparePrecisions(net, set, { formats: [f16], modes: ["store"] });
 * const data = await evalReport({ net, set, results, kernelPath: "wasm", notes: [], subject: "DeepConvNet on 3 images" });
 * assert.deepEqual(data.accuracy!.map((r) => r.mode), ["reference", "store"]);
 * assert.equal(data.rerun!.runs.length, 2);
 * ```
 */
export async function evalReport(input: EvalReportInput): Promise<ReportData> {
  const { net, set, results, kernelPath } = input;
  const configs: RerunConfig[] = results.map((r) => ({
    label: r.mode === "reference" ? r.format : `${r.format} ${r.mode}`,
    mode: r.mode === "seed" ? "seed" : "store",
    formats: r.format,
  }));
  const everyFlip = [...new Set(results.flatMap((r) => [...r.flips.toRight, ...r.flips.toWrong]))]
    .sort((a, b) => a - b);
  const flipped = everyFlip.slice(0, MAX_FLIPS);
  const flips = await flipImages(net, set, flipped, configs);
  const total = results[0]?.total ?? 0;
  const extra = Array.from({ length: Math.min(EXTRA_IMAGES, total) }, (_, i) => i)
    .filter((i) => !flipped.includes(i));
  return {
    title: `${input.subject}: accuracy per format`,
    notes: [...input.notes, ...flipsNote(everyFlip.length), ...nonFiniteNotes(results)],
    accuracy: results.map((r) => ({
      format: r.format,
      mode: r.mode,
      accuracy: r.accuracy,
      flipsToRight: r.flipsToRight,
      flipsToWrong: r.flipsToWrong,
      mcnemarP: r.mcnemarP,
      bytesPerImage: r.bytesPerImage,
    })),
    ...faultCurves(results),
    flips,
    rerun: await rerunSection(net, set, {
      indices: [...flipped, ...extra],
      configs,
      kernelPath,
      onnx: input.onnx,
    }),
  };
}

/** With `firstNonFinite` in the results: where each run first held an infinity or a NaN. */
function nonFiniteNotes(results: readonly PrecisionResult[]): string[] {
  return results.filter((r) => r.firstNonFinite !== undefined).map((r) =>
    `First infinity or NaN, ${r.format} ${r.mode}: ${describeFirstNonFinite(r.firstNonFinite!)}`
  );
}

/**
 * The runs with bit flips as curves of accuracy against the probability, one per format, mode
 * and kind of flip; none unless some curve has two probabilities.
 */
function faultCurves(results: readonly PrecisionResult[]): { faults?: FaultCurve[] } {
  const curves = new Map<string, FaultCurve>();
  for (const r of results) {
    if (!r.bitFlips) continue;
    const { probability, field, target, seed } = r.bitFlips;
    const label = `${r.format.slice(0, r.format.lastIndexOf("+flip"))} ${r.mode}`;
    const flips = `${field === "any" ? "any bit" : "significand bits"}, ` +
      `${target === "both" ? "weights and activations" : target}, seed ${seed}`;
    const key = `${label} (${flips})`;
    if (!curves.has(key)) curves.set(key, { label, flips, points: [] });
    curves.get(key)!.points.push({ probability, accuracy: r.accuracy });
  }
  const faults = [...curves.values()].filter((c) => c.points.length > 1);
  for (const c of faults) c.points.sort((a, b) => a.probability - b.probability);
  return faults.length > 0 ? { faults } : {};
}
