/**
 * The frontier section: accuracy against bytes moved for every candidate configuration, the
 * Pareto frontier joined by a line and the chosen configuration marked.
 *
 * @module
 */
import type { FrontierPoint } from "./report_data.ts";
import { chartFigure } from "./_chart.ts";
import { escapeHtml, table } from "./_html.ts";

/** The frontier chart of `points` and a table of the frontier and the chosen point. */
export function frontierSection(points: readonly FrontierPoint[]): string {
  const xy = (p: FrontierPoint) => ({
    value: [Number((p.bytes / 1e6).toFixed(4)), Number((100 * p.accuracy).toFixed(3))],
    name: p.label,
  });
  const frontier = points.filter((p) => p.onFrontier).sort((a, b) => a.bytes - b.bytes);
  const chosen = points.filter((p) => p.chosen);
  const chart = chartFigure("frontier", {
    legend: { top: 0 },
    grid: { left: 60, right: 30, top: 40, bottom: 50 },
    xAxis: {
      type: "value",
      scale: true,
      name: "MB moved per image",
      nameLocation: "middle",
      nameGap: 28,
    },
    yAxis: { type: "value", scale: true, name: "accuracy %" },
    series: [
      {
        name: "candidates",
        type: "scatter",
        color: "#999999",
        symbolSize: 6,
        data: points.filter((p) => !p.onFrontier).map(xy),
      },
      { name: "frontier", type: "line", symbolSize: 8, data: frontier.map(xy) },
      {
        name: "chosen",
        type: "scatter",
        symbol: "diamond",
        symbolSize: 18,
        color: "#d62728",
        data: chosen.map(xy),
        label: { show: true, position: "right", formatter: "{b}" },
      },
    ],
  }, { width: 760, height: 380 });
  const rows = frontier.concat(chosen.filter((p) => !p.onFrontier)).map((p) => [
    escapeHtml(p.label) + (p.chosen ? " <strong>(chosen)</strong>" : ""),
    `${(p.bytes / 1e6).toFixed(3)} MB`,
    `${(100 * p.accuracy).toFixed(3)} %`,
    escapeHtml(p.config ? Object.entries(p.config).map(([l, f]) => `${l} ${f}`).join(", ") : ""),
  ]);
  return chart + table(["configuration", "bytes/image", "accuracy", "formats"], rows);
}
