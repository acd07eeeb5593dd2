/**
 * A format search over a real network and labelled images: the units, the bytes, the
 * sensitivity and the classification that `searchFormats` asks for.
 *
 * @module
 */
import {
  imageBatch,
  imageCount,
  inputShape,
  type LabeledImages,
  selectImages,
} from "../data/labeled_images.ts";
import type { Sequential } from "../layers/sequential.ts";
import { storageByName } from "../layers/storage/formats.ts";
import { f64 } from "../layers/storage/f64.ts";
import type { WorkerPool } from "../workers/worker_pool.ts";
import { bytesMoved, totalBytes } from "./bytes.ts";
import { classifyImages } from "./evaluate.ts";
import { applyLayerConfig } from "./layer_config.ts";
import { isolatedNoise } from "./_isolated_noise.ts";
import type { SearchProblem, SearchSplit, SearchUnit } from "./search.ts";
import { type ActivationScales, calibrate } from "./calibrate.ts";

/** Options of {@linkcode networkSearchProblem}. */
export interface NetworkSearchOptions {
  /** Candidate format names. */
  formats: readonly string[];
  /**
   * Images to choose on, taken evenly spaced across the set; the others are held out to
   * confirm the choice. @default {half the set}
   */
  searchImages?: number;
  /** Search images whose per-layer errors measure the sensitivity. @default {50} */
  sensitivityImages?: number;
  /** Images per forward pass. @default {100} */
  batch?: number;
  /** Workers to classify on; without one, everything runs on this thread. */
  pool?: WorkerPool;
  /**
   * Static activation scales: calibrate on this many search images, the first of the search
   * split (see `calibrate`); never on a held-out image. @default {dynamic scales}
   */
  calibrationImages?: number;
  /** More settings a resumed log must match (the weights file, say). */
  settings?: Readonly<Record<string, string | number>>;
}

/**
 * The format search problem of the float64 network `net` on the labelled images of `set`.
 * Units are a layer with parameters and the parameterless layers after it (see
 * {@linkcode SearchUnit}); a unit's sensitivity to a format is the sum over its layers of the
 * relative noise power (squared relative L2 error) of the layer alone in that format given the
 * float64 input (the isolated error of `layerReports`). `activationScales` says how the scaled formats scale
 * their inputs.
 *
 * @throws {RangeError} When a format is unknown, the split sizes do not fit the set, or the
 * calibration images are more than the search split holds.
 *
 * @example
 * ```ts
 * import { deepConvNet, type LabeledImages, networkSearchProblem } from "@halfprec/halfprec";
 * import assert from "node:assert/strict";
 * const set: LabeledImages = { images: new Uint8Array(10 * 784), labels: new Uint8Array(10), shape: [10, 1, 28, 28], classes: 10 };
 * const problem = networkSearchProblem(deepConvNet(), set, { formats: ["f32", "e4m3"], searchImages: 4 });
 * assert.deepEqual(problem.units.map((u) => u.name), ["conv1", "conv2", "conv3", "conv4", "conv5", "conv6", "affine1", "affine2"]);
 * assert.deepEqual(problem.units[1].layers, ["conv2", "relu2", "pool1"]);
 * assert.equal(problem.labels("holdout").length, 6);
 * ```
 */
export function networkSearchProblem(
  float64: Sequential,
  set: LabeledImages,
  options: NetworkSearchOptions,
): SearchProblem & { activationScales: ActivationScales } {
  const { formats, batch = 100, pool } = options;
  formats.forEach((name) => storageByName(name));
  const count = imageCount(set);
  const searchImages = options.searchImages ?? Math.floor(count / 2);
  if (!(Number.isInteger(searchImages) && searchImages >= 1 && searchImages < count)) {
    throw new RangeError(
      `Cannot split ${count} images: searchImages is ${searchImages}, expected 1 to ` +
        `${count - 1} so that some are held out`,
    );
  }
  const sensitivityImages = Math.min(options.sensitivityImages ?? 50, searchImages);
  const splits = splitEvenly(set, searchImages);
  const { calibrationImages } = options;
  const { net, scales } = calibrationImages === undefined
    ? { net: float64, scales: { mode: "dynamic" } as const }
    : calibrate(float64, splits.search, {
      images: calibrationImages,
      source: "the search split",
      evaluated: splits.holdout,
      batch,
    });
  const units = searchUnits(net);
  const bytes = new Map<string, number>();
  return {
    units,
    formats,
    settings: {
      ...options.settings,
      searchImages,
      holdoutImages: count - searchImages,
      sensitivityImages,
      ...(calibrationImages !== undefined && { calibrationImages }),
    },
    activationScales: scales,
    bytesPerImage: (config) => {
      // The search asks for many configurations' bytes, and each copy rounds every weight.
      const key = JSON.stringify(config);
      if (!bytes.has(key)) {
        const configured = applyLayerConfig(net, config);
        const input = configured.layers[0].storage;
        bytes.set(key, totalBytes(bytesMoved(configured, inputShape(set, batch), input)) / batch);
      }
      return bytes.get(key)!;
    },
    sensitivity: async (onProgress) => {
      const x = imageBatch(splits.search, 0, sensitivityImages, f64);
      onProgress?.(0, formats.length);
      const candidates = formats.map((name) => net.to(storageByName(name)));
      const byFormat = await isolatedNoise(net, candidates, x, {
        onProgress: (done) => onProgress?.(done, formats.length),
      });
      return units.map((unit) =>
        byFormat.map((noise) => unit.layers.reduce((sum, layer) => sum + noise.get(layer)!, 0))
      );
    },
    labels: (split: SearchSplit) => splits[split].labels,
    classify: async (config, split, onProgress) => {
      const configured = applyLayerConfig(net, config);
      await pool?.load(configured);
      const images = splits[split];
      return classifyImages(pool ?? configured, images, {
        format: configured.layers[0].storage,
        batch,
        onProgress: (done) => onProgress?.(done, imageCount(images)),
      });
    },
  };
}

/** The search units of `net`: each layer with parameters and the parameterless ones after it. */
function searchUnits(net: Sequential): SearchUnit[] {
  const units: SearchUnit[] = [];
  for (const layer of net.layers) {
    const owns = Object.keys(layer.params).length > 0;
    if (owns || units.length === 0) units.push({ name: layer.name, layers: [layer.name] });
    else units.at(-1)!.layers.push(layer.name);
  }
  return units;
}

/** `set` cut into `searchImages` evenly spaced images and the rest, both in file order. */
function splitEvenly(
  set: LabeledImages,
  searchImages: number,
): Record<SearchSplit, LabeledImages> {
  const search: number[] = [], holdout: number[] = [];
  const count = imageCount(set);
  for (let i = 0; i < count; i++) {
    // Image i is a search image when the running share of search images crosses an integer.
    const take = Math.floor(((i + 1) * searchImages) / count) >
      Math.floor((i * searchImages) / count);
    (take ? search : holdout).push(i);
  }
  return { search: selectImages(set, search), holdout: selectImages(set, holdout) };
}
