/**
 * The report of `deno task search`: every configuration evaluated, as bytes moved against
 * accuracy with the Pareto frontier joined and the chosen one marked, the chosen configuration
 * against float64 on the held-out images, and a browser re-run of both on a few images.
 *
 * @module
 */
import type { LabeledImages, SearchResult, Sequential } from "../mod.ts";
import type { KernelPath } from "../layers/mod.ts";
import { compactLayerConfig } from "../analysis/mod.ts";
import type { SearchUnit } from "../analysis/search.ts";
import { imageCount } from "../data/mod.ts";
import type { AccuracyRow, ReportData, RerunConfig } from "./report_data.ts";
import { EXTRA_IMAGES } from "./eval_report.ts";
import { rerunSection } from "./rerun.ts";

/** What {@linkcode searchReport} reports on. */
export interface SearchReportInput {
  /** The float64 network. */
  net: Sequential;
  /** The images searched and held out (the first of them are re-run in the browser). */
  set: LabeledImages;
  /** What `searchFormats` returned. */
  result: SearchResult;
  /** The kernel path the evaluations used. */
  kernelPath: KernelPath;
  /** The ONNX model the network was imported from, for the page to import (see `rerunSection`). */
  onnx?: Uint8Array;
  /** What ran on which images, for the title: `"DeepConvNet on 500 MNIST test images"`. */
  subject: string;
  /** Lines under the title (weights, tolerance, evaluations, time). */
  notes: string[];
}

/**
 * A short name of the configuration giving `formats` to `units`: `"all e4m3"`, or the units
 * not in the most common format, runs of neighbours joined, and then that format
 * (`"conv1–conv3 f32, affine2 f16, rest bf16"`).
 *
 * @example
 * ```ts
 * import { configLabel } from "./search_report.ts";
 * import assert from "node:assert/strict";
 * const units = ["conv1", "conv2", "conv3", "conv4", "affine1", "affine2"].map((name) => ({ name, layers: [name] }));
 * assert.equal(configLabel(units, ["f32", "f32", "bf16", "bf16", "f16", "bf16"]), "conv1–conv2 f32, affine1 f16, rest bf16");
 * assert.equal(configLabel(units, Array(6).fill("e4m3")), "all e4m3");
 * ```
 */
export function configLabel(units: readonly SearchUnit[], formats: readonly string[]): string {
  const rest = compactLayerConfig(units.map((u) => u.name), formats).default;
  const runs: { first: number; last: number }[] = [];
  formats.forEach((format, i) => {
    if (format === rest) return;
    const run = runs.at(-1);
    if (run && run.last === i - 1 && formats[run.first] === format) run.last = i;
    else runs.push({ first: i, last: i });
  });
  const parts = runs.map(({ first, last }) =>
    `${units[first].name}${last > first ? `–${units[last].name}` : ""} ${formats[first]}`
  );
  return parts.length === 0 ? `all ${rest}` : `${parts.join(", ")}, rest ${rest}`;
}

/**
 * The report data of a search: the frontier of every trial on the search split, the chosen
 * configuration and float64 on the held-out split (when one was chosen), and a re-run of
 * float64 and the chosen configuration on the first images of `set`.
 *
 * @example
 * ```ts
 * import { deepConvNet, type LabeledImages, type SearchResult } from "../mod.ts";
 * import type { Trial } from "../analysis/search.ts";
 * import { searchReport } from "./search_report.ts";
 * import assert from "node:assert/strict";
 * const set: LabeledImages = { images: new Uint8Array(4 * 784).fill(60), labels: new Uint8Array(4), shape: [4, 1, 28, 28], classes: 10 };
 * const trial = (formats: string[], accuracy: number, split: "search" | "holdout" = "search"): Trial => ({
 *   split, reason: "widest", formats, config: { default: formats[0] }, bytesPerImage: formats[0] === "f32" ? 8e5 : 2e5,
 *   accuracy, correct: 2 * accuracy, total: 2, deltaPp: 0, flipsToRight: 0, flipsToWrong: 0, mcnemarP: 1,
 *   withinTolerance: true, seconds: 1,
 * });
 * const wide = trial(["f32"], 1), narrow = trial(["bf16"], 1);
 * const reference = { accuracy: 1, correct: 2, total: 2, bytesPerImage: 16e5, seconds: 1 };
 * const result: SearchResult = {
 *   units: [{ name: "conv1", layers: deepConvNet().layers.map((l) => l.name) }], formats: ["f32", "bf16"],
 *   tolerancePp: 0.1, minP: 0.05, sensitivity: [[1e-14, 1e-5]], sensitivitySeconds: 1,
 *   references: [{ split: "search", ...reference }, { split: "holdout", ...reference }],
 *   trials: [wide, narrow], frontier: [narrow], chosen: narrow, confirmation: trial(["bf16"], 1, "holdout"),
 *   evaluations: { search: 2, holdout: 1 }, resumed: 0, seconds: 3,
 * };
 * const data = await searchReport({ net: deepConvNet({ seed: 1 }), set, result, kernelPath: "wasm", notes: [], subject: "DeepConvNet on 3 images" });
 * assert.deepEqual(data.frontier!.map((p) => [p.label, p.onFrontier, p.chosen]), [
 *   ["all f32", false, false],
 *   ["all bf16", true, true],
 * ]);
 * assert.deepEqual(data.rerun!.runs.map((r) => r.config.label), ["f64", "chosen: all bf16"]);
 * ```
 */
export async function searchReport(input: SearchReportInput): Promise<ReportData> {
  const { net, set, result, kernelPath } = input;
  const { units, chosen, confirmation } = result;
  const [search, holdout] = result.references;
  const frontier = new Set(result.frontier);
  const configs: RerunConfig[] = [{ label: "f64", mode: "store", formats: "f64" }];
  if (chosen) {
    configs.push({
      label: `chosen: ${configLabel(units, chosen.formats)}`,
      mode: "store",
      formats: Object.fromEntries(
        units.flatMap((unit, i) => unit.layers.map((layer) => [layer, chosen.formats[i]])),
      ),
    });
  }
  const accuracy: AccuracyRow[] | undefined = confirmation && holdout
    ? [
      {
        format: "f64",
        mode: "reference",
        accuracy: holdout.accuracy,
        flipsToRight: 0,
        flipsToWrong: 0,
        bytesPerImage: holdout.bytesPerImage,
      },
      {
        format: "chosen",
        mode: "store",
        accuracy: confirmation.accuracy,
        flipsToRight: confirmation.flipsToRight,
        flipsToWrong: confirmation.flipsToWrong,
        mcnemarP: confirmation.mcnemarP,
        bytesPerImage: confirmation.bytesPerImage,
      },
    ]
    : undefined;
  return {
    title: `${input.subject}: bytes moved against accuracy`,
    notes: [
      ...input.notes,
      `Bytes moved against accuracy: every configuration evaluated on the ${search.total} ` +
      `images of the search split (f64: ${(100 * search.accuracy).toFixed(2)} %, ` +
      `${(search.bytesPerImage / 1e6).toFixed(3)} MB per image).` +
      (accuracy
        ? ` Accuracy: the chosen configuration and f64 on the ${holdout.total} held-out ` +
          "images, which played no part in the choice."
        : ""),
    ],
    accuracy,
    frontier: result.trials.map((t) => ({
      label: configLabel(units, t.formats),
      config: Object.fromEntries(units.map((unit, i) => [unit.name, t.formats[i]])),
      bytes: t.bytesPerImage,
      accuracy: t.accuracy,
      onFrontier: frontier.has(t),
      chosen: t === chosen,
    })),
    rerun: await rerunSection(net, set, {
      indices: Array.from({ length: Math.min(EXTRA_IMAGES, imageCount(set)) }, (_, i) => i),
      configs,
      kernelPath,
      onnx: input.onnx,
    }),
  };
}
