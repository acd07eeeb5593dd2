/**
 * The one-line summaries of gradient range counters that `analyze --gradients` and `train`
 * print.
 *
 * @module
 */
import type { GradientRangeTotals, RangeCounts } from "../analysis/mod.ts";

/**
 * "parameter gradients (431080 values, predicted / observed): overflow 0 / 0, underflow 52 /
 * 67, subnormal ...; layer input gradients (...): ...", on one line.
 */
export function gradientTotalsText(totals: GradientRangeTotals): string {
  const line = (what: string, t: { predicted: RangeCounts; observed: RangeCounts }) =>
    `${what} (${t.predicted.total} values, predicted / observed): ` +
    (["overflow", "underflow", "subnormal"] as const)
      .map((key) => `${key} ${t.predicted[key]} / ${t.observed[key]}`).join(", ");
  return `${line("parameter gradients", totals.params)}; ${
    line("layer input gradients", totals.inputs)
  }`;
}
