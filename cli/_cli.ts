/**
 * What every halfprec command shares: one-line errors, flag parsing helpers, the progress bar
 * and plain-text tables.
 *
 * @module
 */
import process from "node:process";
import { parseArgs, type ParseArgsConfig } from "node:util";
import {
  type KernelPath,
  kernelPath,
  type LayerArithmetic,
  type Storage,
  storageByName,
  withBitFlips,
} from "../layers/mod.ts";
import { usableFormat } from "../analysis/usable_format.ts";
import { accumulatorProblem } from "../layers/_accumulator.ts";
import cliProgress from "cli-progress";
import { quote } from "../data/_quote.ts";

/** A mistake in how the command was called: reported with a pointer to `--help`. */
export class UsageError extends Error {}

/**
 * Runs a command's `main`, turning any error into one line on stderr and a non-zero exit code
 * (2 for usage errors, 1 otherwise). The stack is printed only with `HALFPREC_DEBUG=1`.
 */
export async function runCommand(name: string, main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (error) {
    // One line, even for messages that span several (node:util's parseArgs writes such).
    const message = (error instanceof Error ? error.message : String(error)).replace(
      /\s*\n\s*/g,
      " ",
    );
    console.error(`${name}: ${message}`);
    if (error instanceof UsageError) console.error(`Run "deno task ${name} --help" for usage.`);
    if (Deno.env.get("HALFPREC_DEBUG") === "1" && error instanceof Error) {
      console.error(error.stack);
    }
    Deno.exit(error instanceof UsageError ? 2 : 1);
  }
}

/** The options table `parseFlags` takes (node:util's `parseArgs` options). */
type FlagOptions = NonNullable<ParseArgsConfig["options"]>;

/** The flag values `parseArgs` returns for `options`, in strict mode. */
type FlagValues<T extends FlagOptions> = ReturnType<
  typeof parseArgs<{ args: string[]; options: T; strict: true }>
>["values"];

/** `argv` parsed by node:util's `parseArgs` in strict mode, its errors made usage errors. */
export function parseFlags<const T extends FlagOptions>(argv: string[], options: T): FlagValues<T> {
  try {
    return parseArgs({ args: argv, options, strict: true }).values;
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

/**
 * The storage formats named in `--flag`'s comma-separated `list`, each once and each one a
 * network can run in (see `usableFormat`), or a usage error.
 */
export function formatsFlag(flag: string, list: string): Storage[] {
  const formats = list.split(",").map((name) => {
    try {
      return usableFormat(storageByName(name.trim()));
    } catch (error) {
      throw new UsageError(`--${flag}: ${(error as Error).message}`);
    }
  });
  const twice = formats.find((f, i) => formats.findIndex((g) => g.name === f.name) < i);
  if (twice) {
    throw new UsageError(`--${flag}: ${twice.name} is given twice, expected each format once`);
  }
  return formats;
}

/** The one storage format `--flag` names, or a usage error (for a list, too). */
export function formatFlag(flag: string, value: string): Storage {
  const formats = formatsFlag(flag, value);
  if (formats.length > 1) {
    throw new UsageError(`--${flag} is ${quote(value)}, expected one format`);
  }
  return formats[0];
}

/** `value` of `--accumulator`: one format that can round a partial sum, or a usage error. */
export function accumulatorFlag(value: string): Storage {
  const format = formatFlag("accumulator", value);
  const problem = accumulatorProblem(format);
  if (problem) throw new UsageError(`--accumulator: ${problem}`);
  return format;
}

/**
 * {@linkcode formatFlag} for a flag declared with `multiple: true`, so that a repeated flag is
 * seen (node:util's parseArgs would keep the last one silently): a usage error when `values`
 * holds more than one.
 */
export function singleFormatFlag(flag: string, values: readonly string[]): Storage {
  if (values.length > 1) {
    throw new UsageError(
      `--${flag} is given ${values.length} times (${values.map((v) => quote(v)).join(", ")}), ` +
        "expected one format",
    );
  }
  return formatFlag(flag, values[0]);
}

/** The help line of `--kernels`, the same in every command. */
export const KERNELS_HELP =
  `  --kernels PATH   wasm: the WebAssembly SIMD kernels (float32 sums, float64 for f64);
                   ts: the TypeScript reference (float64 sums) (default: ${kernelPath()})`;

/** `value` of `--kernels` (`wasm`, `ts`), the runtime's default when absent, or a usage error. */
export function kernelsFlag(value: string | undefined): KernelPath {
  try {
    return kernelPath(value);
  } catch (error) {
    throw new UsageError(`--kernels: ${(error as Error).message}`);
  }
}

/** The flags that put bit flips in every format, the same in every command. */
export const FLIP_FLAGS = {
  "flip-bits": { type: "string" },
  "flip-in": { type: "string", default: "both" },
  "flip-field": { type: "string", default: "any" },
  "flip-seed": { type: "string", default: "1" },
} as const;

/** The help lines of {@linkcode FLIP_FLAGS}. */
export const FLIP_HELP =
  `  --flip-bits P    flip every stored bit with probability P (0..1) in every format (soft
                   errors; the format's name gets +flipP...: docs/faults.md); runs on the
                   TypeScript kernels; a list (1e-6,1e-5) runs every format at each P
  --flip-in WHERE  weights, activations (every layer's output and the input) or both (default)
  --flip-field F   significand: only the significand (fraction) bits; any (default)
  --flip-seed N    the seed the flips are drawn from (default 1)`;

/**
 * `formats` with the bit flips `values` of {@linkcode FLIP_FLAGS} ask for, each format at each
 * probability of `--flip-bits`; as they are without.
 */
export function withFlipFlags(
  formats: Storage[],
  values: { [K in keyof typeof FLIP_FLAGS]?: string },
): Storage[] {
  const text = values["flip-bits"];
  if (text === undefined) return formats;
  const probabilities = text.split(",").map((item) => {
    const probability = Number(item);
    if (item.trim() === "" || !(probability >= 0 && probability <= 1)) {
      throw new UsageError(`--flip-bits is "${text}", expected probabilities from 0 to 1`);
    }
    return probability;
  });
  const choice = <T extends string>(flag: string, value: string | undefined, allowed: T[]) =>
    allowed.includes(value as T)
      ? value as T
      : fail(`--${flag} is "${value}", expected ${allowed.join(" or ")}`);
  const target = choice("flip-in", values["flip-in"], ["weights", "activations", "both"]);
  const field = choice("flip-field", values["flip-field"], ["significand", "any"]);
  const seed = Number(values["flip-seed"]);
  if (!/^\s*\d+\s*$/.test(values["flip-seed"] ?? "") || seed > 0xffffffff) {
    throw new UsageError(
      `--flip-seed is "${values["flip-seed"]}", expected a whole number from 0 to 2^32 - 1`,
    );
  }
  return formats.flatMap((format) =>
    probabilities.map((probability) => {
      try {
        return withBitFlips(format, { probability, field, target, seed });
      } catch (error) {
        throw new UsageError(`--flip-bits: ${(error as Error).message}`);
      }
    })
  );
}

function fail(message: string): never {
  throw new UsageError(message);
}

/** `value` of `--flag` as a positive integer, or a usage error quoting it. */
export function positiveInteger(flag: string, value: string): number {
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    throw new UsageError(`--${flag} is "${value}", expected a positive whole number`);
  }
  return n;
}

/** The most workers `--workers` takes: past a few per core they only cost memory. */
export const MAX_WORKERS: number = 4 * navigator.hardwareConcurrency;

/** `value` of `--workers`: a positive integer up to {@linkcode MAX_WORKERS}, or a usage error. */
export function workersFlag(value: string): number {
  const n = positiveInteger("workers", value);
  if (n > MAX_WORKERS) {
    throw new UsageError(
      `--workers is ${n}, expected at most ${MAX_WORKERS} (4 per core; each holds a copy of ` +
        "the network and its activations)",
    );
  }
  return n;
}

/** A progress bar on stderr; it draws only when stderr is a terminal. */
export interface Progress {
  /** Moves the bar to `done` of its total, with `label` (the run under way) beside it. */
  update(done: number, label: string): void;
  /** Removes the bar (or, off a terminal, reports the last run as finished). */
  stop(): void;
}

/** Where progress goes; the defaults are stderr and the wall clock. */
export interface ProgressOptions {
  /** Off a terminal, also a line every `logEvery` units (for long runs of one label). */
  logEvery?: number;
  /** Whether to draw a bar; by default, whether stderr is a terminal. */
  terminal?: boolean;
  /** Writes one line when not drawing a bar. */
  write?: (line: string) => void;
  /** Milliseconds, for the elapsed times of the lines. */
  now?: () => number;
}

/**
 * A progress bar counting up to `total` (images, formats, steps: `unit` names them). On a terminal
 * it draws a bar with the time left, estimated once a first unit is done. Off a terminal (a piped
 * run, a log file) it writes one line as each run (each `label`) finishes, with the units done and
 * the seconds since the start, so a long run shows it is alive without flooding the log.
 */
export function progressBar(
  total: number,
  unit: string,
  options: ProgressOptions = {},
): Progress {
  const {
    logEvery,
    terminal = Deno.stderr.isTerminal(),
    write = (line: string) => console.error(line),
    now = () => performance.now(),
  } = options;
  const start = now();
  const seconds = () => ((now() - start) / 1000).toFixed(1);
  if (!terminal) {
    let running: { label: string; done: number } | undefined;
    const finish = (done: number) => {
      if (running) write(`${running.label}: done, ${done}/${total} ${unit}, ${seconds()} s`);
    };
    return {
      update(done, label) {
        // A new label means the last run ended, with the units done counted so far.
        if (running && running.label !== label) finish(done);
        running = { label, done };
        if (logEvery && done > 0 && done % logEvery === 0 && done < total) {
          write(`${label}: ${done}/${total} ${unit}, ${seconds()} s`);
        }
      },
      stop() {
        finish(running?.done ?? 0);
        running = undefined;
      },
    };
  }
  const bar = new cliProgress.SingleBar({
    stream: process.stderr,
    format: `{bar} {percentage}% | {value}/{total} ${unit} | {label} | {left}`,
    hideCursor: true,
    clearOnComplete: true,
  }, cliProgress.Presets.shades_classic);
  bar.start(total, 0, { label: "", left: "" });
  return {
    update(done, label) {
      // cli-progress prints "NULL" or "INF" for its own estimate before the first unit is done.
      const elapsed = (now() - start) / 1000;
      const left = done > 0 ? `${Math.round(elapsed * (total - done) / done)} s left` : "";
      bar.update(done, { label, left });
    },
    stop: () => bar.stop(),
  };
}

/** Rows of cells as aligned columns: text left-aligned, numbers right-aligned. */
export function formatTable(header: readonly string[], rows: readonly string[][]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const numeric = header.map((_, c) => rows.every((r) => /^[-+]?[\d.,]+( \S+)?$|^-$/.test(r[c])));
  const line = (cells: readonly string[]) =>
    cells.map((cell, c) => numeric[c] ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))
      .join("  ").trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

/**
 * Which code each layer ran on and how it summed, grouped: "wasm float32: conv1-6 affine1-2;
 * wasm none: relu1-7 pool1-3; typescript float64: softmax1" (`none`: the layer sums nothing).
 */
export function arithmeticText(layers: readonly LayerArithmetic[]): string {
  const groups = new Map<string, string[]>();
  for (const { layer, path, accumulation } of layers) {
    const key = `${path} ${accumulation}`;
    groups.set(key, [...groups.get(key) ?? [], layer]);
  }
  return [...groups].map(([key, names]) => `${key}: ${compactNames(names)}`).join("; ");
}

/** Layer names with numbered runs of one kind shortened: conv1 conv2 conv3 relu1 -> conv1-3 relu1. */
function compactNames(names: readonly string[]): string {
  const parts: string[] = [];
  for (const name of names) {
    const [, kind, number] = name.match(/^(.*?)(\d+)$/) ?? [name, name, ""];
    const last = parts.at(-1)?.match(/^(.*?)(\d+)(?:-(\d+))?$/);
    if (last && last[1] === kind && Number(last[3] ?? last[2]) + 1 === Number(number)) {
      parts[parts.length - 1] = `${kind}${last[2]}-${number}`;
    } else parts.push(name);
  }
  return parts.join(" ");
}

/**
 * The runs of `results` grouped by the arithmetic of their layers, one line each: the
 * runs' labels, then {@linkcode arithmeticText}.
 */
export function arithmeticLines(
  results: readonly { label: string; layers: readonly LayerArithmetic[] }[],
): string[] {
  const groups = new Map<string, string[]>();
  for (const { label, layers } of results) {
    const text = arithmeticText(layers);
    groups.set(text, [...groups.get(text) ?? [], label]);
  }
  return [...groups].map(([text, labels]) => `  ${labels.join(", ")}: ${text}`);
}

/**
 * Progress through phases, each with its own total: a new bar when the phase changes, counting
 * what `unit` names for the phase.
 */
export function phaseProgress(unit: (phase: string) => string): {
  update: (phase: string, done: number, total: number) => void;
  stop: () => void;
} {
  let bar: Progress | undefined;
  let current = "";
  return {
    update(phase, done, total) {
      if (phase !== current) {
        bar?.stop();
        bar = progressBar(total, unit(phase));
        current = phase;
      }
      bar!.update(done, phase);
    },
    stop: () => bar?.stop(),
  };
}
