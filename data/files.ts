/**
 * Reading and writing data files on disk, as the `@halfprec/halfprec/files` entry point.
 *
 * **Deno only**: this is the one module of halfprec that uses Deno APIs, which is why it is not
 * part of the main entry point. In a browser, fetch the bytes yourself and call the parsers it
 * wraps (`parseSafetensors`, `serializeSafetensors`, `parseMnist`).
 *
 * @example Load the weights and the MNIST test set
 * ```ts ignore
 * import { readMnistDir, readSafetensorsFile } from "@halfprec/halfprec/files";
 * import assert from "node:assert/strict";
 *
 * const weights = await readSafetensorsFile("data/deepconvnet-book.safetensors");
 * const test = await readMnistDir("data", "test");
 * assert.deepEqual(weights.tensors.get("W7")?.shape, [1024, 50]);
 * assert.equal(test.shape[0], 10000);
 * ```
 *
 * @module
 */
import { join } from "node:path";
import type { Tensor } from "../layers/tensor.ts";
import { DataError } from "./data_error.ts";
import { escapeText } from "./_quote.ts";
import { writeAtomic } from "./_write_atomic.ts";
import { parseImageSafetensors } from "./image_safetensors.ts";
import type { LabeledImages } from "./labeled_images.ts";
import { MNIST_FILES, type MnistSplit, parseMnist } from "./mnist.ts";
import { parseSafetensors, type Safetensors, serializeSafetensors } from "./safetensors.ts";
import { importOnnx, type ImportOnnxOptions } from "../onnx/import_onnx.ts";
import type { Sequential } from "../layers/sequential.ts";

/**
 * The tensors and metadata of the safetensors file at `path`.
 *
 * @param path The file.
 * @returns The tensors by name, and the metadata.
 * @throws {DataError} When the file does not exist, is not a regular file, is over 2 GiB or is
 * not valid safetensors; the message names `path`.
 *
 * @example
 * ```ts ignore
 * import { f64 } from "@halfprec/halfprec";
 * import { readSafetensorsFile } from "@halfprec/halfprec/files";
 * import assert from "node:assert/strict";
 * const { tensors } = await readSafetensorsFile("data/deepconvnet-book.safetensors");
 * assert.equal(tensors.get("W1")?.storage, f64);
 * ```
 */
export async function readSafetensorsFile(path: string): Promise<Safetensors> {
  return parseSafetensors(await readFile(path, "a safetensors file"), path);
}

/**
 * The network of the ONNX model at `path` (see `importOnnx`, whose options it takes; errors name
 * `path`).
 *
 * @param path The `.onnx` file.
 * @param options As for `importOnnx`; `source` defaults to `path`.
 * @throws {DataError} When the file does not exist, or the model cannot be imported.
 *
 * @example
 * ```ts ignore
 * import { readOnnxFile } from "@halfprec/halfprec/files";
 * import assert from "node:assert/strict";
 * const net = await readOnnxFile("tests/fixtures/deepconvnet-book-f64.onnx");
 * assert.deepEqual(net.inputShape, [1, 28, 28]);
 * ```
 */
export async function readOnnxFile(
  path: string,
  options: ImportOnnxOptions = {},
): Promise<Sequential> {
  return importOnnx(await readFile(path, "an ONNX model"), { source: path, ...options });
}

/**
 * Saves `tensors` and `metadata` as a safetensors file at `path`.
 *
 * The bytes go to a temporary file next to `path` first, are flushed to disk, and only then
 * renamed to `path`: a crash or a full disk leaves either the old file or the new one, never half of one.
 *
 * @param path The file to create or replace.
 * @param tensors The tensors by name.
 * @param metadata Strings saved under `__metadata__`.
 *
 * @example
 * ```ts ignore
 * import { f16, Tensor } from "@halfprec/halfprec";
 * import { readSafetensorsFile, writeSafetensorsFile } from "@halfprec/halfprec/files";
 * import assert from "node:assert/strict";
 * await writeSafetensorsFile("x.safetensors", { x: Tensor.from(f16, [1], [0.5]) });
 * assert.equal((await readSafetensorsFile("x.safetensors")).tensors.get("x")?.storage, f16);
 * ```
 */
export async function writeSafetensorsFile(
  path: string,
  tensors: Record<string, Tensor> | Map<string, Tensor>,
  metadata?: Record<string, string>,
): Promise<void> {
  await writeAtomic(path, serializeSafetensors(tensors, metadata));
}

/**
 * The MNIST `split` from the standard gzipped files (see {@linkcode MNIST_FILES}) in `dir`.
 *
 * @param dir The folder holding the four `.gz` files.
 * @param split `"train"` (60,000 images) or `"test"` (10,000).
 * @returns The images, `[N, 1, 28, 28]`, and their labels.
 * @throws {DataError} When `dir` is not a folder, a file is missing, not a regular file or not
 * valid MNIST (the message names its path), or the set holds no image.
 *
 * @example
 * ```ts ignore
 * import { readMnistDir } from "@halfprec/halfprec/files";
 * import assert from "node:assert/strict";
 * const train = await readMnistDir("mnist", "train");
 * assert.equal(train.shape[0], 60000);
 * ```
 */
export async function readMnistDir(dir: string, split: MnistSplit): Promise<LabeledImages> {
  const isFolder = await Deno.stat(dir).then((info) => info.isDirectory, () => undefined);
  if (isFolder === false) {
    throw new DataError(dir, {
      field: "path",
      expected: `a folder holding the MNIST ${split} files`,
      found: "a file",
    });
  }
  const files = MNIST_FILES[split];
  const images = join(dir, files.images.name);
  const labels = join(dir, files.labels.name);
  // One after the other, so that with both files missing the error is always about the images.
  const imageBytes = await readFile(images, `the gzipped MNIST ${split} images`);
  const labelBytes = await readFile(labels, `the gzipped MNIST ${split} labels`);
  return parseMnist(imageBytes, labelBytes, { images, labels });
}

/**
 * Your own labelled images from the safetensors file at `path` (tensors `images`, (N, C, H, W),
 * U8, F32 or F64, and `labels`, (N), integers; see {@linkcode parseImageSafetensors}).
 *
 * @param path The file.
 * @returns The images, their shape, labels and number of classes.
 * @throws {DataError} When the file does not exist or does not hold such images; the message
 * names `path`, the tensor and what was expected.
 *
 * @example
 * ```ts ignore
 * import { readImageSafetensorsFile } from "@halfprec/halfprec/files";
 * const set = await readImageSafetensorsFile("my-images.safetensors");
 * console.log(set.shape, set.classes);
 * ```
 */
export async function readImageSafetensorsFile(path: string): Promise<LabeledImages> {
  return parseImageSafetensors(
    await readFile(path, "a safetensors file of images and labels"),
    path,
  );
}

/**
 * The largest file read: 2 GiB, past which a buffer of it cannot be made in every runtime.
 * A size known before reading, so `/dev/zero` or a huge file is refused, not read.
 */
const MAX_FILE_BYTES = 2 ** 31;

/**
 * The bytes of the regular file `path`; anything else (missing, a folder, a device, a FIFO,
 * over {@linkcode MAX_FILE_BYTES}, unreadable) is a DataError naming `path` and what it holds.
 */
async function readFile(path: string, holding: string): Promise<Uint8Array> {
  const refuse = (found: string, cause?: unknown) =>
    new DataError(path, { field: "file", expected: holding, found }, { cause });
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (error) {
    throw refuse(osProblem(error), error);
  }
  if (!info.isFile) {
    throw refuse(info.isDirectory ? "a folder" : "not a regular file (a device, FIFO or socket)");
  }
  if (info.size > MAX_FILE_BYTES) throw refuse(`${info.size} bytes, over ${MAX_FILE_BYTES}`);
  try {
    return await Deno.readFile(path);
  } catch (error) {
    throw refuse(osProblem(error), error);
  }
}

/** An OS error in a few words: "no such file", "no permission to read it", or its message. */
function osProblem(error: unknown): string {
  if (error instanceof Deno.errors.NotFound) return "no such file";
  if (error instanceof Deno.errors.PermissionDenied) return "no permission to read it";
  if (error instanceof Deno.errors.NotADirectory) return "a path through something not a folder";
  return escapeText(error instanceof Error ? error.message : String(error));
}
