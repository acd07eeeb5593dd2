/**
 * Charts rendered to SVG when the report is written, by Apache ECharts' server-side renderer
 * (no DOM needed), so that the page shows them without running any script.
 *
 * @module
 */
import * as echarts from "echarts";

/** An ECharts option object. */
export type ChartOption = echarts.EChartsOption;

/** The colours of the series, in order; one per format across all charts. */
export const PALETTE: readonly string[] = [
  "#1f77b4",
  "#d62728",
  "#2ca02c",
  "#ff7f0e",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#17becf",
];

/** `option` drawn as an SVG string of `width` x `height` pixels, in a `<figure>` named `name`. */
export function chartFigure(
  name: string,
  option: ChartOption,
  size: { width: number; height: number },
): string {
  const chart = echarts.init(null, null, { renderer: "svg", ssr: true, ...size });
  try {
    chart.setOption({
      animation: false,
      color: [...PALETTE],
      textStyle: { fontFamily: "system-ui, sans-serif" },
      ...option,
    });
    return `<figure class="chart" data-chart="${name}">${chart.renderToSVGString()}</figure>`;
  } finally {
    chart.dispose();
  }
}
