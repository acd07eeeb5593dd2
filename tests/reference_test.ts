/**
 * The cross-check against the numpy reference: with the book's weights, DeepConvNet in float64
 * reproduces the reference logits for all 10,000 test images, and its accuracy, on the
 * TypeScript path (the reference) and on the wasm path (the same float64 sums).
 *
 * @module
 */
import assert from "node:assert/strict";
import { deepConvNet, f64, imageBatch } from "../mod.ts";
import { argmaxRows } from "../layers/mod.ts";
import { imageCount } from "../data/mod.ts";
import { readMnistDir, readSafetensorsFile } from "../data/files.ts";
import { LOGITS, MNIST, WEIGHTS } from "./_data.ts";

/** Relative error bound of the float64 pass against numpy (which sums in another order). */
const REFERENCE_TOLERANCE = 1e-9;

Deno.test("DeepConvNet in f64 matches the numpy logits on all 10,000 test images, 99.350 % correct, on both kernel paths", async () => {
  const book = deepConvNet();
  book.loadParams((await readSafetensorsFile(WEIGHTS)).tensors, WEIGHTS);
  const expected = (await readSafetensorsFile(LOGITS)).tensors.get("logits")!.toFloat64();
  const set = await readMnistDir(MNIST, "test");
  const batch = 500;
  {
    for (const path of ["typescript", "wasm"] as const) {
      const net = book.withKernels(path);
      let worst = 0;
      let worstAt = 0;
      let correct = 0;
      for (let start = 0; start < imageCount(set); start += batch) {
        const logits = net.logits(imageBatch(set, start, batch, f64));
        const got = logits.toFloat64();
        for (let i = 0; i < got.length; i++) {
          const want = expected[start * 10 + i];
          const err = Math.abs(got[i] - want) / Math.abs(want);
          if (err > worst) worst = err, worstAt = start * 10 + i;
        }
        argmaxRows(logits).forEach((p, i) => correct += p === set.labels[start + i] ? 1 : 0);
      }
      console.log(
        `${path} path: max relative error against numpy ${
          worst.toExponential(2)
        } at logit ${worstAt}`,
      );
      assert.ok(
        worst < REFERENCE_TOLERANCE,
        `${path}: logit ${worstAt}: relative error ${worst}`,
      );
      assert.equal(correct, 9935, `${path}: f64 accuracy ${correct / 100} %, expected 99.350 %`);
    }
  }
});
