/**
 * Where the first infinity or NaN appears: the first layer, in network order, whose output holds
 * one, on which image, how many, and whether that image's input to the layer held one already
 * (carried in, rather than made by the layer: an overflow, or a weight that is not finite).
 *
 * @module
 */
import type { Sequential } from "../layers/sequential.ts";
import { argmaxRows, type Tensor } from "../layers/tensor.ts";
import type { LabeledImages } from "../data/labeled_images.ts";
import { classifyImages, type ClassifyOptions } from "./evaluate.ts";
import { NonFiniteTally } from "./_non_finite_tally.ts";

/**
 * The first layer whose output holds an infinity or a NaN.
 *
 * @example
 * ```ts
 * import type { FirstNonFinite } from "@halfprec/halfprec/analysis";
 * const found: FirstNonFinite = { layer: "conv3", count: 12, image: 41, inputNonFinite: false };
 * ```
 */
export interface FirstNonFinite {
  /** The layer's name (`conv3`): no layer before it output a non-finite value. */
  layer: string;
  /** Non-finite values in its output, over every image run. */
  count: number;
  /** The first image (its index in the run) whose output of the layer holds one. */
  image: number;
  /** Whether that image's input to the layer held a non-finite value already. */
  inputNonFinite: boolean;
}

/**
 * Where the first infinity or NaN appeared, in words: `"none"`, or the layer, the count, the
 * image and whether its input to the layer was already non-finite.
 *
 * @example
 * ```ts
 * import { describeFirstNonFinite } from "@halfprec/halfprec/analysis";
 * import assert from "node:assert/strict";
 * assert.equal(describeFirstNonFinite(null), "none");
 * assert.equal(
 *   describeFirstNonFinite({ layer: "conv5", count: 8, image: 3, inputNonFinite: false }),
 *   "conv5 (8 values; first on image 3, whose input to conv5 was finite)",
 * );
 * ```
 */
export function describeFirstNonFinite(first: FirstNonFinite | null): string {
  if (!first) return "none";
  const { layer, count, image, inputNonFinite } = first;
  return `${layer} (${count} value${count === 1 ? "" : "s"}; first on image ${image}, whose ` +
    `input to ${layer} was ${inputNonFinite ? "already non-finite" : "finite"})`;
}

/**
 * The first layer of `net` whose output on `x` holds an infinity or a NaN, or `null` when every
 * output is finite. `firstImage` is the index of `x`'s first image in the run (stochastic formats
 * and bit flips restart their streams from it, see `ForwardOptions`; `image` counts from it).
 *
 * @example f16 overflows in the second scale on image 1, in the first on image 2
 * ```ts
 * import { f16, Sequential, Tensor } from "@halfprec/halfprec";
 * import { Scale } from "@halfprec/halfprec/layers";
 * import { firstNonFinite } from "@halfprec/halfprec/analysis";
 * import assert from "node:assert/strict";
 * const net = new Sequential([new Scale({ factor: 100, storage: f16 }), new Scale({ factor: 100, storage: f16 })]);
 * const x = Tensor.from(f16, [3, 1], [1, 10, 700]);
 * assert.deepEqual(firstNonFinite(net, x), { layer: "scale1", count: 1, image: 2, inputNonFinite: false });
 * assert.equal(firstNonFinite(net, Tensor.from(f16, [1, 1], [1])), null);
 * ```
 */
export function firstNonFinite(net: Sequential, x: Tensor, firstImage = 0): FirstNonFinite | null {
  const tally = new NonFiniteTally();
  classesTallying(net, x, firstImage, tally);
  return tally.first(net.layers.map((layer) => layer.name));
}

/**
 * {@linkcode firstNonFinite} over the first `limit` images of `set`, each batch prepared as
 * {@linkcode classifyImages} prepares it (the input rounded to `format`, held as `mode` says):
 * where a classification run's first infinity or NaN appears. `net` runs on this thread.
 *
 * @example
 * ```ts
 * import { deepConvNet, type LabeledImages, storageByName, withPrecision } from "@halfprec/halfprec";
 * import { firstNonFiniteOver } from "@halfprec/halfprec/analysis";
 * import assert from "node:assert/strict";
 * const set: LabeledImages = { images: new Uint8Array(2 * 784).fill(255), labels: new Uint8Array(2), shape: [2, 1, 28, 28], classes: 10 };
 * const tiny = storageByName("e2m3"); // largest finite value 3.75, then infinity
 * const found = await firstNonFiniteOver(withPrecision(deepConvNet({ seed: 1 }), tiny, "store"), set, { format: tiny });
 * assert.equal(found?.layer, "conv2");
 * assert.equal(found?.image, 0);
 * ```
 */
export async function firstNonFiniteOver(
  net: Sequential,
  set: LabeledImages,
  options: Omit<ClassifyOptions, "onProgress"> = {},
): Promise<FirstNonFinite | null> {
  return (await classifyFindingNonFinite(net, set, options)).firstNonFinite;
}

/**
 * {@linkcode classifyImages} with `net` on this thread, also finding where the run's first
 * infinity or NaN appears (as {@linkcode firstNonFiniteOver}): one pass for both.
 *
 * @example
 * ```ts
 * import { deepConvNet, type LabeledImages } from "@halfprec/halfprec";
 * import { classifyFindingNonFinite } from "@halfprec/halfprec/analysis";
 * import assert from "node:assert/strict";
 * const set: LabeledImages = { images: new Uint8Array(3 * 784), labels: new Uint8Array(3), shape: [3, 1, 28, 28], classes: 10 };
 * const { predictions, firstNonFinite } = await classifyFindingNonFinite(deepConvNet({ seed: 1 }), set);
 * assert.equal(predictions.length, 3);
 * assert.equal(firstNonFinite, null);
 * ```
 */
export async function classifyFindingNonFinite(
  net: Sequential,
  set: LabeledImages,
  options: ClassifyOptions = {},
): Promise<{ predictions: Int32Array; firstNonFinite: FirstNonFinite | null }> {
  const tally = new NonFiniteTally();
  const predictions = await classifyImages(
    { classify: (x, firstImage = 0) => classesTallying(net, x, firstImage, tally) },
    set,
    options,
  );
  return { predictions, firstNonFinite: tally.first(net.layers.map((layer) => layer.name)) };
}

/**
 * Runs `net` on `x`, adds every layer's output to `tally` and returns the classes, from the
 * logits as `Sequential.classify` gives them (a narrow softmax can tie where its logits do not).
 */
function classesTallying(
  net: Sequential,
  x: Tensor,
  firstImage: number,
  tally: NonFiniteTally,
): ReturnType<typeof argmaxRows> {
  tally.batch(x.toFloat64(), x.shape[0], firstImage);
  const logits = net.logitsLayers.at(-1);
  let classes: ReturnType<typeof argmaxRows> = new Int32Array(0);
  net.forward(x, {
    firstImage,
    trace: (layer, y) => {
      tally.layer(y.toFloat64());
      if (layer === logits) classes = argmaxRows(y);
    },
  });
  return classes;
}
