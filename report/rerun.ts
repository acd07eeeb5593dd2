/**
 * The re-run section of a report: the same configurations run in Deno when the report is
 * written and in the browser when the page opens, with the same code, so that the page can show
 * that the library gives the same classes there.
 *
 * @module
 */
import {
  classifyImages,
  f16,
  f32,
  f64,
  importOnnx,
  type LabeledImages,
  parseSafetensors,
  type Sequential,
  serializeSafetensors,
  type Storage,
  storageByName,
  type Tensor,
  withPrecision,
} from "../mod.ts";
import { type KernelPath, networkFromSpec, networkSpec } from "../layers/mod.ts";
import { selectImages } from "../data/mod.ts";
import { withActivationAmax } from "../analysis/calibrate.ts";
import { isProductLayer } from "../layers/_product_inputs.ts";
import type { RerunConfig, RerunSection } from "./report_data.ts";

/**
 * The float64 network `net` configured as `config` says.
 *
 * @throws {RangeError} When a format is unknown, or `seed` mode is given formats by layer.
 *
 * @example
 * ```ts
 * import { deepConvNet, f16, f32 } from "../mod.ts";
 * import { configure } from "./rerun.ts";
 * import assert from "node:assert/strict";
 * const mixed = configure(deepConvNet(), { label: "mixed", mode: "store", formats: { conv1: "f32" }, otherwise: "f16" });
 * assert.equal(mixed.layer("conv1").storage, f32);
 * assert.equal(mixed.layer("conv2").storage, f16);
 * ```
 */
export function configure(net: Sequential, config: RerunConfig): Sequential {
  const { formats, mode, otherwise = "f64" } = config;
  const accumulator = config.accumulator === undefined
    ? undefined
    : storageByName(config.accumulator);
  if (typeof formats === "string") {
    const format = storageByName(formats);
    const configured = withPrecision(net, format, mode);
    return accumulator ? configured.to((layer) => layer.storage, accumulator) : configured;
  }
  if (mode === "seed") {
    throw new RangeError(
      `Cannot configure "${config.label}": formats by layer need mode "store", found "seed"`,
    );
  }
  const fallback = storageByName(otherwise);
  const byLayer = new Map(
    Object.entries(formats).map(([layer, name]) => [layer, storageByName(name)]),
  );
  return net.to((layer) => byLayer.get(layer.name) ?? fallback, accumulator);
}

/**
 * The class `net` (float64) configured as `config` predicts for each image of `set`; the input
 * is stored like the configuration's first layer (`store`) or rounded to its format (`seed`).
 *
 * @example
 * ```ts
 * import { deepConvNet, type LabeledImages } from "../mod.ts";
 * import { classifyAs } from "./rerun.ts";
 * import assert from "node:assert/strict";
 * const set: LabeledImages = { images: new Uint8Array(2 * 784).fill(40), labels: new Uint8Array(2), shape: [2, 1, 28, 28], classes: 10 };
 * const classes = await classifyAs(deepConvNet({ seed: 1 }), set, { label: "f16", mode: "store", formats: "f16" });
 * assert.equal(classes.length, 2);
 * ```
 */
export function classifyAs(
  net: Sequential,
  set: LabeledImages,
  config: RerunConfig,
): Promise<Int32Array> {
  const configured = configure(net, config);
  // A seed-mode network rounds its float64 input itself (see withPrecision).
  const format = config.mode === "seed" ? f64 : configured.layers[0].storage;
  return classifyImages(configured, set, { format });
}

/** Options of {@linkcode rerunSection}. */
export interface RerunOptions {
  /** The images of the set to embed, by index. */
  indices: readonly number[];
  /** The configurations to run. */
  configs: readonly RerunConfig[];
  /** The kernel path the predictions were computed on; the page uses the same. */
  kernelPath: KernelPath;
  /**
   * The ONNX model `net` was imported from (in float64), to embed instead of the layers and
   * weights: the page then imports it as the command did.
   */
  onnx?: Uint8Array;
}

/**
 * Runs every configuration on the chosen images of `set` with the float64 network `net`, and
 * packs the network, the images and the predictions for the page.
 *
 * @example
 * ```ts
 * import { deepConvNet, type LabeledImages } from "../mod.ts";
 * import { rerunSection } from "./rerun.ts";
 * import assert from "node:assert/strict";
 * const set: LabeledImages = { images: new Uint8Array(3 * 784).fill(7), labels: new Uint8Array(3), shape: [3, 1, 28, 28], classes: 10 };
 * const section = await rerunSection(deepConvNet({ seed: 1 }), set, {
 *   indices: [2, 0],
 *   configs: [{ label: "bf16", mode: "store", formats: "bf16" }],
 *   kernelPath: "typescript",
 * });
 * assert.deepEqual(section.indices, [2, 0]);
 * assert.equal(section.runs[0].predictions.length, 2);
 * ```
 */
export async function rerunSection(
  net: Sequential,
  set: LabeledImages,
  options: RerunOptions,
): Promise<RerunSection> {
  const images = selectImages(set, options.indices);
  const runs = [];
  for (const config of options.configs) {
    runs.push({ config, predictions: [...await classifyAs(net, images, config)] });
  }
  const params = [...net.params()].map(([name, t]) => [name, t.to(narrowestExact(t))] as const);
  // Static activation scales: the layer specs carry them, an ONNX model does not.
  const amax = Object.fromEntries(
    net.layers.filter(isProductLayer).flatMap((layer) => {
      const { activationAmax } = layer.options;
      return activationAmax === undefined ? [] : [[layer.name, activationAmax]];
    }),
  );
  return {
    ...(options.onnx
      ? { onnx: options.onnx, ...(Object.keys(amax).length > 0 && { activationAmax: amax }) }
      : { layers: networkSpec(net).layers, weights: serializeSafetensors(new Map(params)) }),
    kernelPath: options.kernelPath,
    indices: [...options.indices],
    images,
    runs,
  };
}

/**
 * The float64 network a re-run section holds: its ONNX model imported in float64 (with the
 * section's static activation scales), or its layers with their weights.
 *
 * @example
 * ```ts
 * import { deepConvNet, type LabeledImages } from "../mod.ts";
 * import { rerunNetwork, rerunSection } from "./rerun.ts";
 * import assert from "node:assert/strict";
 * const net = deepConvNet({ seed: 3 });
 * const set: LabeledImages = { images: new Uint8Array(784), labels: new Uint8Array(1), shape: [1, 1, 28, 28], classes: 10 };
 * const section = await rerunSection(net, set, { indices: [0], configs: [], kernelPath: "wasm" });
 * assert.deepEqual(rerunNetwork(section).params().get("W3")!.toFloat64(), net.params().get("W3")!.toFloat64());
 * ```
 */
export function rerunNetwork(
  section: RerunSection,
  path: KernelPath = section.kernelPath,
): Sequential {
  if (section.onnx) {
    const imported = importOnnx(section.onnx, { source: "the report's model", storage: f64 });
    const amax = section.activationAmax;
    return (amax ? withActivationAmax(imported, amax) : imported).withKernels(path);
  }
  // The layers' own paths are replaced by `path`: the browser may lack what they name.
  const layers = (section.layers ?? []).map(({ kernels: _, ...layer }) => layer);
  const net = networkFromSpec({ layers, params: {} }).withKernels(path);
  net.loadParams(
    parseSafetensors(section.weights ?? new Uint8Array(), "the report's weights").tensors,
  );
  return net;
}

/** The narrowest of f16, f32, f64 that holds every value of `t` exactly: the weights' size. */
function narrowestExact(t: Tensor): Storage {
  const values = t.toFloat64();
  return [f16, f32].find((format) => values.every((v) => format.round(v) === v)) ?? f64;
}
