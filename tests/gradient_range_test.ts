/**
 * Gradient range counters: predicted from float64, observed in the format's step, and
 * isolated (each layer alone), on a crafted step with known counts and on real MNIST images.
 *
 * @module
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { deepConvNet, f16, f64, imageBatch, Sequential, Tensor } from "../mod.ts";
import { Affine, Softmax } from "../layers/mod.ts";
import { gradientRanges, gradientRangeTotals, type RangeCounts } from "../analysis/mod.ts";
import { readMnistDir, readSafetensorsFile } from "../data/files.ts";
import { MNIST } from "./_data.ts";

const WEIGHTS = fileURLToPath(new URL("../data/deepconvnet-halfprec.safetensors", import.meta.url));

/**
 * Affine 3 -> 2 with zero weights, then softmax: on one image the probabilities are 1/2 each,
 * so with label 0 the gradient at the logits is (-1/2, 1/2) times the loss scale, dW is the
 * input times that, and dx is zero.
 */
function crafted(): Sequential {
  return new Sequential([new Affine({ inputs: 3, outputs: 2 }), new Softmax()]);
}

/** The input: f16 holds each value exactly; the products with ±scale/2 are the test. */
const X = Tensor.from(f64, [1, 3], [16, 1, 2 ** -20]);

const NONE: Omit<RangeCounts, "total"> = { overflow: 0, underflow: 0, subnormal: 0 };

Deno.test("gradientRanges() counts the scaled gradients of a crafted step exactly", () => {
  const cases: [number, Omit<RangeCounts, "total">][] = [
    // dW = ±(8, 0.5, 2^-21): 2^-21 is subnormal in f16.
    [1, { ...NONE, subnormal: 2 }],
    // dW = ±(2^16, 2^12, 2^-8): 2^16 is past f16's largest, 65504.
    [2 ** 13, { ...NONE, overflow: 2 }],
    // dW = ±(2^-3, 2^-7, 2^-27): 2^-27 is below half the smallest subnormal, 2^-24.
    [2 ** -6, { ...NONE, underflow: 2 }],
  ];
  for (const [lossScale, dW] of cases) {
    const net = crafted();
    const reports = gradientRanges(net, net.to(f16), X, [0], { lossScale });
    assert.deepEqual(
      reports.map((r) => `${r.layer} ${r.tensor} ${r.format}`),
      ["softmax1 dx f16", "affine1 dW1 f16", "affine1 db1 f16", "affine1 dx f16"],
    );
    const expected: Record<string, RangeCounts> = {
      "softmax1 dx": { total: 2, ...NONE },
      "affine1 dW1": { total: 6, ...dW },
      "affine1 db1": { total: 2, ...NONE },
      "affine1 dx": { total: 3, ...NONE },
    };
    for (const r of reports) {
      const what = `${r.layer} ${r.tensor}, loss scale ${lossScale}`;
      assert.deepEqual(r.predicted, expected[`${r.layer} ${r.tensor}`], what);
      assert.deepEqual(r.observed, r.predicted, what);
      assert.deepEqual(r.isolated, r.predicted, what);
    }
    assert.equal(reports[1].range.maxAbs, 16 * lossScale / 2);
    const totals = gradientRangeTotals(reports);
    assert.deepEqual(totals.params.observed, { total: 8, ...dW });
    assert.deepEqual(totals.inputs.predicted, { total: 5, ...NONE });
  }
});

Deno.test("gradient counters on MNIST: isolated equals predicted, loss scaling lifts underflow", async () => {
  const net = deepConvNet();
  net.loadParams((await readSafetensorsFile(WEIGHTS)).tensors);
  const set = await readMnistDir(MNIST, "test");
  const x = imageBatch(set, 0, 10, f64);
  const labels = set.labels.subarray(0, 10);
  const half = net.to(f16);
  const unscaled = gradientRanges(net, half, x, labels);
  assert.equal(unscaled.length, 16 + 21);
  for (const r of unscaled) {
    const what = `${r.layer} ${r.tensor}`;
    if (r.tensor !== "dx" || Object.keys(net.layer(r.layer).params).length === 0) {
      // One rounding of the float64 result: exactly what the prediction rounds.
      assert.deepEqual(r.isolated, r.predicted, what);
    } else {
      // conv and affine compute dx with rounded weights: a few values may cross a threshold.
      const moved = Math.abs(r.isolated.underflow - r.predicted.underflow) +
        Math.abs(r.isolated.subnormal - r.predicted.subnormal);
      assert.ok(moved <= r.predicted.total / 1000, `${what}: ${moved} of ${r.predicted.total}`);
    }
  }
  const scaled = gradientRangeTotals(gradientRanges(net, half, x, labels, { lossScale: 2 ** 15 }));
  const plain = gradientRangeTotals(unscaled);
  // Unscaled f16 gradients of a trained network underflow by the thousand; scaling by 2^15
  // moves almost all of them into range, without overflow.
  assert.ok(plain.params.predicted.underflow > 1000, `${plain.params.predicted.underflow}`);
  assert.ok(
    scaled.params.predicted.underflow < plain.params.predicted.underflow / 10,
    `${scaled.params.predicted.underflow} vs ${plain.params.predicted.underflow}`,
  );
  assert.equal(scaled.params.observed.overflow, 0);
  // Underflow propagates in the real step: zeros in dx make zeros in the dW below.
  assert.ok(plain.params.observed.underflow >= plain.params.predicted.underflow);
});
