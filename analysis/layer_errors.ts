/**
 * Where a network loses precision: every layer's output in a candidate network compared with
 * the float64 reference, with errors carried from earlier layers (propagated) and without
 * (isolated), and the range counters of every tensor.
 *
 * @module
 */
import type { Sequential } from "../layers/sequential.ts";
import type { Tensor } from "../layers/tensor.ts";
import type { KernelPath } from "../layers/kernel_path.ts";
import type { ErrorMetrics } from "./metrics.ts";
import type { RangeCounts, ValueRange } from "./range.ts";
import { layerPass } from "./layer_pass.ts";

/** One layer's output compared with the reference. */
export interface LayerReport {
  /** The layer's name (`conv3`). */
  layer: string;
  /** The candidate layer's storage format. */
  format: string;
  /** The code the candidate layer ran on in the propagated run (see `Arithmetic`). */
  path: KernelPath;
  /** How the candidate layer's sums were accumulated there (see `Arithmetic`). */
  accumulation: string;
  /** The whole candidate network run on the input: errors of earlier layers included. */
  propagated: ErrorMetrics;
  /** Only this layer in the candidate format, given the reference input. */
  isolated: ErrorMetrics;
  /** The float64 range of the reference output. */
  range: ValueRange;
  /** What storing the reference output in the format would do. */
  predicted: RangeCounts;
  /** What the candidate run's output shows against the reference. */
  observed: RangeCounts;
}

/** Options of {@linkcode layerReports}. */
export interface LayerReportOptions {
  /**
   * Images per forward pass: memory is bounded by the batch, not by the images (the metrics
   * are summed batch by batch, in image order, so they do not depend on it, unless a layer takes
   * its activations' scale from the batch). @default {100}
   */
  batch?: number;
}

/**
 * Runs `reference` (float64) and `candidate` (the same network in other formats) on `x`, a
 * batch of images at a time, and compares every layer's output. The candidate's input is `x`
 * re-stored in its first layer's format.
 *
 * @throws {RangeError} When `batch` is not a positive integer.
 *
 * @example An f64 candidate has no error anywhere
 * ```ts
 * import { deepConvNet, f64, layerReports, Tensor } from "@halfprec/halfprec";
 * import assert from "node:assert/strict";
 * const net = deepConvNet({ seed: 1 });
 * const x = Tensor.from(f64, [2, 1, 28, 28], Array.from({ length: 1568 }, (_, i) => (i % 9) / 9));
 * const reports = layerReports(net, net.to(f64), x, { batch: 1 });
 * assert.equal(reports.length, 21);
 * assert.ok(reports.every((r) => r.isolated.maxAbs === 0 && r.propagated.maxAbs === 0));
 * ```
 */
export function layerReports(
  reference: Sequential,
  candidate: Sequential,
  x: Tensor,
  options: LayerReportOptions = {},
): LayerReport[] {
  return layerReportsOf(reference, [candidate], x, options)[0];
}

/**
 * {@linkcode layerReports} of several candidates at once, in their order: the reference runs
 * once per batch for all of them (its outputs, their float64 values and ranges are shared), so
 * n candidates cost n + 1 passes of the network instead of 2n.
 *
 * @throws {RangeError} When `batch` is not a positive integer.
 *
 * @example The same reports as one candidate at a time
 * ```ts
 * import { deepConvNet, f16, Tensor } from "@halfprec/halfprec";
 * import { bf16, f64 } from "@halfprec/halfprec/formats";
 * import { layerReports, layerReportsOf } from "@halfprec/halfprec/analysis";
 * import assert from "node:assert/strict";
 * const net = deepConvNet({ seed: 1 });
 * const x = Tensor.from(f64, [2, 1, 28, 28], Array.from({ length: 1568 }, (_, i) => (i % 9) / 9));
 * const [half, brain] = layerReportsOf(net, [net.to(f16), net.to(bf16)], x, { batch: 1 });
 * assert.deepEqual(half, layerReports(net, net.to(f16), x, { batch: 1 }));
 * assert.deepEqual(brain, layerReports(net, net.to(bf16), x, { batch: 1 }));
 * ```
 */
export function layerReportsOf(
  reference: Sequential,
  candidates: readonly Sequential[],
  x: Tensor,
  options: LayerReportOptions = {},
): LayerReport[][] {
  return layerPass(reference, candidates, x, options).candidates.map((run) => run.layers);
}
