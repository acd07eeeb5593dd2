/**
 * Finding the MNIST files and the weights a command needs: a flag, else an environment
 * variable, else the per-user cache (MNIST is downloaded into it when absent).
 *
 * @module
 */
import { createHash } from "node:crypto";
import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzip } from "../data/idx.ts";
import { MNIST_FILES, type MnistSet, type MnistSplit } from "../data/mnist.ts";
import { readMnistDir, readSafetensorsFile } from "../data/files.ts";
import { deepConvNet } from "../layers/deep_conv_net.ts";
import type { Sequential } from "../layers/sequential.ts";
import { UsageError } from "./_cli.ts";

/** Public copies of MNIST, tried in order (`HALFPREC_MNIST_MIRROR` replaces them). */
const MIRRORS = [
  "https://ossci-datasets.s3.amazonaws.com/mnist/",
  "https://storage.googleapis.com/cvdf-datasets/mnist/",
];

/**
 * halfprec's cache folder: `HALFPREC_CACHE`, else the platform's per-user cache
 * (`$XDG_CACHE_HOME` or `~/.cache` on Linux, `~/Library/Caches` on macOS, `%LOCALAPPDATA%` on
 * Windows) plus `halfprec`.
 */
export function cacheDir(): string {
  const explicit = setting("HALFPREC_CACHE");
  if (explicit) return explicit;
  const base = Deno.build.os === "windows"
    ? setting("LOCALAPPDATA") ?? join(homedir(), "AppData", "Local")
    : Deno.build.os === "darwin"
    ? join(homedir(), "Library", "Caches")
    : setting("XDG_CACHE_HOME") ?? join(homedir(), ".cache");
  return join(base, "halfprec");
}

/** Where the MNIST files were found, and what was done to get them. */
export interface MnistLocation {
  /** The folder holding the split's files. */
  dir: string;
  /** Set when they were just downloaded: a sentence saying from where. */
  downloaded?: string;
}

/**
 * The folder holding the MNIST `split` files: `--data`, else `HALFPREC_MNIST`, else the cache,
 * downloading into it from a public mirror (md5 of the content checked) when they are absent.
 */
export async function locateMnist(split: MnistSplit, flag?: string): Promise<MnistLocation> {
  const chosen = flag ?? setting("HALFPREC_MNIST");
  if (chosen !== undefined) return { dir: chosen };
  const dir = join(cacheDir(), "mnist");
  const files = [MNIST_FILES[split].images, MNIST_FILES[split].labels];
  const missing = files.filter((f) => !exists(join(dir, f.name)));
  if (missing.length === 0) return { dir };
  const mirrors = setting("HALFPREC_MNIST_MIRROR")?.split(",") ?? MIRRORS;
  const failures: string[] = [];
  for (const mirror of mirrors) {
    try {
      await Deno.mkdir(dir, { recursive: true });
      for (const file of missing) await download(mirror, file, join(dir, file.name));
      return { dir, downloaded: `Downloaded MNIST ${split} files from ${mirror} into ${dir}` };
    } catch (error) {
      failures.push(`${mirror}: ${error instanceof Error ? error.message : error}`);
    }
  }
  throw new UsageError(
    `Cannot find the MNIST ${split} files (${files.map((f) => f.name).join(", ")}): they are not ` +
      `in ${dir} and downloading them failed (${failures.join("; ")}). Point halfprec at a ` +
      `folder holding them with --data DIR or HALFPREC_MNIST=DIR`,
  );
}

/** Fetches one gzipped file, checks the md5 of its content, and moves it into place. */
async function download(mirror: string, file: { name: string; md5: string }, path: string) {
  const url = new URL(file.name, mirror.endsWith("/") ? mirror : `${mirror}/`);
  const response = await fetch(url, { signal: AbortSignal.timeout(60_000) });
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  const gz = new Uint8Array(await response.arrayBuffer());
  const md5 = createHash("md5").update(await gunzip(gz, url.href)).digest("hex");
  if (md5 !== file.md5) throw new Error(`${url} has content md5 ${md5}, expected ${file.md5}`);
  const temporary = `${path}.tmp-${crypto.randomUUID()}`;
  await Deno.writeFile(temporary, gz);
  await Deno.rename(temporary, path);
}

/** The weights `deno task train` produced for this repository (see the README). */
export const DEFAULT_WEIGHTS: string = fileURLToPath(
  new URL("../data/deepconvnet-halfprec.safetensors", import.meta.url),
);

/**
 * The weights file: `--weights`, else `HALFPREC_WEIGHTS`, else the repository's own
 * {@linkcode DEFAULT_WEIGHTS}; a usage error saying how to give one when even that is missing.
 */
export function locateWeights(flag?: string): string {
  const chosen = flag ?? setting("HALFPREC_WEIGHTS");
  if (chosen !== undefined) return chosen;
  if (exists(DEFAULT_WEIGHTS)) return DEFAULT_WEIGHTS;
  throw new UsageError(
    `No weights given and ${DEFAULT_WEIGHTS} is missing: pass --weights FILE.safetensors or ` +
      "set HALFPREC_WEIGHTS to a DeepConvNet safetensors file (tensors W1..W8, b1..b8), or " +
      "make one with deno task train",
  );
}

/**
 * DeepConvNet in float64 with the weights {@linkcode locateWeights} finds, and their path;
 * `allowNonFinite` loads weights holding NaN or infinities (refused otherwise).
 */
export async function loadDeepConvNet(
  flag?: string,
  options: { allowNonFinite?: boolean } = {},
): Promise<{ net: Sequential; path: string }> {
  const path = locateWeights(flag);
  const net = deepConvNet();
  net.loadParams((await readSafetensorsFile(path)).tensors, path, options);
  return { net, path };
}

/**
 * The MNIST test set from the folder {@linkcode locateMnist} finds (saying on stderr when it
 * was downloaded), and that folder.
 */
export async function loadTestSet(flag?: string): Promise<{ set: MnistSet; dir: string }> {
  const location = await locateMnist("test", flag);
  if (location.downloaded) console.error(location.downloaded);
  return { set: await readMnistDir(location.dir, "test"), dir: location.dir };
}

function exists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** An environment variable's value; an empty one counts as unset, as shells commonly mean. */
function setting(name: string): string | undefined {
  return Deno.env.get(name) || undefined;
}
