/**
 * What an HTML report shows, as plain data: every section is optional, and a report holds the
 * sections its command measured.
 *
 * @module
 */
import type { LabeledImages } from "../mod.ts";
import type { KernelPath, LayerSpec } from "../layers/mod.ts";
import type { FirstNonFinite, ScaledLayerCounts } from "../analysis/mod.ts";

/**
 * The whole report; {@linkcode renderReport} turns it into one HTML page.
 *
 * @example A report with one accuracy row
 * ```ts
 * import type { ReportData } from "./report_data.ts";
 * const data: ReportData = {
 *   title: "DeepConvNet in f16",
 *   accuracy: [{ format: "f16", mode: "store", accuracy: 0.9935, flipsToRight: 0, flipsToWrong: 0 }],
 * };
 * ```
 */
export interface ReportData {
  /** The page's title. */
  title: string;
  /** Lines under the title: what was run, on which weights and images. */
  notes?: string[];
  /** Accuracy per format and mode. */
  accuracy?: AccuracyRow[];
  /** Accuracy against the probability of a bit flip, per format and mode (eval --flip-bits). */
  faults?: FaultCurve[];
  /** Per-layer error against float64, one series per format. */
  layerErrors?: LayerErrorSeries[];
  /** Magnitude histograms of the float64 values, drawn against each format's limits. */
  ranges?: RangeSection;
  /** Accuracy against bytes moved of candidate configurations (deno task search). */
  frontier?: FrontierPoint[];
  /** Images that changed class, with what they became. */
  flips?: FlipImage[];
  /** What quantization did to the operands of each scaled format's layers (analyze). */
  scaledCounts?: { format: string; layers: ScaledLayerCounts[] }[];
  /** What the page re-runs in the browser, with the predictions computed in Deno. */
  rerun?: RerunSection;
}

/**
 * One run of an accuracy comparison (the fields eval's `--json` rows have).
 *
 * @example
 * ```ts
 * import type { AccuracyRow } from "./report_data.ts";
 * const row: AccuracyRow = { format: "f64", mode: "reference", accuracy: 0.9935, flipsToRight: 0, flipsToWrong: 0 };
 * ```
 */
export interface AccuracyRow {
  /** Storage format name. */
  format: string;
  /** `seed`, `store`, or `reference` for the float64 baseline. */
  mode: string;
  /** Fraction of images classified correctly. */
  accuracy: number;
  /** Images the baseline got wrong and this run right. */
  flipsToRight: number;
  /** Images the baseline got right and this run wrong. */
  flipsToWrong: number;
  /** McNemar's exact p-value against the baseline. */
  mcnemarP?: number;
  /** Bytes moved per image by one forward pass. */
  bytesPerImage?: number;
}

/**
 * One format's accuracy at each probability of a bit flip.
 *
 * @example
 * ```ts
 * import type { FaultCurve } from "./report_data.ts";
 * const f16: FaultCurve = {
 *   label: "f16 store",
 *   flips: "any bit, weights and activations, seed 1",
 *   points: [{ probability: 1e-6, accuracy: 0.975 }, { probability: 1e-5, accuracy: 0.766 }],
 * };
 * ```
 */
export interface FaultCurve {
  /** The format without its flips, and the mode: `"f16 store"`. */
  label: string;
  /** Which bits flipped where, in words. */
  flips: string;
  /** The runs, by increasing probability. */
  points: { probability: number; accuracy: number }[];
}

/**
 * One format's per-layer error against float64 (from analyze's `layerReports`).
 *
 * @example
 * ```ts
 * import type { LayerErrorSeries } from "./report_data.ts";
 * const f16: LayerErrorSeries = {
 *   format: "f16",
 *   layers: [{ layer: "conv1", propagatedDb: 69.6, isolatedDb: 69.6 }],
 * };
 * ```
 */
export interface LayerErrorSeries {
  /** The format's name, with its accumulator when it has one (`"f16, f16 sums"`). */
  format: string;
  /** Every layer in network order; SQNR is Infinity where the output is exact. */
  layers: { layer: string; propagatedDb: number; isolatedDb: number }[];
  /** Where the format's run first held an infinity or a NaN (`null`: nowhere), when known. */
  firstNonFinite?: FirstNonFinite | null;
}

/**
 * How many values fall in each power-of-two bin of magnitude: bin `i` counts the nonzero values
 * with `floor(log2 |x|) === minExponent + i`.
 *
 * @example
 * ```ts
 * import type { MagnitudeHistogram } from "./report_data.ts";
 * const h: MagnitudeHistogram = { name: "weights", minExponent: -3, counts: [1, 0, 2], zeros: 0 };
 * ```
 */
export interface MagnitudeHistogram {
  /** What was counted (`"weights"`, `"activations"`). */
  name: string;
  /** The exponent of the first bin. */
  minExponent: number;
  /** Values per bin. */
  counts: number[];
  /** Values exactly zero (no bin). */
  zeros: number;
}

/**
 * A format's range, for the range charts (the fields of `Storage.limits`).
 *
 * @example
 * ```ts
 * import type { FormatRange } from "./report_data.ts";
 * const f16: FormatRange = { name: "f16", minSubnormal: 2 ** -24, minNormal: 2 ** -14, maxFinite: 65504 };
 * ```
 */
export interface FormatRange {
  /** The format's name. */
  name: string;
  /** Smallest positive value. */
  minSubnormal: number;
  /** Smallest positive normal value. */
  minNormal: number;
  /** Largest finite value. */
  maxFinite: number;
}

/**
 * The range section: the value histograms and the formats to draw them against.
 *
 * @example
 * ```ts
 * import type { RangeSection } from "./report_data.ts";
 * const section: RangeSection = {
 *   histograms: [{ name: "weights", minExponent: -1, counts: [3], zeros: 0 }],
 *   formats: [{ name: "f16", minSubnormal: 2 ** -24, minNormal: 2 ** -14, maxFinite: 65504 }],
 * };
 * ```
 */
export interface RangeSection {
  /** Histograms drawn on every chart (weights, activations). */
  histograms: MagnitudeHistogram[];
  /** One chart per format. */
  formats: FormatRange[];
}

/**
 * One candidate configuration of a precision search.
 *
 * @example
 * ```ts
 * import type { FrontierPoint } from "./report_data.ts";
 * const point: FrontierPoint = {
 *   label: "conv1 f32, rest f16",
 *   bytes: 450_000,
 *   accuracy: 0.992,
 *   onFrontier: true,
 *   chosen: true,
 * };
 * ```
 */
export interface FrontierPoint {
  /** A short name of the configuration. */
  label: string;
  /** The format of each layer, when the label does not say it all. */
  config?: Record<string, string>;
  /** Bytes moved per image by one forward pass. */
  bytes: number;
  /** Fraction of images classified correctly. */
  accuracy: number;
  /** Whether no other point is both smaller and at least as accurate. */
  onFrontier: boolean;
  /** Whether this is the configuration the search chose. */
  chosen?: boolean;
}

/**
 * An image that changed class in at least one run.
 *
 * @example
 * ```ts
 * import type { FlipImage } from "./report_data.ts";
 * const flip: FlipImage = {
 *   index: 1234,
 *   label: 7,
 *   picture: { width: 28, height: 28, channels: 1, pixels: new Uint8Array(784) },
 *   reference: 7,
 *   changes: [{ run: "bf16 store", prediction: 1 }],
 * };
 * ```
 */
export interface FlipImage {
  /** Its index in the test set. */
  index: number;
  /** Its true class. */
  label: number;
  /** What it looks like. */
  picture: Picture;
  /** The float64 network's prediction. */
  reference: number;
  /** The runs that predicted another class, and what they predicted. */
  changes: { run: string; prediction: number }[];
}

/**
 * An input image as the page draws it.
 *
 * @example
 * ```ts
 * import type { Picture } from "./report_data.ts";
 * const dot: Picture = { width: 1, height: 1, channels: 3, pixels: new Uint8Array([255, 0, 0]) };
 * ```
 */
export interface Picture {
  /** Pixels per row. */
  width: number;
  /** Rows. */
  height: number;
  /** 1: grey; 3: red, green and blue, interleaved. */
  channels: 1 | 3;
  /** The rows, top to bottom, 0 (black) to 255. */
  pixels: Uint8Array;
}

/**
 * One configuration the page re-runs: a format for the whole network or one per layer, applied
 * like `withPrecision` (`seed`) or `Sequential.to` (`store`).
 *
 * @example
 * ```ts
 * import type { RerunConfig } from "./report_data.ts";
 * const mixed: RerunConfig = { label: "mixed", mode: "store", formats: { conv1: "f32" }, otherwise: "f16" };
 * ```
 */
export interface RerunConfig {
  /** The name shown on the page (`"f16 store"`). */
  label: string;
  /** `seed` rounds weights and input and keeps float64; `store` stores everything. */
  mode: "seed" | "store";
  /** One format for every layer, or formats by layer name (`store` only). */
  formats: string | Record<string, string>;
  /** With formats by layer: the format of the layers not named. @default {"f64"} */
  otherwise?: string;
  /** The format conv and affine layers round their partial sums to. */
  accumulator?: string;
}

/**
 * What the page re-runs in the browser: a network, images, configurations, and the classes
 * Deno predicted for each image in each configuration.
 *
 * @example
 * ```ts
 * import type { RerunSection } from "./report_data.ts";
 * const empty: RerunSection = {
 *   layers: [],
 *   weights: new Uint8Array(),
 *   kernelPath: "wasm",
 *   indices: [],
 *   images: { images: new Uint8Array(), shape: [0, 1, 28, 28], labels: new Uint8Array(), classes: 10 },
 *   runs: [],
 * };
 * ```
 */
export interface RerunSection {
  /** The float64 network's layers (`networkSpec(net).layers`), unless `onnx` holds them. */
  layers?: LayerSpec[];
  /**
   * Its parameters as a safetensors file, in the narrowest format that holds them exactly,
   * unless `onnx` holds them.
   */
  weights?: Uint8Array;
  /** The ONNX model the network was imported from: the page imports it again. */
  onnx?: Uint8Array;
  /**
   * With `onnx`: the static activation scales the run was calibrated with (each conv and affine
   * layer's `activationAmax`, by name), which the model does not hold; layer specs hold them.
   */
  activationAmax?: Record<string, number>;
  /** The kernel path Deno ran, which the page runs too. */
  kernelPath: KernelPath;
  /** Where each embedded image is in the data the report was made from. */
  indices: number[];
  /** The embedded images, in the order of `indices`. */
  images: LabeledImages;
  /** The configurations, each with Deno's prediction for every image, in image order. */
  runs: { config: RerunConfig; predictions: number[] }[];
}
