/**
 * Classifying a labelled image set with a network held in a given precision.
 *
 * @module
 */
import type { Sequential } from "../layers/sequential.ts";
import type { Storage } from "../layers/storage/storage.ts";
import { f64 } from "../layers/storage/f64.ts";
import { mnistImages, type MnistSet } from "../data/mnist.ts";

/**
 * How a format is applied to a float64 network.
 *
 * - `seed`: weights and input images rounded to the format in place, every array still float64
 *   and every layer output float64: the classic `param[...] = param.astype(np.float16)`.
 * - `store`: weights, input and every layer's output stored in the format.
 */
export type PrecisionMode = "seed" | "store";

/** The modes, in report order. */
export const PRECISION_MODES: readonly PrecisionMode[] = ["seed", "store"];

/**
 * A copy of the float64 network `net` with `format` applied in `mode` (see
 * {@linkcode PrecisionMode}); `net` is unchanged.
 *
 * @example
 * ```ts
 * import { deepConvNet, f16, f64, withPrecision } from "@halfprec/halfprec";
 * import assert from "node:assert/strict";
 * const net = deepConvNet({ seed: 1 });
 * const seed = withPrecision(net, f16, "seed");
 * assert.equal(seed.layer("conv1").storage, f64);
 * assert.equal(seed.params().get("W1")!.toFloat64()[0], f16.round(net.params().get("W1")!.toFloat64()[0]));
 * assert.equal(withPrecision(net, f16, "store").layer("conv1").storage, f16);
 * ```
 */
export function withPrecision(net: Sequential, format: Storage, mode: PrecisionMode): Sequential {
  if (mode === "store") return net.to(format);
  const seeded = net.to(f64);
  seeded.roundParams(format);
  return seeded;
}

/** Options of {@linkcode classifyImages}. */
export interface ClassifyOptions {
  /** Format the input images are rounded to. @default {f64} */
  format?: Storage;
  /** `store` holds the input in `format`; `seed` rounds it and keeps float64. @default {"store"} */
  mode?: PrecisionMode;
  /** Images per forward pass. @default {100} */
  batch?: number;
  /** Classify only the first `limit` images. @default {all} */
  limit?: number;
  /** Called after every batch with the number of images done so far. */
  onProgress?: (done: number) => void;
}

/**
 * The predicted class of each image of `set` (the first `limit`), batch by batch.
 *
 * @example
 * ```ts
 * import { classifyImages, deepConvNet, type MnistSet } from "@halfprec/halfprec";
 * import assert from "node:assert/strict";
 * const set: MnistSet = { images: new Uint8Array(3 * 784), labels: new Uint8Array(3), count: 3 };
 * assert.equal(classifyImages(deepConvNet(), set, { batch: 2 }).length, 3);
 * ```
 */
export function classifyImages(
  net: Sequential,
  set: MnistSet,
  options: ClassifyOptions = {},
): Int32Array {
  const { format = f64, mode = "store", batch = 100, limit = set.count, onProgress } = options;
  if (!(Number.isInteger(batch) && batch >= 1)) {
    throw new RangeError(`Cannot classify: batch is ${batch}, expected a positive integer`);
  }
  if (!(Number.isInteger(limit) && limit >= 0 && limit <= set.count)) {
    throw new RangeError(
      `Cannot classify: limit is ${limit}, expected an integer from 0 to ${set.count}`,
    );
  }
  const predictions = new Int32Array(limit);
  for (let start = 0; start < limit; start += batch) {
    const count = Math.min(batch, limit - start);
    const input = mnistImages(set, start, count, mode === "store" ? format : f64);
    if (mode === "seed") input.roundTo(format);
    predictions.set(net.classify(input), start);
    onProgress?.(start + count);
  }
  return predictions;
}
