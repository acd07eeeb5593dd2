/**
 * The soft-error section: accuracy against the probability that a stored bit flips, one line
 * per format and mode (from an eval run with several `--flip-bits` probabilities).
 *
 * @module
 */
import type { FaultCurve } from "./report_data.ts";
import { chartFigure } from "./_chart.ts";
import { escapeHtml } from "./_html.ts";

/** The accuracy-against-p chart of `curves` (probabilities above zero: the axis is logarithmic). */
export function faultSection(curves: readonly FaultCurve[]): string {
  const probabilities = curves.flatMap((c) => c.points.map((p) => p.probability))
    .filter((p) => p > 0);
  const chart = chartFigure("faults", {
    legend: { top: 0 },
    grid: { left: 60, right: 30, top: 40, bottom: 50 },
    xAxis: {
      type: "log",
      min: Math.min(...probabilities),
      max: Math.max(...probabilities),
      axisLabel: { formatter: (p: number) => p.toExponential(0) },
      name: "probability that a stored bit flips",
      nameLocation: "middle",
      nameGap: 30,
    },
    yAxis: { type: "value", min: 0, max: 100, name: "accuracy %" },
    series: curves.map((c) => ({
      name: c.label,
      type: "line",
      data: c.points.filter((p) => p.probability > 0)
        .map((p) => [p.probability, Number((100 * p.accuracy).toFixed(2))]),
    })),
  }, { width: 760, height: 360 });
  const what = [...new Set(curves.map((c) => c.flips))].map(escapeHtml).join("; ");
  return chart + `<p class="note">Bits flipped: ${what} (docs/faults.md).</p>`;
}
