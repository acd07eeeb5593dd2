/**
 * The per-layer error section: SQNR against float64 at every layer, one colour per format, the
 * whole network run in the format (propagated, solid) and each layer alone (isolated, dashed).
 *
 * @module
 */
import type { LayerErrorSeries } from "./report_data.ts";
import { chartFigure, PALETTE } from "./_chart.ts";
import { escapeHtml } from "./_html.ts";
import { describeFirstNonFinite } from "../analysis/mod.ts";

/** The per-layer SQNR chart of `series`. */
export function layerErrorSection(series: readonly LayerErrorSeries[]): string {
  const layers = series[0]?.layers.map((l) => l.layer) ?? [];
  const db = (value: number) => Number.isFinite(value) ? Number(value.toFixed(2)) : null;
  return chartFigure("layer-errors", {
    legend: { top: 0 },
    grid: { left: 60, right: 20, top: 80, bottom: 70 },
    xAxis: { type: "category", data: layers, axisLabel: { rotate: 45 } },
    yAxis: {
      type: "value",
      name: "SQNR dB (higher is better)",
      nameLocation: "middle",
      nameGap: 40,
    },
    series: series.flatMap((s, i) => {
      const color = PALETTE[i % PALETTE.length];
      return [
        {
          name: `${s.format} propagated`,
          type: "line",
          color,
          data: s.layers.map((l) => db(l.propagatedDb)),
          // The layer where the run's first infinity or NaN appeared, marked on its axis.
          ...(s.firstNonFinite && {
            markLine: {
              symbol: "none",
              lineStyle: { color, type: "dotted" },
              label: { formatter: `${s.format}: first Inf/NaN` },
              data: [{ xAxis: s.firstNonFinite.layer }],
            },
          }),
        },
        {
          name: `${s.format} isolated`,
          type: "line",
          color,
          lineStyle: { type: "dashed" },
          symbol: "emptyCircle",
          data: s.layers.map((l) => db(l.isolatedDb)),
        },
      ];
    }),
  }, { width: 960, height: 420 }) +
    `<p class="note">A gap marks an SQNR that is not a number: an exact output (infinite SQNR) ` +
    `or an output with values that overflowed to infinity.</p>` + firstNonFiniteNote(series);
}

/** Where each format's run first held an infinity or a NaN, for the formats where it is known. */
function firstNonFiniteNote(series: readonly LayerErrorSeries[]): string {
  const known = series.filter((s) => s.firstNonFinite !== undefined);
  if (known.length === 0) return "";
  const items = known.map((s) =>
    `<li>${escapeHtml(`${s.format}: ${describeFirstNonFinite(s.firstNonFinite!)}`)}</li>`
  );
  return `<p class="note">First infinity or NaN in a layer's output (dotted line):</p>` +
    `<ul class="notes first-non-finite">${items.join("")}</ul>`;
}
