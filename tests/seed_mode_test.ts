/**
 * A seed-mode network rounds its own input: feeding it the float64 images gives what rounding
 * the parameters and the images by hand gives, and forgetting the images is not possible.
 *
 * @module
 */
import assert from "node:assert/strict";
import { deepConvNet, e5m2, f64, imageBatch, storageByName, withPrecision } from "../mod.ts";
import { networkFromSpec, networkSpec } from "../layers/mod.ts";
import { readMnistDir, readSafetensorsFile } from "../data/files.ts";
import { MNIST, WEIGHTS } from "./_data.ts";

// Enough images for the unrounded input to change a class (image 115 does in e5m2).
const IMAGES = 200;
const book = deepConvNet();
book.loadParams((await readSafetensorsFile(WEIGHTS)).tensors, WEIGHTS);
const set = await readMnistDir(MNIST, "test");

Deno.test("withPrecision seed rounds the input: the same classes as rounding images by hand", () => {
  const raw = imageBatch(set, 0, IMAGES, f64);
  const byHand = imageBatch(set, 0, IMAGES, f64);
  byHand.roundTo(e5m2);
  const paramsOnly = book.to(f64);
  for (const t of paramsOnly.params().values()) t.roundTo(e5m2);

  const seeded = withPrecision(book, e5m2, "seed");
  assert.equal(seeded.inputFormat, e5m2);
  assert.deepEqual(seeded.classify(raw), paramsOnly.classify(byHand));
  // The trap it closes: the parameters rounded and the images not give other classes.
  const forgotten = paramsOnly.classify(raw);
  const seededClasses = seeded.classify(raw);
  const differ = seededClasses.filter((c, i) => c !== forgotten[i]).length;
  assert.ok(differ > 0, "e5m2 input rounding changes no class of these images");
});

Deno.test("a seed-mode network keeps its input format through copies and specs", () => {
  const format = storageByName("e4m3-sr3");
  const seeded = withPrecision(book, format, "seed");
  const x = imageBatch(set, 0, 20, f64);
  const copy = networkFromSpec(structuredClone(networkSpec(seeded)));
  assert.equal(copy.inputFormat?.name, "e4m3-sr3");
  assert.equal(seeded.withKernels("typescript").inputFormat, format);
  // A stochastic input rounding restarts per image: the copy's own stream gives the same logits.
  assert.deepEqual(copy.logits(x).toFloat64(), seeded.logits(x).toFloat64());
  assert.equal(withPrecision(book, format, "store").inputFormat, undefined);
});
