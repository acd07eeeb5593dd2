/**
 * Where a network loses precision: every layer's output in a candidate network compared with
 * the float64 reference, with errors carried from earlier layers (propagated) and without
 * (isolated), and the range counters of every tensor.
 *
 * @module
 */
import type { Sequential } from "../layers/sequential.ts";
import { f64 } from "../layers/storage/f64.ts";
import type { Tensor } from "../layers/tensor.ts";
import type { KernelPath } from "../layers/kernel_path.ts";
import { layerOutputs } from "./_outputs.ts";
import { type ErrorMetrics, errorMetrics } from "./metrics.ts";
import {
  observeRange,
  predictRange,
  type RangeCounts,
  type ValueRange,
  valueRange,
} from "./range.ts";

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

/**
 * Runs `reference` (float64) and `candidate` (the same network in other formats) on `x` and
 * compares every layer's output. The candidate's input is `x` re-stored in its first layer's
 * format.
 *
 * @example An f64 candidate has no error anywhere
 * ```ts
 * import { deepConvNet, f64, layerReports, Tensor } from "@halfprec/halfprec";
 * import assert from "node:assert/strict";
 * const net = deepConvNet({ seed: 1 });
 * const x = Tensor.from(f64, [1, 1, 28, 28], Array.from({ length: 784 }, (_, i) => (i % 9) / 9));
 * const reports = layerReports(net, net.to(f64), x);
 * assert.equal(reports.length, 21);
 * assert.ok(reports.every((r) => r.isolated.maxAbs === 0 && r.propagated.maxAbs === 0));
 * ```
 */
export function layerReports(
  reference: Sequential,
  candidate: Sequential,
  x: Tensor,
): LayerReport[] {
  const wide = layerOutputs(reference, x);
  const input = candidate.layers[0].storage;
  const narrow = layerOutputs(candidate, x.to(input));
  const arithmetic = candidate.arithmetic(input);
  return candidate.layers.map((layer, i) => {
    // Layers keep their outputs only until their next call: copy the input first.
    const input = i === 0 ? x.to(f64) : wide[i - 1];
    const isolated = layer.forward(input).toFloat64();
    const reference = wide[i].toFloat64();
    const stored = narrow[i].toFloat64();
    return {
      layer: layer.name,
      format: layer.storage.name,
      path: arithmetic[i].path,
      accumulation: arithmetic[i].accumulation,
      propagated: errorMetrics(reference, stored, layer.storage),
      isolated: errorMetrics(reference, isolated, layer.storage),
      range: valueRange(reference),
      predicted: predictRange(reference, layer.storage),
      observed: observeRange(reference, stored, layer.storage),
    };
  });
}
