/**
 * A report as one self-contained HTML page: charts drawn as inline SVG when it is written,
 * thumbnails as inline PNG, and optionally the library bundled into the page to re-run the
 * network in the browser. Nothing is fetched when it opens.
 *
 * @module
 */
import type { ReportData } from "./report_data.ts";
import { accuracySection } from "./_accuracy_chart.ts";
import { faultSection } from "./_fault_chart.ts";
import { flipsSection } from "./_flips.ts";
import { frontierSection } from "./_frontier_chart.ts";
import { escapeHtml, page } from "./_html.ts";
import { layerErrorSection } from "./_layer_error_chart.ts";
import { rangeSection } from "./_range_chart.ts";
import { rerunHtml } from "./_rerun_section.ts";
import { scaledCountsSection } from "./_scaled_counts.ts";

/** Options of {@linkcode renderReport}. */
export interface RenderOptions {
  /**
   * The page script bundled for the browser (see `writeReport`), which runs the re-run
   * section; without it that section is left out.
   */
  pageScript?: string;
}

/**
 * The HTML page of `data`: a section for each part it holds.
 *
 * @example
 * ```ts
 * import { renderReport } from "./render_report.ts";
 * import assert from "node:assert/strict";
 * const html = renderReport({
 *   title: "f16 against f64",
 *   accuracy: [
 *     { format: "f64", mode: "reference", accuracy: 0.99, flipsToRight: 0, flipsToWrong: 0 },
 *     { format: "f16", mode: "store", accuracy: 0.99, flipsToRight: 0, flipsToWrong: 0 },
 *   ],
 * });
 * assert.match(html, /<svg[^>]*>/);
 * assert.doesNotMatch(html, /https?:\/\/(?!www\.w3\.org)/);
 * ```
 */
export function renderReport(data: ReportData, options: RenderOptions = {}): string {
  const sections: [string, string | undefined][] = [
    ["Accuracy per format and mode", data.accuracy && accuracySection(data.accuracy)],
    [
      "Accuracy against the probability of a bit flip",
      data.faults && data.faults.length > 0 ? faultSection(data.faults) : undefined,
    ],
    [
      "Error per layer: propagated and isolated",
      data.layerErrors && data.layerErrors.length > 0
        ? layerErrorSection(data.layerErrors)
        : undefined,
    ],
    [
      "Value ranges against each format's limits",
      data.ranges && data.ranges.formats.length > 0 ? rangeSection(data.ranges) : undefined,
    ],
    [
      "Clamped, flushed and NaN values of scaled formats",
      data.scaledCounts && data.scaledCounts.length > 0
        ? scaledCountsSection(data.scaledCounts)
        : undefined,
    ],
    ["Bytes moved against accuracy", data.frontier && frontierSection(data.frontier)],
    ["Images that changed class", data.flips && flipsSection(data.flips)],
    [
      "Re-run in this browser",
      data.rerun && options.pageScript !== undefined
        ? rerunHtml(data.rerun, options.pageScript)
        : undefined,
    ],
  ];
  const notes = data.notes ?? [];
  const body = [
    `<h1>${escapeHtml(data.title)}</h1>`,
    notes.length > 0
      ? `<ul class="notes">${notes.map((n) => `<li>${escapeHtml(n)}</li>`).join("")}</ul>`
      : "",
    ...sections.filter(([, html]) => html !== undefined).map(([heading, html]) =>
      `<section><h2>${escapeHtml(heading)}</h2>${html}</section>`
    ),
  ].join("\n");
  return page(data.title, body);
}
