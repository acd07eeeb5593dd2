/**
 * What `deno task search` prints: the sentences around the table of trials (which the HTML
 * report's notes repeat), the table, and the JSON.
 *
 * @module
 */
import { type SearchResult, storageByName } from "../mod.ts";
import type { KernelPath } from "../layers/mod.ts";
import type { ActivationScales } from "../analysis/mod.ts";
import type { Trial } from "../analysis/search.ts";
import { formatTable } from "./_cli.ts";
import { scalesNote } from "./_calibration.ts";
import type { Subject } from "./_command.ts";

/** search's output: the text, the `--json` document and the report's notes. */
export interface SearchOutput {
  /** The sentences and the table. */
  text: string;
  /** The `--json` document. */
  json: unknown;
  /** The report's notes. */
  notes: string[];
}

/**
 * The output of a search of `formats` taking `seconds` on `subject` with `activationScales`,
 * logged to `log`, on `kernels` with `batch` images a pass.
 */
export function searchOutput(
  subject: Subject,
  result: SearchResult,
  activationScales: ActivationScales,
  run: {
    seconds: number;
    log: string;
    kernels: KernelPath;
    batch: number;
    formats: readonly string[];
  },
): SearchOutput {
  const { model, data, images } = subject;
  const lines = summary(result, {
    subject: subject.title,
    weights: model.path,
    images,
    seconds: run.seconds,
    log: run.log,
  });
  const formats = run.formats.map((name) => storageByName(name));
  const scales = scalesNote(activationScales, { ...run, formats });
  const text = [
    `${lines.images} Units (columns) are a layer with weights and the layers after it. ` +
    `${lines.tolerance} "frontier" marks the Pareto frontier of bytes versus accuracy.`,
    ...(scales ? [`Activation scales of scaled formats: ${scales}.`] : []),
    table(result),
    lines.chosen,
    lines.evaluations,
  ].join("\n");
  const json = {
    model: model.name,
    weights: model.path,
    data: data.source,
    images,
    activationScales,
    ...result,
    seconds: run.seconds,
  };
  const notes = [
    lines.images,
    `data ${data.source}`,
    `${run.kernels} kernels`,
    lines.tolerance,
    lines.chosen,
    lines.evaluations,
  ];
  return { text, json, notes };
}

/** The sentences around the table, which the HTML report's notes repeat. */
function summary(
  result: SearchResult,
  run: { subject: string; weights: string; images: number; seconds: number; log: string },
): { images: string; tolerance: string; chosen: string; evaluations: string } {
  const [search, holdout] = result.references;
  const chosen = result.chosen
    ? `Chosen: ${JSON.stringify(result.chosen.config)}, ${
      (result.chosen.bytesPerImage / 1e6).toFixed(3)
    } MB/image against ${(search.bytesPerImage / 1e6).toFixed(3)} MB in f64 (${
      (search.bytesPerImage / result.chosen.bytesPerImage).toFixed(1)
    }x fewer bytes). On the held-out split: ${
      (100 * result.confirmation!.accuracy).toFixed(2)
    } % against ${(100 * holdout.accuracy).toFixed(2)} % in f64, ${
      result.confirmation!.withinTolerance ? "confirmed" : "NOT confirmed"
    } (Δ ${signed(result.confirmation!.deltaPp)} pp, p ${
      result.confirmation!.mcnemarP.toPrecision(3)
    }).`
    : "Chosen: none; no configuration is within tolerance (not even the widest).";
  return {
    images: `${run.subject} (${run.weights}): ` +
      `${search.total} to search on (f64 ${(100 * search.accuracy).toFixed(2)} %), ` +
      `${run.images - search.total} held out.`,
    tolerance: `Tolerance: at most ${result.tolerancePp} pp below f64, McNemar p above ` +
      `${result.minP}.`,
    chosen,
    evaluations: `Full evaluations: ${result.evaluations.search} on the search split, ` +
      `${result.evaluations.holdout} held-out (and f64 once per split); ${result.resumed} ` +
      `taken from the log. Sensitivity took ${result.sensitivitySeconds.toFixed(1)} s; wall ` +
      `time ${run.seconds.toFixed(1)} s. Log: ${run.log}.`,
  };
}

/** Every trial and the held-out confirmation, a column per unit. */
function table(result: SearchResult): string {
  const frontier = new Set(result.frontier);
  const row = (t: Trial, name: string) => [
    name,
    t.reason,
    ...t.formats,
    `${(t.bytesPerImage / 1e6).toFixed(3)} MB`,
    `${(100 * t.accuracy).toFixed(2)} %`,
    signed(t.deltaPp),
    `${t.flipsToRight} / ${t.flipsToWrong}`,
    t.mcnemarP.toPrecision(3),
    t.withinTolerance ? "yes" : "no",
    frontier.has(t) ? "*" : "",
    `${t.seconds.toFixed(1)} s`,
  ];
  return formatTable(
    [
      "#",
      "why",
      ...result.units.map((u) => u.name),
      "bytes/image",
      "accuracy",
      "Δ pp",
      "flips →right/→wrong",
      "McNemar p",
      "within",
      "frontier",
      "time",
    ],
    [
      ...result.trials.map((t, i) => row(t, String(i + 1))),
      ...(result.confirmation ? [row(result.confirmation, "held-out")] : []),
    ],
  );
}

/** A signed number with 2 decimals: "+0.00", "-0.12". */
function signed(x: number): string {
  const text = x.toFixed(2);
  return x >= 0 && !text.startsWith("-") ? `+${text}` : text;
}
