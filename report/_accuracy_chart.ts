/**
 * The accuracy section: a bar per format and mode, and the numbers as a table.
 *
 * @module
 */
import type { AccuracyRow } from "./report_data.ts";
import { chartFigure, PALETTE } from "./_chart.ts";
import { escapeHtml, table } from "./_html.ts";

const MODES = ["reference", "seed", "store"];

/** The accuracy chart and table of `rows`. */
export function accuracySection(rows: readonly AccuracyRow[]): string {
  const formats = [...new Set(rows.map((r) => r.format))];
  const modes = MODES.filter((m) => rows.some((r) => r.mode === m))
    .concat([...new Set(rows.map((r) => r.mode))].filter((m) => !MODES.includes(m)));
  const percents = rows.map((r) => 100 * r.accuracy);
  // Accuracies differ by hundredths of a point: an axis from zero would hide every difference.
  const low = Math.floor(Math.min(...percents) - 0.2);
  const high = Math.min(100, Math.ceil(Math.max(...percents) + 0.2));
  const chart = chartFigure("accuracy", {
    legend: { top: 0 },
    grid: { left: 60, right: 20, top: 40, bottom: 40 },
    xAxis: { type: "category", data: formats },
    yAxis: { type: "value", min: low, max: high, name: "accuracy %" },
    series: modes.map((mode, i) => ({
      name: mode,
      type: "bar",
      // By mode, so that a mode has the same colour in every report.
      color: PALETTE[(MODES.includes(mode) ? MODES.indexOf(mode) : i) % PALETTE.length],
      data: formats.map((format) => {
        const row = rows.find((r) => r.format === format && r.mode === mode);
        return row ? Number((100 * row.accuracy).toFixed(3)) : null;
      }),
      label: { show: true, position: "top", fontSize: 10, formatter: "{c}" },
    })),
  }, { width: 760, height: 320 });
  const body = rows.map((r) => [
    escapeHtml(r.format),
    escapeHtml(r.mode),
    `${(100 * r.accuracy).toFixed(3)} %`,
    `${r.flipsToRight} / ${r.flipsToWrong}`,
    r.mcnemarP === undefined ? "" : r.mcnemarP.toPrecision(3),
    r.bytesPerImage === undefined ? "" : `${(r.bytesPerImage / 1e6).toFixed(2)} MB`,
  ]);
  const legend = `<p class="note">seed: weights and input rounded to the format, every array ` +
    `still float64 (the classic experiment); store: weights, input and every layer's output ` +
    `stored in the format. Flips: images the float64 run got wrong and this run right (→right), ` +
    `and the reverse (→wrong).</p>`;
  return chart + legend +
    table(
      ["format", "mode", "accuracy", "flips →right / →wrong", "McNemar p", "bytes/image"],
      body,
    );
}
