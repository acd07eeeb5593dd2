/**
 * He initialisation, as the reference DeepConvNet uses.
 *
 * @module
 */
import type { Sequential } from "./sequential.ts";
import { Random } from "./random.ts";

/**
 * Fills every layer's weights `W` with normal values of standard deviation sqrt(2 / fanIn)
 * and its biases `b` with zeros, reproducibly from `seed`.
 *
 * @example
 * ```ts
 * import { deepConvNet, heInit } from "@halfprec/halfprec/layers";
 * import assert from "node:assert/strict";
 * const a = deepConvNet();
 * const b = deepConvNet();
 * heInit(a, 7);
 * heInit(b, 7);
 * assert.deepEqual(a.params().get("W3")!.toFloat64(), b.params().get("W3")!.toFloat64());
 * ```
 */
export function heInit(net: Sequential, seed: number): void {
  const random = new Random(seed);
  for (const layer of net.layers) {
    const { W, b } = layer.params;
    if (!W) continue;
    const scale = Math.sqrt(2 / layer.fanIn);
    W.set(Float64Array.from({ length: W.size }, () => scale * random.normal()));
    b?.set(new Float64Array(b.size));
  }
}
