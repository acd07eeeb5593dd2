/**
 * The inputs of a network's product layers (conv and affine, whose input a scaled format
 * quantizes), as a forward pass meets them: what calibration and delayed scaling measure.
 *
 * @module
 */
import type { Affine } from "./affine.ts";
import type { Conv } from "./conv.ts";
import type { Layer } from "./layer.ts";
import type { Tensor } from "./tensor.ts";

/** The layers whose input a scaled format quantizes: those that multiply by weights. */
export function isProductLayer(layer: Layer): layer is Conv | Affine {
  return layer.kind === "conv" || layer.kind === "affine";
}

/**
 * A forward trace that calls `note(name, input)` with the input of every product layer of
 * `layers`; the first layer's input is `x`, noted at once.
 */
export function traceProductInputs(
  layers: readonly Layer[],
  x: Tensor,
  note: (name: string, input: Tensor) => void,
): (layer: Layer, output: Tensor) => void {
  if (layers[0] && isProductLayer(layers[0])) note(layers[0].name, x);
  return (layer, output) => {
    const next = layers[layers.indexOf(layer) + 1];
    if (next && isProductLayer(next)) note(next.name, output);
  };
}

/** The largest magnitude of `t`'s values; NaN when one is NaN. */
export function tensorAmax(t: Tensor): number {
  let m = 0;
  for (const v of t.toFloat64()) {
    if (Number.isNaN(v)) return NaN;
    m = Math.max(m, Math.abs(v));
  }
  return m;
}
