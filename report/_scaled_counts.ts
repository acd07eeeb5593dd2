/**
 * What quantization did to each scaled layer's operands, as a table: analyze prints it and its
 * report shows it.
 *
 * @module
 */
import type { ScaledCounts, ScaleRule } from "../layers/storage/mod.ts";
import type { ScaledLayerCounts } from "../analysis/mod.ts";
import { escapeHtml, table } from "./_html.ts";

/**
 * The header and rows of one format's counts: clamped / flushed to 0 / NaN of each layer's
 * input and weights; for an MX format, input and weights together under each scale rule.
 */
export function scaledCountsTable(
  layers: readonly ScaledLayerCounts[],
): { header: string[]; rows: string[][] } {
  const counts = (c: ScaledCounts) => `${c.clamped} / ${c.flushed} / ${c.nonFinite}`;
  const rules = layers[0]?.rules ? (Object.keys(layers[0].rules) as ScaleRule[]) : [];
  const byRule = (l: ScaledLayerCounts, key: "clamped" | "flushed") =>
    rules.map((rule) => l.rules![rule].input[key] + l.rules![rule].weights[key]).join(" / ");
  const perRule = rules.length > 0
    ? [`clamped ${rules.join("/")}`, `flushed ${rules.join("/")}`]
    : [];
  return {
    header: ["layer", "input values", "input", "weight values", "weights", ...perRule],
    rows: layers.map((l) => [
      l.layer,
      String(l.input.values),
      counts(l.input),
      String(l.weights.values),
      counts(l.weights),
      ...(rules.length > 0 ? [byRule(l, "clamped"), byRule(l, "flushed")] : []),
    ]),
  };
}

/** The sentence above the table. */
export const SCALED_COUNTS_NOTE =
  "Scaled operands, relative to their block's or tensor's scale: clamped (saturated) / " +
  "flushed to 0 / NaN of each layer's input and weights; for MX formats, input and weights " +
  "together under each scale rule, on the same operands.";

/**
 * The report section: a table per scaled format.
 *
 * @example
 * ```ts
 * import { scaledCountsSection } from "./_scaled_counts.ts";
 * import assert from "node:assert/strict";
 * const c = { values: 4, clamped: 1, flushed: 2, nonFinite: 0 };
 * const html = scaledCountsSection([{ format: "int8", layers: [{ layer: "conv1", format: "int8", input: c, weights: c }] }]);
 * assert.match(html, /<td>1 \/ 2 \/ 0<\/td>/);
 * ```
 */
export function scaledCountsSection(
  formats: readonly { format: string; layers: readonly ScaledLayerCounts[] }[],
): string {
  return `<p>${escapeHtml(SCALED_COUNTS_NOTE)}</p>` + formats.map(({ format, layers }) => {
    const { header, rows } = scaledCountsTable(layers);
    return `<h3>${escapeHtml(format)}</h3>` +
      table(header, rows.map((r) => r.map(escapeHtml)));
  }).join("");
}
