/**
 * The data tests read, found by the commands' own lookup (`cli/_locate.ts`): the MNIST test set
 * and the book's weights embedded in `data/`, and the reference logits in `tests/fixtures/`.
 * Nothing outside the repository is needed.
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { locateMnist, locateWeights } from "../cli/_locate.ts";
import { readMnistDir } from "../data/files.ts";
import { MNIST_FILES } from "../data/mnist.ts";
import { gzip, idxFile } from "./_idx.ts";

/** The folder holding the MNIST test set (the embedded copy unless `HALFPREC_MNIST` says otherwise). */
export const MNIST: string = (await locateMnist("test")).dir;

/** The book's DeepConvNet weights (`--weights book`). */
export const WEIGHTS: string = locateWeights("book");

/** The float64 logits of the book's network on the 10,000 test images, computed with numpy. */
export const LOGITS: string = fileURLToPath(
  new URL("fixtures/deepconvnet-book-logits-f64.safetensors", import.meta.url),
);

/**
 * A temporary MNIST folder for commands that train: its "training set" is `count` images of
 * the test set from image `first`, its test set the whole test set. The caller removes it.
 *
 * @example
 * ```ts ignore
 * const dir = await trainingSlice(200);
 * // deno task train --data dir ...
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function trainingSlice(count: number, first = 0): Promise<string> {
  const test = await readMnistDir(MNIST, "test");
  const dir = await Deno.makeTempDir();
  const { images, labels } = MNIST_FILES.train;
  const pixels = test.images.subarray(first * 28 * 28, (first + count) * 28 * 28);
  await Deno.writeFile(join(dir, images.name), await gzip(idxFile([count, 28, 28], pixels)));
  const digits = test.labels.subarray(first, first + count);
  await Deno.writeFile(join(dir, labels.name), await gzip(idxFile([count], digits)));
  await copyTestSet(dir);
  return dir;
}

/**
 * A temporary MNIST folder holding the test set and no training files, whatever folder
 * `HALFPREC_MNIST` points the lookup at. The caller removes it.
 *
 * @example
 * ```ts ignore
 * const dir = await testSetAlone();
 * // deno task eval --calibrate 10 --data dir ... fails: no training files
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function testSetAlone(): Promise<string> {
  const dir = await Deno.makeTempDir();
  await copyTestSet(dir);
  return dir;
}

async function copyTestSet(dir: string): Promise<void> {
  for (const file of Object.values(MNIST_FILES.test)) {
    await Deno.copyFile(join(MNIST, file.name), join(dir, file.name));
  }
}
