/**
 * Magnitude histograms: how values spread over powers of two, which is what decides whether a
 * format's range holds them.
 *
 * @module
 */
import type { Sequential, Storage, Tensor } from "../mod.ts";
import { imageBatches, layerOutputs } from "../analysis/_outputs.ts";
import type { MagnitudeHistogram, RangeSection } from "./report_data.ts";

/** Exponents of float64 values, subnormals included, lie in -1074..1023. */
const LOWEST = -1074;
const SPAN = 1023 - LOWEST + 1;

/**
 * How many of `arrays`' values fall in each power-of-two bin `[2^k, 2^(k+1))` of magnitude,
 * from the lowest nonzero bin to the highest; zeros, infinities and NaN apart (zeros counted).
 *
 * @example
 * ```ts
 * import { magnitudeHistogram } from "./magnitude_histogram.ts";
 * import assert from "node:assert/strict";
 * const h = magnitudeHistogram("x", [new Float64Array([0.3, -0.5, 3, 0])]);
 * assert.deepEqual(h, { name: "x", minExponent: -2, counts: [1, 1, 0, 1], zeros: 1 });
 * ```
 */
export function magnitudeHistogram(
  name: string,
  arrays: Iterable<Float64Array>,
): MagnitudeHistogram {
  const bins = new Float64Array(SPAN);
  let zeros = 0;
  for (const values of arrays) {
    for (const v of values) {
      if (v === 0) zeros++;
      else if (Number.isFinite(v)) bins[Math.floor(Math.log2(Math.abs(v))) - LOWEST]++;
    }
  }
  const first = bins.findIndex((c) => c > 0);
  if (first < 0) return { name, minExponent: 0, counts: [], zeros };
  const last = bins.findLastIndex((c) => c > 0);
  return { name, minExponent: first + LOWEST, counts: [...bins.subarray(first, last + 1)], zeros };
}

/**
 * The range section of a report: the magnitudes of the float64 network's weights and of every
 * layer's output on `x`, to be drawn against each of `formats`.
 *
 * @example
 * ```ts
 * import { deepConvNet, f16, f64, Tensor } from "../mod.ts";
 * import { rangeSection } from "./magnitude_histogram.ts";
 * import assert from "node:assert/strict";
 * const x = Tensor.from(f64, [1, 1, 28, 28], new Array(784).fill(0.5));
 * const section = rangeSection(deepConvNet({ seed: 1 }), x, [f16]);
 * assert.deepEqual(section.histograms.map((h) => h.name), ["weights", "layer outputs"]);
 * assert.equal(section.formats[0].maxFinite, 65504);
 * ```
 */
export function rangeSection(
  net: Sequential,
  x: Tensor,
  formats: readonly Storage[],
): RangeSection {
  // A batch at a time: the outputs of every image at once would not fit in memory.
  function* outputs(): Generator<Float64Array> {
    for (const { start, part } of imageBatches(x, 100)) {
      yield* layerOutputs(net, part, false, start).map((t) => t.toFloat64());
    }
  }
  const weights = [...net.params().values()].map((t) => t.toFloat64());
  return {
    histograms: [
      magnitudeHistogram("weights", weights),
      magnitudeHistogram("layer outputs", outputs()),
    ],
    formats: formats.map((f) => ({ name: f.name, ...f.limits })),
  };
}
