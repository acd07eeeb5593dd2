/**
 * The range section: how the magnitudes of the float64 values spread over powers of two, drawn
 * once per format with the zones where that format underflows to zero, holds subnormals or
 * overflows.
 *
 * @module
 */
import type { FormatRange, MagnitudeHistogram, RangeSection } from "./report_data.ts";
import { chartFigure } from "./_chart.ts";

/** One range chart per format of `section`. */
export function rangeSection(section: RangeSection): string {
  const { histograms, formats } = section;
  const first = Math.min(...histograms.map((h) => h.minExponent));
  const last = Math.max(...histograms.map((h) => h.minExponent + h.counts.length));
  const axis = { min: first - 2, max: last + 2 };
  return `<p class="note">Bars: the share of the nonzero float64 values in each power of two. ` +
    `Shaded: where the format flushes values to zero (→ 0), holds them as subnormals with fewer ` +
    `significant bits, or overflows; zones outside the plotted range are not drawn.</p>` +
    `<div class="grid">${formats.map((f) => rangeChart(f, histograms, axis)).join("")}</div>`;
}

function rangeChart(
  format: FormatRange,
  histograms: readonly MagnitudeHistogram[],
  axis: { min: number; max: number },
): string {
  const underflowBelow = Math.log2(format.minSubnormal) - 1;
  const subnormalBelow = Math.log2(format.minNormal);
  const overflowAbove = Math.log2(format.maxFinite);
  const zones = [
    { name: "→ 0", from: axis.min, to: underflowBelow, color: "rgba(214, 39, 40, 0.18)" },
    {
      name: "subnormal",
      from: Math.max(axis.min, underflowBelow),
      to: subnormalBelow,
      color: "rgba(255, 127, 14, 0.15)",
    },
    { name: "overflow", from: overflowAbove, to: axis.max, color: "rgba(214, 39, 40, 0.18)" },
  ].filter((z) => z.from < z.to && z.to > axis.min && z.from < axis.max);
  return chartFigure(`range-${format.name}`, {
    title: {
      text: format.name,
      subtext: `subnormal < 2^${fmt(subnormalBelow)} · zero < 2^${fmt(underflowBelow)} · ` +
        `max ${format.maxFinite < 1e6 ? format.maxFinite : format.maxFinite.toExponential(2)}`,
      left: "center",
      textStyle: { fontSize: 14 },
    },
    legend: { bottom: 0 },
    grid: { left: 50, right: 15, top: 60, bottom: 60 },
    xAxis: {
      type: "value",
      min: axis.min,
      max: axis.max,
      name: "log2 |x|",
      nameLocation: "middle",
      nameGap: 22,
    },
    yAxis: { type: "value", name: "% of nonzero values", nameLocation: "middle", nameGap: 35 },
    series: histograms.map((h, i) => {
      const total = h.counts.reduce((a, b) => a + b, 0) || 1;
      return {
        name: h.name,
        type: "bar",
        barGap: "-100%",
        barCategoryGap: "0%",
        itemStyle: { opacity: 0.75 },
        // A bin counts values in [2^k, 2^(k+1)): drawn at its middle.
        data: h.counts.map((
          c,
          k,
        ) => [h.minExponent + k + 0.5, Number((100 * c / total).toFixed(3))]),
        ...(i === 0 && {
          markArea: {
            silent: true,
            label: { position: "insideTop", fontSize: 10 },
            data: zones.map((z) => [
              { name: z.name, xAxis: Math.max(z.from, axis.min), itemStyle: { color: z.color } },
              { xAxis: Math.min(z.to, axis.max) },
            ]),
          },
        }),
      };
    }),
  }, { width: 470, height: 300 });
}

/** An exponent for a label: whole numbers as they are, others to one decimal. */
function fmt(exponent: number): string {
  return Number.isInteger(exponent) ? String(exponent) : exponent.toFixed(1);
}
