/**
 * What `deno task eval` prints: the table of runs (a seed spread as one row), the flipped images
 * and each run's kernel path and sums; or its JSON.
 *
 * @module
 */
import type { LayerConfig, PrecisionResult, Storage } from "../mod.ts";
import { type ActivationScales, describeFirstNonFinite, type SeedSpread } from "../analysis/mod.ts";
import { arithmeticLines, formatTable } from "./_cli.ts";
import type { Subject } from "./_command.ts";
import { scalesNote } from "./_calibration.ts";

/** How eval ran: what shapes its output beside the results. */
export interface EvalRun {
  /** Dynamic, or calibrated with `--calibrate`. */
  scales: ActivationScales;
  /** `--batch`. */
  batch: number;
  /** `--formats`. */
  formats: readonly Storage[];
  /** With `--seeds`: the spread of each stochastic format and mode. */
  spreads?: readonly SeedSpread[];
  /** `--show-flips`. */
  showFlips: boolean;
  /** With `--config`: the file and the configuration it holds. */
  config?: { file: string; layers: LayerConfig };
}

/** eval's text and its `--json` document. */
export function evalOutput(
  subject: Subject,
  results: readonly PrecisionResult[],
  run: EvalRun,
): { text: string; json: EvalJson } {
  const scales = scalesNote(run.scales, { ...run, configured: run.config !== undefined });
  const heading = `${subject.title} (${subject.model.path})` +
    (scales ? `\nActivation scales: ${scales}` : "");
  return {
    text: evalText(heading, results, run.spreads, run.showFlips),
    json: evalJson(subject, run.scales, results, run.spreads, run.showFlips, run.config),
  };
}

/** The `--json` output; see docs/json.md for the meaning of each field. */
interface EvalJson {
  model: string;
  weights: string;
  data: string;
  images: number;
  /** Dynamic, or static: calibrated on how many images of what. */
  activationScales: ActivationScales;
  results:
    (Omit<PrecisionResult, "flips"> & { flipImages?: { toRight: number[]; toWrong: number[] } })[];
  /** With --config: the file and the configuration it holds (the "mixed" result). */
  config?: { file: string; layers: LayerConfig };
  /** With `--seeds` only: one entry per stochastically rounding format and mode. */
  spreads?: readonly SeedSpread[];
}

/**
 * eval's JSON: the subject, the activation scales, the results (with the flipped images'
 * indices when `showFlips`), the `--config` file and configuration, and the seed spreads.
 */
function evalJson(
  { model, data, images }: Subject,
  activationScales: ActivationScales,
  results: readonly PrecisionResult[],
  spreads: readonly SeedSpread[] | undefined,
  showFlips: boolean,
  config?: { file: string; layers: LayerConfig },
): EvalJson {
  return {
    model: model.name,
    weights: model.path,
    data: data.source,
    images,
    activationScales,
    results: results.map(({ flips, ...r }) =>
      showFlips ? { ...r, flipImages: { toRight: flips.toRight, toWrong: flips.toWrong } } : r
    ),
    ...(config && { config }),
    ...(spreads && { spreads }),
  };
}

/** The text of eval's result: `heading`, the table, the flips with `showFlips`, the arithmetic. */
function evalText(
  heading: string,
  results: readonly PrecisionResult[],
  spreads: readonly SeedSpread[] = [],
  showFlips: boolean,
): string {
  const table = formatTable(
    [
      "format",
      "mode",
      "accuracy",
      "Δ vs f64",
      "flips →right/→wrong",
      "McNemar p",
      "time",
      "bytes/image",
    ],
    seededRows(results, spreads).map((r) =>
      "seeds" in r ? spreadRow(r, results[0]) : [
        r.format,
        r.mode === "reference" ? "-" : r.mode,
        `${(100 * r.accuracy).toFixed(3)} %${
          r.unclassified ? ` (${r.unclassified} no class)` : ""
        }`,
        r.mode === "reference" ? "-" : signed(100 * (r.accuracy - results[0].accuracy)),
        r.mode === "reference" ? "-" : `${r.flipsToRight} / ${r.flipsToWrong}`,
        r.mode === "reference" ? "-" : r.mcnemarP.toPrecision(3),
        `${r.seconds.toFixed(1)} s`,
        `${(r.bytesPerImage / 1e6).toFixed(2)} MB`,
      ]
    ),
  );
  const flipLines = showFlips
    ? results.filter((r) => r.mode !== "reference").map((r) =>
      `${r.format} ${r.mode}: →right [${r.flips.toRight.join(", ")}], →wrong [${
        r.flips.toWrong.join(", ")
      }]`
    )
    : [];
  const arithmetic = arithmeticLines(
    results.map((r) => ({ label: `${r.format} ${r.mode}`, layers: r.layers })),
  );
  // Found only with --first-non-finite.
  const nonFinite = results.filter((r) => r.firstNonFinite !== undefined).map((r) =>
    `${r.format} ${r.mode}: ${describeFirstNonFinite(r.firstNonFinite!)}`
  );
  return [
    heading,
    table,
    ...flipLines,
    ...(nonFinite.length > 0 ? ["First non-finite output:", ...nonFinite] : []),
    "Kernel path and sums of each layer:",
    ...arithmetic,
  ].join("\n");
}

/** A spread and its seeds' runs: the table shows it in place of them. */
type SpreadRow = SeedSpread & { runs: PrecisionResult[] };

/** `results` with the runs of each spread replaced by one row, where the first of them was. */
function seededRows(
  results: readonly PrecisionResult[],
  spreads: readonly SeedSpread[],
): (PrecisionResult | SpreadRow)[] {
  const rows: (PrecisionResult | SpreadRow)[] = [];
  const runs = new Map<SeedSpread, PrecisionResult[]>();
  for (const r of results) {
    const spread = spreads.find((s) =>
      s.mode === r.mode && s.seeds.some((seed) => `${s.format}${seed}` === r.format)
    );
    if (!spread) {
      rows.push(r);
      continue;
    }
    if (!runs.has(spread)) {
      runs.set(spread, []);
      rows.push({ ...spread, runs: runs.get(spread)! });
    }
    runs.get(spread)!.push(r);
  }
  return rows;
}

/** A spread's row: accuracy mean ± deviation (min..max), ranges of flips and p, mean time. */
function spreadRow(s: SpreadRow, reference: PrecisionResult): string[] {
  const { mean, std, min, max } = s.accuracy;
  const average = (f: (r: PrecisionResult) => number) =>
    s.runs.reduce((sum, r) => sum + f(r), 0) / s.runs.length;
  const range = (e: { min: number; max: number }, text = (v: number) => String(v)) =>
    text(e.min) === text(e.max) ? text(e.min) : `${text(e.min)}..${text(e.max)}`;
  const p = s.runs.map((r) => r.mcnemarP);
  return [
    `${s.format}${s.seeds[0]}..${s.seeds.at(-1)}`,
    s.mode,
    `${(100 * mean).toFixed(3)} ± ${(100 * std).toFixed(3)} % ` +
    `(${(100 * min).toFixed(2)}..${(100 * max).toFixed(2)})`,
    signed(100 * (mean - reference.accuracy)),
    `${range(s.flipsToRight)} / ${range(s.flipsToWrong)}`,
    range({ min: Math.min(...p), max: Math.max(...p) }, (v) => v.toPrecision(3)),
    `${average((r) => r.seconds).toFixed(1)} s`,
    `${(average((r) => r.bytesPerImage) / 1e6).toFixed(2)} MB`,
  ];
}

/** A percentage-point difference with its sign: "+0.000", "-0.020". */
function signed(points: number): string {
  const text = points.toFixed(3);
  return points >= 0 && !text.startsWith("-") ? `+${text}` : text;
}
