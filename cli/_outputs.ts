/**
 * The files a command writes (`--out`, `--log`, `--report`): checked before any work starts, so
 * that a long run never ends in "cannot write", and written whole or not at all.
 *
 * @module
 */
import { dirname, join, resolve } from "node:path";
import { writeAtomic } from "../data/_write_atomic.ts";
import { MNIST_FILES } from "../data/mnist.ts";
import { escapeText } from "../data/_quote.ts";
import { bundlePageScript } from "../report/write_report.ts";
import { UsageError } from "./_cli.ts";
import { locateWeights } from "./_locate.ts";

/** The flags naming files a command reads or writes; absent ones are not used. */
export interface FileFlags {
  /** Outputs. */
  out?: string;
  log?: string;
  report?: string;
  /** Inputs. */
  config?: string;
  weights?: string;
  model?: string;
  data?: string;
}

/**
 * Fails with a usage error naming the flag and the path unless every output of `flags` can be
 * written: a file name (not a folder, not a device) in an existing folder where a file can be
 * created (tried, so a read-only folder or file system is found out), not a file the command
 * reads, and not given for two outputs. With `--report`, the report's page script is bundled
 * now too, since that can fail.
 */
export async function checkOutputs(flags: FileFlags): Promise<void> {
  const inputs = await inputFiles(flags);
  const outputs: [string, string][] = (["out", "log", "report"] as const)
    .filter((flag) => flags[flag] !== undefined).map((flag) => [flag, flags[flag]!]);
  const seen = new Map<string, string>();
  for (const [flag, path] of outputs) {
    const problem = await outputProblem(path) ?? clash(await identity(path), flag, seen, inputs);
    if (problem) throw new UsageError(`--${flag} ${escapeText(path, 200)}: ${problem}`);
  }
  if (flags.report !== undefined) await bundlePageScript();
}

/**
 * Writes `text` to `path` (checked by {@linkcode checkOutputs}) whole or not at all; an error
 * names `--flag` and `path`.
 */
export async function writeOutput(flag: string, path: string, text: string): Promise<void> {
  try {
    await writeAtomic(path, new TextEncoder().encode(text));
  } catch (error) {
    throw new Error(`Cannot write --${flag} ${path}: ${osReason(error)}`);
  }
}

/** Why no file can be written at `path`, or undefined when one can. */
async function outputProblem(path: string): Promise<string | undefined> {
  if (path.trim() === "") return "the file name is empty";
  const existing = await Deno.stat(path).catch(() => undefined);
  if (existing?.isDirectory) return "is a folder, expected a file name";
  if (existing && !existing.isFile) return "is a device, FIFO or socket, expected a file name";
  const folder = dirname(await Deno.realPath(path).catch(() => path));
  const info = await Deno.stat(folder).catch((error) => error as Error);
  if (info instanceof Error) {
    return info instanceof Deno.errors.NotFound
      ? `folder ${folder} does not exist`
      : `cannot reach folder ${folder}: ${osReason(info)}`;
  }
  if (!info.isDirectory) return `${folder} is not a folder`;
  // Trying is the one test that sees read-only file systems, permissions and Deno's own.
  const probe = join(folder, `.halfprec-${crypto.randomUUID()}.tmp`);
  try {
    await Deno.writeFile(probe, new Uint8Array(0), { createNew: true });
  } catch (error) {
    return `cannot create a file in folder ${folder}: ${osReason(error)}`;
  }
  await Deno.remove(probe);
}

/** The files `flags` read, by flag: what no output may replace. */
async function inputFiles(flags: FileFlags): Promise<[string, string][]> {
  const inputs: [string, string | undefined][] = [
    ["config", flags.config],
    ["model", flags.model],
    // The weights file also when the flag names the ones that ship (book, halfprec).
    ["weights", flags.model === undefined ? locateWeights(flags.weights) : undefined],
    ["data", flags.data],
    ...(flags.data === undefined
      ? []
      : Object.values(MNIST_FILES).flatMap((split) =>
        [split.images, split.labels].map((
          f,
        ): [string, string] => ["data", join(flags.data!, f.name)])
      )),
  ];
  const found: [string, string][] = [];
  for (const [flag, path] of inputs) {
    if (path !== undefined) found.push([flag, await identity(path)]);
  }
  return found;
}

/** What names the file at `path` whatever the spelling: its real path when it exists. */
function identity(path: string): Promise<string> {
  return Deno.realPath(path).catch(() => resolve(path));
}

/**
 * A problem when `file`, the output of `flag`, is an input or an earlier output; else records
 * it among `outputs`.
 */
function clash(
  file: string,
  flag: string,
  outputs: Map<string, string>,
  inputs: readonly [string, string][],
): string | undefined {
  const input = inputs.find(([, path]) => path === file);
  if (input) return `is the file --${input[0]} reads, expected a new name (it would be replaced)`;
  const other = outputs.get(file);
  if (other) return `is also --${other}, expected a name of its own`;
  outputs.set(file, flag);
}

/** An OS error in a few words. */
function osReason(error: unknown): string {
  if (error instanceof Deno.errors.PermissionDenied) return "no permission";
  if (error instanceof Deno.errors.NotCapable) return "Deno was not given --allow-write for it";
  // Deno appends the call and its path (": writefile '/x/.tmp'"): the message names the path.
  const message = error instanceof Error ? error.message : String(error);
  return escapeText(message.replace(/: \w+ '.*'$/, ""), 200);
}
