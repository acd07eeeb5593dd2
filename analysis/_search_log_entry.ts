/**
 * What a line of a search log must hold to be resumed from: every field of its entry, with a
 * value of the right kind and range, so that a hand-edited or damaged log is refused with the
 * field named instead of showing "NaN %" or failing deep inside the search.
 *
 * @module
 */
import { escapeText } from "../data/_quote.ts";

/** A field's test and what it expects, as the message says it. */
type Check = [test: (value: unknown) => boolean, expected: string];

const isNumber = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
const count: Check = [(v) => Number.isSafeInteger(v) && (v as number) >= 0, "a whole number"];
const fraction: Check = [(v) => isNumber(v) && v >= 0 && v <= 1, "a number from 0 to 1"];
const positive: Check = [(v) => isNumber(v) && v > 0, "a positive number"];
const seconds: Check = [(v) => isNumber(v) && v >= 0, "a number of seconds"];
const finite: Check = [isNumber, "a finite number"];
const split: Check = [(v) => v === "search" || v === "holdout", "search or holdout"];
const strings: Check = [
  (v) => Array.isArray(v) && v.every((s) => typeof s === "string"),
  "an array of format names",
];
const object: Check = [
  (v) => typeof v === "object" && v !== null && !Array.isArray(v),
  "an object",
];

/** The fields of each kind of entry (dotted paths into it). */
const FIELDS: Record<string, Record<string, Check>> = {
  start: {
    settings: [
      (v) =>
        object[0](v) &&
        Object.values(v as object).every((s) => typeof s === "string" || isNumber(s)),
      "an object of strings and numbers",
    ],
  },
  sensitivity: {
    noise: [
      (v) =>
        Array.isArray(v) &&
        v.every((row) => Array.isArray(row) && row.every((n) => n === null || isNumber(n))),
      "an array of arrays of numbers or null",
    ],
    seconds,
  },
  reference: {
    "run.split": split,
    "run.accuracy": fraction,
    "run.correct": count,
    "run.total": count,
    "run.bytesPerImage": positive,
    "run.seconds": seconds,
    predictions: [
      (v) => Array.isArray(v) && v.every((p) => Number.isSafeInteger(p)),
      "an array of classes",
    ],
  },
  trial: {
    "trial.split": split,
    "trial.reason": [
      (v) =>
        ["widest", "narrowest", "bisect", "refine", "frontier", "confirm"].includes(v as string),
      "widest, narrowest, bisect, refine, frontier or confirm",
    ],
    "trial.formats": strings,
    "trial.config": object,
    "trial.bytesPerImage": positive,
    "trial.accuracy": fraction,
    "trial.correct": count,
    "trial.total": count,
    "trial.deltaPp": finite,
    "trial.flipsToRight": count,
    "trial.flipsToWrong": count,
    "trial.mcnemarP": fraction,
    "trial.withinTolerance": [(v) => typeof v === "boolean", "true or false"],
    "trial.seconds": seconds,
  },
};

/**
 * What is wrong with `entry`, a parsed line of a search log: `field "trial.accuracy" is "x",
 * expected a number from 0 to 1`; undefined when it is a whole entry.
 */
export function logEntryProblem(entry: unknown): string | undefined {
  const type = (entry as { type?: unknown } | null)?.type;
  const fields = typeof type === "string" && Object.hasOwn(FIELDS, type) ? FIELDS[type] : undefined;
  if (!fields) {
    return `field "type" is ${shown(type)}, expected start, sensitivity, reference or trial`;
  }
  for (const [path, [test, expected]] of Object.entries(fields)) {
    const value = path.split(".").reduce<unknown>(
      (at, key) =>
        typeof at === "object" && at !== null ? (at as Record<string, unknown>)[key] : undefined,
      entry,
    );
    if (!test(value)) return `field "${path}" is ${shown(value)}, expected ${expected}`;
  }
  // The accuracy a table shows must be the count it came from.
  const run = (entry as Record<string, { accuracy: number; correct: number; total: number }>)[
    type === "trial" ? "trial" : "run"
  ];
  if (run && (run.correct > run.total || run.accuracy !== (run.total && run.correct / run.total))) {
    const name = type === "trial" ? "trial" : "run";
    return `field "${name}.accuracy" is ${run.accuracy}, expected ${name}.correct / ` +
      `${name}.total = ${run.correct} / ${run.total}`;
  }
}

/** A value as the message shows it: JSON, escaped and bounded. */
function shown(value: unknown): string {
  return value === undefined ? "missing" : escapeText(JSON.stringify(value));
}
