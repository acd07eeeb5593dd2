/**
 * One pass of a float64 network and its candidates over the images, a batch at a time: every
 * layer's output compared (what `layerReports` reports), and the classes and first non-finite
 * value of every run (what `analyzeFormats` adds), so that no network runs twice.
 *
 * @module
 */
import type { Sequential } from "../layers/sequential.ts";
import { argmaxRows, type Tensor } from "../layers/tensor.ts";
import type { Storage } from "../layers/storage/storage.ts";
import { roundImages } from "../layers/rounding_streams.ts";
import { Float64Copies, imageBatches } from "./_outputs.ts";
import { ErrorSums } from "./_error_sums.ts";
import { NonFiniteTally } from "./_non_finite_tally.ts";
import type { FirstNonFinite } from "./first_non_finite.ts";
import type { LayerReport, LayerReportOptions } from "./layer_errors.ts";
import {
  observeRange,
  predictRange,
  type RangeCounts,
  sumRanges,
  type ValueRange,
  valueRange,
} from "./range.ts";

/** What {@linkcode layerPass} found for one candidate. */
export interface CandidateRun {
  /** Every layer's output compared with the reference's. */
  layers: LayerReport[];
  /** The class of every image (from its logits, as `Sequential.classify`). */
  predictions: Int32Array;
  /** The first layer whose output held an infinity or a NaN, `null` when none did. */
  firstNonFinite: FirstNonFinite | null;
}

/** What {@linkcode layerPass} found. */
export interface LayerPass {
  /** The reference's class of every image (from its logits, as `Sequential.classify`). */
  reference: Int32Array;
  /** One entry per candidate, in their order. */
  candidates: CandidateRun[];
}

/**
 * Runs `reference` (float64) and `candidates` (the same network in other formats) on `x`, a
 * batch of images at a time, once each: every candidate layer's output compared with the
 * reference's (as `layerReportsOf`), and every run's classes and first non-finite
 * value. The candidate's input is `x` re-stored in its first layer's format.
 *
 * @throws {RangeError} When `batch` is not a positive integer.
 *
 * @example f16 classifies as float64 does, and holds no infinity
 * ```ts
 * import { deepConvNet, f16, f64, Tensor } from "@halfprec/halfprec";
 * import { layerPass } from "@halfprec/halfprec/analysis";
 * import assert from "node:assert/strict";
 * const net = deepConvNet({ seed: 1 });
 * const x = Tensor.from(f64, [2, 1, 28, 28], Array.from({ length: 1568 }, (_, i) => (i % 9) / 9));
 * const pass = layerPass(net, [net.to(f16)], x, { batch: 1 });
 * assert.deepEqual(pass.reference, net.classify(x));
 * assert.deepEqual(pass.candidates[0].predictions, pass.reference);
 * assert.equal(pass.candidates[0].layers.length, 21);
 * assert.equal(pass.candidates[0].firstNonFinite, null);
 * ```
 */
export function layerPass(
  reference: Sequential,
  candidates: readonly Sequential[],
  x: Tensor,
  options: LayerReportOptions = {},
): LayerPass {
  const { batch = 100 } = options;
  if (!(Number.isInteger(batch) && batch >= 1)) {
    throw new RangeError(`Cannot compare layers: batch is ${batch}, expected a positive integer`);
  }
  const images = x.shape[0];
  const classes = new Int32Array(images);
  const logitsAt = reference.logitsLayers.length - 1;
  const runs = candidates.map((candidate) => ({
    sums: candidate.layers.map(() => new LayerSums()),
    predictions: new Int32Array(images),
    tally: new NonFiniteTally(),
  }));
  // The reference's copies are read by every candidate; each candidate's, only until the next.
  const wideCopies = new Float64Copies(), narrowCopies = new Float64Copies();
  const isolatedCopies = new Float64Copies();
  for (const { start, part } of imageBatches(x, batch)) {
    const wide = wideCopies.layerOutputs(reference, part, false, start);
    classes.set(argmaxRows(wide[logitsAt]), start);
    const wideValues = wide.map(values);
    const wideRanges = wideValues.map(valueRange);
    candidates.forEach((candidate, c) => {
      const { sums, predictions, tally } = runs[c];
      const first = candidate.layers[0].storage;
      const input = roundImages(part, first, first, start);
      tally.batch(input.toFloat64(), part.shape[0], start);
      const narrow = narrowCopies.layerOutputs(candidate, input, false, start);
      predictions.set(argmaxRows(narrow[logitsAt]), start);
      candidate.layers.forEach((layer, i) => {
        // Layers keep their outputs only until their next call: the inputs are copies.
        const isolated = isolatedCopies.copy(layer.forward(i === 0 ? part : wide[i - 1]), i);
        const wideOutput = { values: wideValues[i], range: wideRanges[i] };
        const stored = values(narrow[i]);
        tally.layer(stored);
        sums[i].add(wideOutput, stored, isolated, layer.storage);
      });
    });
  }
  return {
    reference: classes,
    candidates: candidates.map((candidate, c) => {
      const { sums, predictions, tally } = runs[c];
      const arithmetic = candidate.arithmetic(candidate.layers[0].storage);
      const layers = candidate.layers.map((layer, i) => ({
        layer: layer.name,
        format: layer.storage.name,
        path: arithmetic[i].path,
        accumulation: arithmetic[i].accumulation,
        ...sums[i].report(),
      }));
      const firstNonFinite = tally.first(candidate.layers.map((layer) => layer.name));
      return { layers, predictions, firstNonFinite };
    }),
  };
}

/** One layer's sums over the batches so far. */
class LayerSums {
  readonly #propagated = new ErrorSums();
  readonly #isolated = new ErrorSums();
  readonly #range: ValueRange = { minNonzero: Infinity, maxAbs: 0 };
  #predicted: RangeCounts = { total: 0, overflow: 0, underflow: 0, subnormal: 0 };
  #observed: RangeCounts = { total: 0, overflow: 0, underflow: 0, subnormal: 0 };

  /** Adds one batch: the reference's values with their range, the candidate's two runs. */
  add(
    { values: reference, range }: { values: Float64Array; range: ValueRange },
    stored: Float64Array,
    isolated: Float64Array,
    format: Storage,
  ) {
    this.#propagated.add(reference, stored, format);
    this.#isolated.add(reference, isolated, format);
    this.#range.minNonzero = Math.min(this.#range.minNonzero, range.minNonzero);
    this.#range.maxAbs = Math.max(this.#range.maxAbs, range.maxAbs);
    this.#predicted = sumRanges([this.#predicted, predictRange(reference, format)]);
    this.#observed = sumRanges([this.#observed, observeRange(reference, stored, format)]);
  }

  report(): Pick<LayerReport, "propagated" | "isolated" | "range" | "predicted" | "observed"> {
    return {
      propagated: this.#propagated.metrics(),
      isolated: this.#isolated.metrics(),
      range: { ...this.#range },
      predicted: this.#predicted,
      observed: this.#observed,
    };
  }
}

/** The values of one of `Float64Copies`' tensors, read where they are, not copied again. */
function values(output: Tensor): Float64Array {
  return output.data as Float64Array;
}
