/**
 * Finding the images that changed class, with what each configuration made of them.
 *
 * @module
 */
import type { LabeledImages, Sequential } from "../mod.ts";
import { selectImages } from "../data/mod.ts";
import type { FlipImage, RerunConfig } from "./report_data.ts";
import { classifyAs } from "./rerun.ts";
import { picture } from "./_picture.ts";

/**
 * The images of `set` at `indices` whose class under any of `configs` differs from their class
 * under the first one (the float64 baseline), in index order.
 *
 * @example
 * ```ts
 * import { deepConvNet, type LabeledImages } from "../mod.ts";
 * import { flipImages } from "./flip_images.ts";
 * import assert from "node:assert/strict";
 * const set: LabeledImages = { images: new Uint8Array(2 * 784).fill(99), labels: new Uint8Array(2), shape: [2, 1, 28, 28], classes: 10 };
 * const same = [{ label: "f64", mode: "store", formats: "f64" }, { label: "again", mode: "store", formats: "f64" }] as const;
 * assert.deepEqual(await flipImages(deepConvNet({ seed: 1 }), set, [0, 1], same), []);
 * ```
 */
export async function flipImages(
  net: Sequential,
  set: LabeledImages,
  indices: readonly number[],
  configs: readonly RerunConfig[],
): Promise<FlipImage[]> {
  const subset = selectImages(set, indices);
  const predictions = [];
  for (const config of configs) predictions.push(await classifyAs(net, subset, config));
  const [reference, ...others] = predictions;
  return indices.map((index, j) => ({
    index,
    label: subset.labels[j],
    picture: picture(subset, j),
    reference: reference[j],
    changes: others.flatMap((p, i) =>
      p[j] === reference[j] ? [] : [{ run: configs[i + 1].label, prediction: p[j] }]
    ),
  })).filter((flip) => flip.changes.length > 0);
}
