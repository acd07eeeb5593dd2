/**
 * The per-layer error section: SQNR against float64 at every layer, one colour per format, the
 * whole network run in the format (propagated, solid) and each layer alone (isolated, dashed).
 *
 * @module
 */
import type { LayerErrorSeries } from "./report_data.ts";
import { chartFigure, PALETTE } from "./_chart.ts";

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
    `or an output with values that overflowed to infinity.</p>`;
}
