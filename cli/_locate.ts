/**
 * The one place where halfprec finds its data, for every command, test and benchmark.
 *
 * MNIST: `--data DIR`, else `HALFPREC_MNIST`, else (test set) the copy embedded in `data/`, else
 * the per-user cache, downloading into it (md5 of the content checked) when absent. Weights:
 * `--weights book` (the default: the book's DeepConvNet embedded in `data/`), `--weights halfprec`
 * (the project's own) or a safetensors file.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipIdx } from "../data/idx.ts";
import type { LabeledImages } from "../data/labeled_images.ts";
import { MNIST_FILES, type MnistSplit } from "../data/mnist.ts";
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

/** The repository's `data/` folder: the MNIST test set and the weights that ship with halfprec. */
export const DATA_DIR: string = fileURLToPath(new URL("../data/", import.meta.url));

/**
 * The folder holding the MNIST `split` files: `--data`, else `HALFPREC_MNIST`, else (for the
 * test set) {@linkcode DATA_DIR}, else the cache, downloading into it from a public mirror (md5 of
 * the content checked) when they are absent.
 */
export async function locateMnist(split: MnistSplit, flag?: string): Promise<MnistLocation> {
  const chosen = flag ?? setting("HALFPREC_MNIST");
  if (chosen !== undefined) return { dir: chosen };
  const files = [MNIST_FILES[split].images, MNIST_FILES[split].labels];
  if (files.every((f) => exists(join(DATA_DIR, f.name)))) return { dir: DATA_DIR };
  const dir = join(cacheDir(), "mnist");
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
  // Decompressed no further than its IDX header promises (and the compressed size allows):
  // a bomb from a bad mirror is refused before it fills memory, and before its md5.
  const idx = await gunzipIdx(gz, url.href);
  // parseIdx's data is a view into the decompressed file: the header sits just before it.
  const headerLength = 4 + 4 * idx.shape.length;
  const { buffer, byteOffset, length } = idx.data;
  const content = new Uint8Array(buffer, byteOffset - headerLength, headerLength + length);
  const md5 = createHash("md5").update(content).digest("hex");
  if (md5 !== file.md5) throw new Error(`${url} has content md5 ${md5}, expected ${file.md5}`);
  const temporary = `${path}.tmp-${crypto.randomUUID()}`;
  await Deno.writeFile(temporary, gz);
  await Deno.rename(temporary, path);
}

/**
 * The weights that ship in {@linkcode DATA_DIR}, by the name `--weights` takes: `book` (the
 * pretrained DeepConvNet of "Deep Learning from Scratch", float64) and `halfprec` (trained by
 * `deno task train`, float32).
 */
export const NAMED_WEIGHTS: Readonly<Record<"book" | "halfprec", string>> = {
  book: join(DATA_DIR, "deepconvnet-book.safetensors"),
  halfprec: join(DATA_DIR, "deepconvnet-halfprec.safetensors"),
};

/**
 * The weights file `--weights` names: `book` (also when the flag is absent), `halfprec`, or a
 * path (write `./book` for a file of that name).
 */
export function locateWeights(flag: string = "book"): string {
  return Object.hasOwn(NAMED_WEIGHTS, flag)
    ? NAMED_WEIGHTS[flag as keyof typeof NAMED_WEIGHTS]
    : flag;
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
export async function loadTestSet(flag?: string): Promise<{ set: LabeledImages; dir: string }> {
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
