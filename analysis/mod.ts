/**
 * Measuring what a format does to a network, as the `@halfprec/halfprec/analysis` entry point:
 * put a float64 network in a format (`withPrecision`, one per mode), classify images with it
 * (`classifyImages`, `comparePrecisions`: accuracy, the images that changed class, McNemar's
 * test), where precision is lost layer by layer (`layerReports`, `analyzeFormats`), what
 * overflows or underflows (`predictRange`, `observeRange`, `gradientRanges`), bytes moved
 * (`bytesMoved`), stochastic rounding over seeds (`seedSpreads`), per-layer formats from a
 * configuration (`parseLayerConfig`, `applyLayerConfig`) and static activation scales
 * (`calibrate`). The search of per-layer formats is `@halfprec/halfprec/search`.
 *
 * @example f16 against float64 on a few images
 * ```ts
 * import { comparePrecisions } from "@halfprec/halfprec/analysis";
 * import { deepConvNet, f16 } from "@halfprec/halfprec/layers";
 * import type { LabeledImages } from "@halfprec/halfprec/data";
 * import assert from "node:assert/strict";
 *
 * const set: LabeledImages = {
 *   images: new Uint8Array(4 * 784).fill(60),
 *   labels: new Uint8Array(4),
 *   shape: [4, 1, 28, 28],
 *   classes: 10,
 * };
 * const [reference, seed, store] = await comparePrecisions(deepConvNet({ seed: 1 }), set, {
 *   formats: [f16],
 * });
 * assert.deepEqual([reference.format, seed.mode, store.mode], ["f64", "seed", "store"]);
 * ```
 *
 * @module
 */
export * from "./evaluate.ts";
export * from "./mcnemar.ts";
export * from "./bytes.ts";
export * from "./metrics.ts";
export * from "./range.ts";
export * from "./seed_spread.ts";
export * from "./gradient_range.ts";
export * from "./layer_errors.ts";
export * from "./layer_pass.ts";
export * from "./format_analysis.ts";
export * from "./first_non_finite.ts";
export * from "./layer_config.ts";
export * from "./calibrate.ts";
export * from "./scaled_counts.ts";
export * from "./usable_format.ts";
