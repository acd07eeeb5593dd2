/**
 * What quantization does to the operands of a network in a scaled format, layer by layer: how
 * many values clamp at the element's largest value (saturate), flush to zero, or become NaN,
 * relative to each block's or tensor's scale — and, for an MX format, the same counts under
 * every scale rule, on the same operands, so that the rules can be compared.
 *
 * @module
 */
import type { Layer } from "../layers/layer.ts";
import type { Sequential } from "../layers/sequential.ts";
import type { ScaledOperands } from "../layers/_scaled_operands.ts";
import {
  SCALE_RULES,
  type ScaledCounts,
  scaledCounts,
  type ScaleRule,
} from "../layers/storage/mx.ts";
import { scaledSchemeOf, scaledStorage } from "../layers/storage/scaled.ts";
import type { Tensor } from "../layers/tensor.ts";

/** The counts of a layer's two operands. */
export interface OperandCounts {
  /** The layer's input (activations). */
  input: ScaledCounts;
  /** Its weights. */
  weights: ScaledCounts;
}

/**
 * One conv or affine layer in a scaled format: what quantizing its operands did, in the run
 * of the network in that format.
 */
export interface ScaledLayerCounts extends OperandCounts {
  /** The layer's name. */
  layer: string;
  /** Its format: `mxfp4`, `int8`. */
  format: string;
  /**
   * MX formats only: the counts under each scale rule (its own included), on the same input
   * and weights.
   */
  rules?: Record<ScaleRule, OperandCounts>;
}

/** A layer that quantizes its operands in a scaled format. */
interface ScaledLayer extends Layer {
  scaledOperands(x: Tensor, counts?: ScaledCounts): ScaledOperands | undefined;
  scaledWeights(counts?: ScaledCounts): Float32Array | undefined;
}

function isScaled(layer: Layer): layer is ScaledLayer {
  return scaledSchemeOf(layer.storage) !== undefined && "scaledOperands" in layer;
}

/** The counts of `layer`'s operands on input `x`. */
function operandCounts(layer: ScaledLayer, x: Tensor): OperandCounts {
  const both = scaledCounts();
  layer.scaledOperands(x, both);
  const weights = scaledCounts();
  layer.scaledWeights(weights);
  const input = scaledCounts();
  for (const key of Object.keys(input) as (keyof ScaledCounts)[]) {
    input[key] = both[key] - weights[key];
  }
  return { input, weights };
}

/**
 * For every conv and affine layer of `net` stored in a scaled format, what quantizing its
 * operands did when `net` runs on `x` (each layer's input is the one the run gives it). An MX
 * layer is also quantized with each scale rule (`mxfp4`, `mxfp4-ceil`, `-even`, `-rceil`) on
 * the same operands.
 *
 * @example How many values of an MXFP4 layer clamp under each rule
 * ```ts
 * import { Sequential, storageByName, tensor } from "@halfprec/halfprec";
 * import { Affine } from "@halfprec/halfprec/layers";
 * import { scaledLayerCounts } from "@halfprec/halfprec/analysis";
 * import assert from "node:assert/strict";
 * const fc = new Affine({ inputs: 2, outputs: 1, storage: storageByName("mxfp4") });
 * fc.params.W.set([1, 1]);
 * const [counts] = scaledLayerCounts(new Sequential([fc]), tensor([1, 2], [7, 1]));
 * assert.equal(counts.input.clamped, 1); // floor: scale 1, 7 clamps to 6
 * assert.equal(counts.rules!.rceil.input.clamped, 0); // rceil: scale 2, 7 / 2 = 3.5
 * ```
 */
export function scaledLayerCounts(net: Sequential, x: Tensor): ScaledLayerCounts[] {
  // No pass at all without a scaled layer: a pass over every image at once is what analyze's
  // batches keep memory from.
  if (!net.layers.some(isScaled)) return [];
  const found: ScaledLayerCounts[] = [];
  const visit = (layer: Layer, input: Tensor) => {
    if (!isScaled(layer)) return;
    const scheme = scaledSchemeOf(layer.storage)!;
    const own = operandCounts(layer, input);
    const entry: ScaledLayerCounts = { layer: layer.name, format: scheme.name, ...own };
    if (scheme.granularity === "mx") {
      const base = scheme.rule === "floor" ? scheme.name : scheme.name.replace(/-[a-z]+$/, "");
      entry.rules = Object.fromEntries(SCALE_RULES.map((rule) => {
        if (rule === scheme.rule) return [rule, own];
        const storage = scaledStorage(rule === "floor" ? base : `${base}-${rule}`)!;
        const twin = layer.to(storage) as ScaledLayer;
        twin.name = layer.name;
        return [rule, operandCounts(twin, input)];
      })) as Record<ScaleRule, OperandCounts>;
    }
    found.push(entry);
  };
  const layers = net.layers;
  visit(layers[0], x);
  net.forward(x, {
    trace: (layer, y) => {
      const next = layers[layers.indexOf(layer) + 1];
      if (next) visit(next, y);
    },
  });
  return found;
}
