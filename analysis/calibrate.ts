/**
 * Static activation scales, as post-training quantization calibrates them: the largest
 * magnitude of each convolution's and affine layer's input over a few images that are not the
 * images evaluated, run in float64, set as the layer's `activationAmax`. A scaled format with
 * per-tensor activation scales (`int8`, `e4m3-tensor`, NVFP4's tensor scale…) then scales its
 * input by that amax instead of the amax of the batch being computed (dynamic, the default).
 *
 * @module
 */
import { firstImages, imageBatch, imageCount, type LabeledImages } from "../data/labeled_images.ts";
import type { Sequential } from "../layers/sequential.ts";
import { networkFromSpec, networkSpec } from "../layers/spec.ts";
import { f64 } from "../layers/storage/f64.ts";
import type { Tensor } from "../layers/tensor.ts";
import { isProductLayer, tensorAmax, traceProductInputs } from "../layers/_product_inputs.ts";

/**
 * Where a run's activation scales came from: the batch being computed (`dynamic`), or a
 * calibration on `images` images of `source` (`static`), with the amax of each layer's input.
 *
 * @example
 * ```ts
 * import type { ActivationScales } from "@halfprec/halfprec/analysis";
 * const scales: ActivationScales = { mode: "static", images: 1000, source: "MNIST training set", amax: { conv1: 1 } };
 * ```
 */
export type ActivationScales =
  | { mode: "dynamic" }
  | {
    mode: "static";
    /** How many images the amax was taken over. */
    images: number;
    /** What they were: `MNIST training set (DIR)`, `search split`. */
    source: string;
    /** The calibrated amax of each conv and affine layer's input, by layer name. */
    amax: Record<string, number>;
  };

/**
 * The largest magnitude of every conv and affine layer's input, by layer name, when the
 * float64 network `net` runs on every image of `set` (`batch` images a pass).
 *
 * @throws {RangeError} When an input holds a NaN or an infinity: no scale follows from it.
 *
 * @example
 * ```ts
 * import { Sequential } from "@halfprec/halfprec";
 * import { Affine, Relu } from "@halfprec/halfprec/layers";
 * import { activationAmax } from "@halfprec/halfprec/analysis";
 * import assert from "node:assert/strict";
 * const fc = new Affine({ inputs: 2, outputs: 1 });
 * fc.params.W.set([1, -3]);
 * const net = new Sequential([new Affine({ inputs: 2, outputs: 2 }), new Relu(), fc]);
 * net.layer("affine1").params.W.set([1, 0, 0, 1]);
 * const set = { images: Float64Array.from([0.5, -2, 0.25, 1]), shape: [2, 1, 1, 2], labels: new Uint8Array(2), classes: 2 } as const;
 * assert.deepEqual(activationAmax(net, set), { affine1: 2, affine2: 1 }); // -2 is cut by the ReLU
 * ```
 */
export function activationAmax(
  net: Sequential,
  set: LabeledImages,
  batch = 100,
): Record<string, number> {
  const amax: Record<string, number> = {};
  const note = (name: string, input: Tensor) => {
    const m = tensorAmax(input);
    if (!(m < Infinity)) throw new RangeError(`Cannot calibrate ${name}: its input holds ${m}`);
    amax[name] = Math.max(amax[name] ?? 0, m);
  };
  const reference = net.to(f64);
  const count = imageCount(set);
  for (let start = 0; start < count; start += batch) {
    const x = imageBatch(set, start, Math.min(batch, count - start), f64);
    reference.forward(x, { trace: traceProductInputs(reference.layers, x, note) });
  }
  return amax;
}

/**
 * `net` (parameters copied) with each layer named in `amax` given that `activationAmax`: a
 * static per-tensor scale of its input.
 *
 * @throws {RangeError} When a name is not a conv or affine layer of `net`.
 *
 * @example
 * ```ts
 * import { deepConvNet } from "@halfprec/halfprec";
 * import type { Conv } from "@halfprec/halfprec/layers";
 * import { withActivationAmax } from "@halfprec/halfprec/analysis";
 * import assert from "node:assert/strict";
 * const net = withActivationAmax(deepConvNet(), { conv1: 1 });
 * assert.equal((net.layer("conv1") as Conv).options.activationAmax, 1);
 * ```
 */
export function withActivationAmax(
  net: Sequential,
  amax: Readonly<Record<string, number>>,
): Sequential {
  const spec = networkSpec(net);
  const names = net.layers.map((layer) => layer.name);
  for (const [name, value] of Object.entries(amax)) {
    const at = names.indexOf(name);
    if (at < 0 || !isProductLayer(net.layers[at])) {
      throw new RangeError(`Cannot set activationAmax of "${name}": not a conv or affine layer`);
    }
    spec.layers[at].options.activationAmax = value;
  }
  return networkFromSpec(spec);
}

/**
 * The indices of the images of `a` whose values equal an image of `b`: how calibration
 * images are checked against the images evaluated.
 *
 * @example
 * ```ts
 * import { sharedImages } from "@halfprec/halfprec/analysis";
 * import assert from "node:assert/strict";
 * const a = { images: Uint8Array.from([1, 2, 3]), shape: [3, 1, 1, 1], labels: new Uint8Array(3), classes: 1 } as const;
 * const b = { images: Uint8Array.from([3, 4]), shape: [2, 1, 1, 1], labels: new Uint8Array(2), classes: 1 } as const;
 * assert.deepEqual(sharedImages(a, b), [2]);
 * ```
 */
export function sharedImages(a: LabeledImages, b: LabeledImages): number[] {
  const byHash = new Map<number, number[]>();
  for (let j = 0; j < imageCount(b); j++) {
    const h = hashImage(imageValues(b, j));
    byHash.set(h, [...byHash.get(h) ?? [], j]);
  }
  const shared: number[] = [];
  for (let i = 0; i < imageCount(a); i++) {
    const values = imageValues(a, i);
    const same = byHash.get(hashImage(values))?.some((j) => {
      const other = imageValues(b, j);
      return other.length === values.length && other.every((v, k) => v === values[k]);
    });
    if (same) shared.push(i);
  }
  return shared;
}

/** Image `i` of `set` as input values (a byte image and its float copy, pixel / 255, agree). */
function imageValues(set: LabeledImages, i: number): Float64Array {
  return imageBatch(set, i, 1, f64).toFloat64();
}

/** FNV-1a over the bytes of `values`: a key to find equal images by. */
function hashImage(values: Float64Array): number {
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  let h = 0x811c9dc5;
  for (const byte of bytes) h = Math.imul(h ^ byte, 0x01000193);
  return h >>> 0;
}

/** Options of {@linkcode calibrate}. */
export interface CalibrateOptions {
  /** How many images of the calibration set to take, from its first. */
  images: number;
  /** What the calibration set is, recorded in the result: `MNIST training set (DIR)`. */
  source: string;
  /** The images that will be evaluated: none of them may be a calibration image. */
  evaluated: LabeledImages;
  /** Images per forward pass. @default {100} */
  batch?: number;
}

/**
 * Static activation scales for `net`: the amax of each conv and affine layer's input over the
 * first `images` images of `calibration`, which must hold that many and share none with the
 * images evaluated; returns the calibrated network and the record of its scales.
 *
 * @throws {RangeError} When the calibration set has fewer images, or shares one with
 * `evaluated` (naming how many and the first).
 *
 * @example Calibration images must not be evaluated
 * ```ts
 * import { deepConvNet, type LabeledImages } from "@halfprec/halfprec";
 * import { calibrate } from "@halfprec/halfprec/analysis";
 * import assert from "node:assert/strict";
 * const images = (fill: number): LabeledImages => ({ images: new Uint8Array(784).fill(fill), shape: [1, 1, 28, 28], labels: new Uint8Array(1), classes: 10 });
 * const { scales } = calibrate(deepConvNet({ seed: 1 }), images(255), { images: 1, source: "train", evaluated: images(0) });
 * assert.equal(scales.mode === "static" && scales.amax.conv1, 1);
 * assert.throws(() => calibrate(deepConvNet(), images(0), { images: 1, source: "test", evaluated: images(0) }), /1 of the 1 calibration images .* evaluated/);
 * ```
 */
export function calibrate(
  net: Sequential,
  calibration: LabeledImages,
  options: CalibrateOptions,
): { net: Sequential; scales: ActivationScales } {
  const { images, source, evaluated, batch } = options;
  const available = imageCount(calibration);
  if (!(Number.isInteger(images) && images >= 1 && images <= available)) {
    throw new RangeError(
      `Cannot calibrate on ${images} images of ${source}: expected 1 to the ${available} it has`,
    );
  }
  const chosen = firstImages(calibration, images);
  const shared = sharedImages(chosen, evaluated);
  if (shared.length > 0) {
    throw new RangeError(
      `Cannot calibrate on ${source}: ${shared.length} of the ${images} calibration images ` +
        `(the first: image ${shared[0]}) are also evaluated`,
    );
  }
  const amax = activationAmax(net, chosen, batch);
  return {
    net: withActivationAmax(net, amax),
    scales: { mode: "static", images, source, amax },
  };
}
