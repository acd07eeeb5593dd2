/**
 * The types of the per-layer format search: the problem it is given (units, formats, bytes,
 * sensitivity, classification), its options, what it logs, its trials and its result.
 *
 * @module
 */
import type { LayerConfig } from "./layer_config.ts";

/** The two image sets of a search: one to choose on, one to confirm the choice on. */
export type SearchSplit = "search" | "holdout";

/**
 * A group of layers that share one format in a search: a layer with parameters and the layers
 * without any that follow it (conv1 and relu1; conv2, relu2 and pool1), so that formats change
 * only where the weights do.
 *
 * @example
 * ```ts
 * import type { SearchUnit } from "@halfprec/halfprec/search";
 * const unit: SearchUnit = { name: "conv2", layers: ["conv2", "relu2", "pool1"] };
 * ```
 */
export interface SearchUnit {
  /** The unit's name: its first layer's. */
  name: string;
  /** Its layers, in order. */
  layers: string[];
}

/**
 * What a search needs to know about a network and its data; `networkSearchProblem` makes one
 * for a `Sequential` and MNIST images, tests make small synthetic ones.
 *
 * @example
 * ```ts
 * import type { SearchProblem } from "@halfprec/halfprec/search";
 * const labels = new Uint8Array([0, 1]);
 * const problem: SearchProblem = {
 *   units: [{ name: "a", layers: ["a"] }],
 *   formats: ["f32", "e4m3"],
 *   settings: {},
 *   bytesPerImage: (config) => (config.default === "e4m3" ? 1 : 4),
 *   sensitivity: () => Promise.resolve([[1e-14, 1e-3]]),
 *   labels: () => labels,
 *   classify: () => Promise.resolve(new Int32Array([0, 1])),
 * };
 * ```
 */
export interface SearchProblem {
  /** The units to give formats to, in network order. */
  units: readonly SearchUnit[];
  /** The candidate format names. */
  formats: readonly string[];
  /** What a log must have been written with to be resumed (weights, image counts...). */
  settings: Readonly<Record<string, string | number>>;
  /** Bytes moved per image by one forward pass in `config`, conversions included. */
  bytesPerImage(config: LayerConfig): number;
  /**
   * The relative noise power (noise / signal energy) each unit adds in each candidate format,
   * `[unit][format]`; `Infinity` where the format breaks the unit (overflow to NaN).
   * `onProgress` gets the formats done. The search runs it while `classify` runs the float64
   * reference on the search split (it never runs two `classify` at once): one on this thread
   * should give way now and then, so that the other goes on.
   */
  sensitivity(onProgress?: (done: number, total: number) => void): Promise<number[][]>;
  /** The labels of a split's images. */
  labels(split: SearchSplit): ArrayLike<number>;
  /**
   * The predicted class of every image of `split` with the network in `config`
   * (`{ default: "f64" }` is the reference); `onProgress` gets the images done.
   */
  classify(
    config: LayerConfig,
    split: SearchSplit,
    onProgress?: (done: number, total: number) => void,
  ): Promise<Int32Array>;
}

/** Why a configuration was evaluated. */
export type TrialReason = "widest" | "narrowest" | "bisect" | "refine" | "frontier" | "confirm";

/**
 * One full evaluation of a configuration on a split, compared with float64 on the same images.
 *
 * @example
 * ```ts
 * import type { Trial } from "@halfprec/halfprec/search";
 * const trial: Trial = {
 *   split: "search", reason: "narrowest", formats: ["e4m3"], config: { default: "e4m3" },
 *   bytesPerImage: 1, accuracy: 0.99, correct: 99, total: 100, deltaPp: -0.1, flipsToRight: 0,
 *   flipsToWrong: 1, mcnemarP: 1, withinTolerance: true, seconds: 0.5,
 * };
 * ```
 */
export interface Trial {
  /** The images it ran on. */
  split: SearchSplit;
  /** Why the search ran it. */
  reason: TrialReason;
  /** The format of each unit, in the order of {@linkcode SearchResult.units}. */
  formats: string[];
  /** The same as a layer configuration (for `deno task eval --config`). */
  config: LayerConfig;
  /** Bytes moved per image by one forward pass, conversions included. */
  bytesPerImage: number;
  /** Fraction of the split's images classified correctly. */
  accuracy: number;
  /** Images classified correctly. */
  correct: number;
  /** Images classified. */
  total: number;
  /** Accuracy minus float64's on the same images, in percentage points. */
  deltaPp: number;
  /** Images float64 got wrong and this configuration right. */
  flipsToRight: number;
  /** Images float64 got right and this configuration wrong. */
  flipsToWrong: number;
  /** Exact McNemar p-value of the difference from float64. */
  mcnemarP: number;
  /** At most the tolerance below float64, with a p-value above the minimum. */
  withinTolerance: boolean;
  /** Wall time of the evaluation, in seconds. */
  seconds: number;
}

/** The float64 reference on one split. */
export interface ReferenceRun {
  /** The images it ran on. */
  split: SearchSplit;
  /** Fraction classified correctly. */
  accuracy: number;
  /** Images classified correctly. */
  correct: number;
  /** Images classified. */
  total: number;
  /** Bytes moved per image in float64. */
  bytesPerImage: number;
  /** Wall time, in seconds. */
  seconds: number;
}

/**
 * The outcome of {@linkcode searchFormats}: plain JSON (numbers, strings, arrays, objects; no
 * `Infinity`), for reports and charts.
 *
 * @example
 * ```ts
 * import type { SearchResult } from "@halfprec/halfprec";
 * const chosenBytes = (result: SearchResult) => result.chosen?.bytesPerImage;
 * ```
 */
export interface SearchResult {
  /** The units, in network order; every `formats` array follows this order. */
  units: SearchUnit[];
  /** The candidate formats. */
  formats: string[];
  /** Largest accuracy drop accepted, in percentage points. */
  tolerancePp: number;
  /** Smallest McNemar p-value accepted. */
  minP: number;
  /** Relative noise power per unit and format (`[unit][format]`); null where infinite. */
  sensitivity: (number | null)[][];
  /** Wall time of measuring the sensitivity, in seconds (in the run that measured it). */
  sensitivitySeconds: number;
  /** Float64 on the search split, and on the held-out split when a choice was confirmed. */
  references: ReferenceRun[];
  /** Every evaluation on the search split, in the order they were made. */
  trials: Trial[];
  /** The trials no other trial beats in both bytes and accuracy, fewest bytes first. */
  frontier: Trial[];
  /** The trial with the fewest bytes within tolerance; null when none is. */
  chosen: Trial | null;
  /** The chosen configuration on the held-out split; null when nothing was chosen. */
  confirmation: Trial | null;
  /** Full evaluations of configurations: on the search split, then on the held-out one. */
  evaluations: { search: number; holdout: number };
  /** How many of the evaluations (and reference runs) came from a previous run's log. */
  resumed: number;
  /** Wall time of this run, in seconds. */
  seconds: number;
}

/**
 * One line of a search log: the settings it ran with, the sensitivity, a float64 reference run
 * (with its predictions, which trials are compared with) or a trial.
 *
 * @example
 * ```ts
 * import type { SearchLogEntry } from "@halfprec/halfprec/search";
 * const start: SearchLogEntry = { type: "start", settings: { formats: "f32,e4m3" } };
 * ```
 */
export type SearchLogEntry =
  | { type: "start"; settings: Record<string, string | number> }
  | { type: "sensitivity"; noise: (number | null)[][]; seconds: number }
  | { type: "reference"; run: ReferenceRun; predictions: number[] }
  | { type: "trial"; trial: Trial };

/** Options of {@linkcode searchFormats}. */
export interface SearchOptions {
  /** Largest accuracy drop from float64 accepted, in percentage points. @default {0.1} */
  tolerancePp?: number;
  /** Smallest McNemar p-value accepted (a smaller one means a real difference). @default {0.05} */
  minP?: number;
  /** Most full evaluations on the search split. @default {12} */
  maxEvaluations?: number;
  /** The entries of an earlier run's log, to resume it. */
  previous?: readonly SearchLogEntry[];
  /** Called with every new log entry, before the search goes on. */
  onLog?: (entry: SearchLogEntry) => void | Promise<void>;
  /** Called as an evaluation progresses: what runs, and images done of its total. */
  onProgress?: (label: string, done: number, total: number) => void;
}
