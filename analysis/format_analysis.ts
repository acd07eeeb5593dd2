/**
 * Where precision is lost, format by format: for each format, the network stored in it run on
 * the first images beside float64 — every layer's error (propagated and isolated), the range
 * counters of every output and weight, accuracy and flips at the output, and optionally the
 * range counters of one training step's gradients. What `deno task analyze` reports.
 *
 * @module
 */
import { imageBatch, imageCount, type LabeledImages } from "../data/labeled_images.ts";
import type { Sequential } from "../layers/sequential.ts";
import { scalesFromBatch } from "../layers/_scaled_operands.ts";
import { f64 } from "../layers/storage/f64.ts";
import type { Storage } from "../layers/storage/storage.ts";
import type { Tensor } from "../layers/tensor.ts";
import { type GradientRangeReport, gradientRanges } from "./gradient_range.ts";
import type { LayerReport } from "./layer_errors.ts";
import { type LayerPass, layerPass } from "./layer_pass.ts";
import { drawsRandom, PARAMETERS_KEY } from "../layers/rounding_streams.ts";
import type { WorkerPool } from "../workers/worker_pool.ts";
import { flips } from "./mcnemar.ts";
import { classifyFindingNonFinite, type FirstNonFinite } from "./first_non_finite.ts";
import { predictRange, type RangeCounts, type ValueRange, valueRange } from "./range.ts";
import { type ScaledLayerCounts, scaledLayerCounts } from "./scaled_counts.ts";

/** A parameter's float64 range, and what storing it in the format does. */
export interface ParamRange {
  /** The parameter's name (`conv1.W`). */
  name: string;
  /** Its float64 range. */
  range: ValueRange;
  /** What storing it in the format would do. */
  predicted: RangeCounts;
}

/** What one format does to the network. */
export interface FormatAnalysis {
  /** The format's name. */
  format: string;
  /** The format conv and affine round their partial sums to, `f64` for float64 sums. */
  accumulator: string;
  /** Fraction of the images the network in the format classifies correctly. */
  accuracy: number;
  /** Images whose logits hold a NaN: they have no class and count as wrong. */
  unclassified: number;
  /** Images wrong in float64 and right in the format. */
  flipsToRight: number;
  /** Images right in float64 and wrong in the format. */
  flipsToWrong: number;
  /** Every layer's output compared with float64. */
  layers: LayerReport[];
  /**
   * The first layer, in network order, whose output held an infinity or a NaN in the format's
   * run, or `null` when none did.
   */
  firstNonFinite: FirstNonFinite | null;
  /** Every parameter's range. */
  params: ParamRange[];
  /** In a scaled format: what quantization did to each scaled layer's operands. */
  scaled?: ScaledLayerCounts[];
  /** With the `gradients` option: the range counters of one training step's gradients. */
  gradients?: GradientRangeReport[];
}

/** What {@linkcode analyzeFormats} measures beside the layers' errors. */
export interface AnalyzeOptions {
  /** How many of the first images to run (default: all). */
  images?: number;
  /** Round every partial sum of conv and affine to this format (default: float64 sums). */
  accumulator?: Storage;
  /**
   * Also count the gradients of one training step on the first `batch` images (at most all),
   * the loss multiplied by `lossScale` before backward.
   */
  gradients?: { batch: number; lossScale: number };
  /**
   * Workers to run the formats on (those that draw no random numbers; the results are the
   * same as without); without one, everything runs on this thread.
   */
  pool?: WorkerPool;
  /** Called as each format starts (`done` formats finished) and as it finishes. */
  onProgress?: (done: number, format: string) => void;
}

/** The float64 run and what each format does. */
export interface Analysis {
  /** The images run, as a float64 batch. */
  x: Tensor;
  /** Fraction of them float64 classifies correctly. */
  referenceAccuracy: number;
  /** Images float64 gives no class (logits holding a NaN). */
  referenceUnclassified: number;
  /** One entry per format, in the order given. */
  results: FormatAnalysis[];
}

/**
 * `net` (float64) in each of `formats` against itself on the first `options.images` of `set`.
 *
 * @example Two formats on two images
 * ```ts
 * import { deepConvNet, e4m3, f16, type LabeledImages } from "@halfprec/halfprec";
 * import { analyzeFormats } from "@halfprec/halfprec/analysis";
 * import assert from "node:assert/strict";
 *
 * const net = deepConvNet({ seed: 1 });
 * const set: LabeledImages = {
 *   images: new Uint8Array(2 * 784).fill(80),
 *   labels: new Uint8Array(2),
 *   shape: [2, 1, 28, 28],
 *   classes: 10,
 * };
 * const { results } = await analyzeFormats(net, set, [f16, e4m3]);
 * assert.deepEqual(results.map((r) => r.format), ["f16", "e4m3"]);
 * // e4m3 keeps 3 bits of mantissa, f16 10: its error at the logits is larger.
 * const logits = (i: number) => results[i].layers.at(-2)!.propagated.sqnrDb;
 * assert.ok(logits(0) > logits(1));
 * ```
 */
export async function analyzeFormats(
  net: Sequential,
  set: LabeledImages,
  formats: readonly Storage[],
  options: AnalyzeOptions = {},
): Promise<Analysis> {
  const images = options.images ?? imageCount(set);
  const x = imageBatch(set, 0, images, f64);
  const labels = set.labels.subarray(0, images);
  const step = options.gradients;
  const stepImages = step && Math.min(step.batch, imageCount(set));
  const results: FormatAnalysis[] = [];
  if (formats.length > 0) options.onProgress?.(0, formats[0].name);
  const candidates = formats.map((format) => {
    // Parameters from their key, as eval stores them: the same flips and roundings every run.
    format.stream?.restart(PARAMETERS_KEY);
    return net.to(format, options.accumulator);
  });
  // Every format's layers and classes against one float64 run per batch.
  const pass = await layerPassOn(options.pool, net, candidates, x);
  const reference = pass.reference;
  for (const [index, format] of formats.entries()) {
    if (index > 0) options.onProgress?.(index, format.name);
    const candidate = candidates[index];
    const { layers } = pass.candidates[index];
    // A format that draws random numbers classifies in a run of its own as well: what follows
    // (parameter ranges, scaled counts, gradients) rounds from where that run leaves its stream.
    const { predictions, firstNonFinite } = drawsRandom(candidate.layers)
      ? await classifyFindingNonFinite(candidate, set, {
        format,
        limit: images,
        batch: batchOf([candidate]),
      })
      : pass.candidates[index];
    const f = flips(reference, predictions, labels);
    const scaled = scaledLayerCounts(candidate, x.to(format));
    const result: FormatAnalysis = {
      format: format.name,
      accumulator: options.accumulator?.name ?? "f64",
      accuracy: correct(predictions, labels) / images,
      unclassified: unclassified(predictions),
      flipsToRight: f.toRight.length,
      flipsToWrong: f.toWrong.length,
      layers,
      firstNonFinite,
      params: paramRanges(net, format),
      ...(scaled.length > 0 ? { scaled } : {}),
      ...(step && {
        gradients: gradientRanges(
          net,
          candidate,
          imageBatch(set, 0, stepImages!, f64),
          set.labels.subarray(0, stepImages),
          { lossScale: step.lossScale },
        ),
      }),
    };
    options.onProgress?.(index + 1, format.name);
    results.push(result);
  }
  return {
    x,
    referenceAccuracy: correct(reference, labels) / images,
    referenceUnclassified: unclassified(reference),
    results,
  };
}

/**
 * Images per forward pass of `candidates`: a pass over every image at once would hold every
 * activation, and a batch holds each layer's outputs three times in float64 (the reference's,
 * the candidate's and the layer's alone). Where a candidate takes activation scales from its
 * batch, its results depend on the batch, so the pass runs on the batches of 100 that eval and
 * search classify; otherwise any batch gives the same report, and 20 images hold a fifth of the
 * memory.
 */
function batchOf(candidates: readonly Sequential[]): number {
  return candidates.some((candidate) => scalesFromBatch(candidate.layers)) ? 100 : 20;
}

/**
 * `layerPass` of `candidates` against `net`; with a pool, those that draw no random numbers run
 * on its workers while the others run here, where their formats' streams are.
 */
async function layerPassOn(
  pool: WorkerPool | undefined,
  net: Sequential,
  candidates: readonly Sequential[],
  x: Tensor,
): Promise<LayerPass> {
  const options = { batch: batchOf(candidates) };
  if (!pool) return layerPass(net, candidates, x, options);
  const random = candidates.map((candidate) => drawsRandom(candidate.layers));
  // Asked first: the workers run while this thread runs its own share.
  const away = pool.layerPass(net, candidates.filter((_, i) => !random[i]), x, options);
  // Handled when awaited; this keeps a failure while this thread works from being "unhandled".
  away.catch(() => {});
  const rest = candidates.filter((_, i) => random[i]);
  const here = rest.length > 0 ? layerPass(net, rest, x, options).candidates : [];
  const { reference, candidates: there } = await away;
  let h = 0, t = 0;
  return { reference, candidates: random.map((r) => r ? here[h++] : there[t++]) };
}

/** Range of every parameter of the float64 network, and what storing it in `format` does. */
function paramRanges(net: Sequential, format: Storage): ParamRange[] {
  return [...net.params()].map(([name, t]) => {
    const values = t.toFloat64();
    return { name, range: valueRange(values), predicted: predictRange(values, format) };
  });
}

function correct(predictions: Int32Array, labels: ArrayLike<number>): number {
  return predictions.reduce((n, p, i) => n + (p === labels[i] ? 1 : 0), 0);
}

/** Images whose logits hold a NaN (argmaxRows gives them -1): they have no class. */
function unclassified(predictions: Int32Array): number {
  return predictions.reduce((n, p) => p < 0 ? n + 1 : n, 0);
}
