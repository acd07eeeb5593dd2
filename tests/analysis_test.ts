/**
 * Error metrics, range counters and per-layer reports.
 *
 * @module
 */
import assert from "node:assert/strict";
import { floorLog2, pow2 } from "../layers/storage/_log2.ts";
import {
  bf16,
  deepConvNet,
  f16,
  f32,
  f64,
  layerReports,
  type Storage,
  storageByName,
  Tensor,
} from "../mod.ts";
import { errorMetrics, observeRange, predictRange, ulp } from "../analysis/mod.ts";
import { randomValues } from "./_gradcheck.ts";

Deno.test("errorMetrics() matches values worked by hand", () => {
  const reference = new Float64Array([3, 4]);
  const m = errorMetrics(reference, new Float64Array([3, 4.5]), f16);
  assert.equal(m.maxAbs, 0.5);
  assert.equal(m.relL2, 0.1); // 0.5 / 5
  assert.equal(m.sqnrDb, 20);
  assert.equal(m.maxUlp, 0.5 / 2 ** -8); // the f16 spacing at 4 is 2^-8
  assert.ok(Math.abs(m.cosine - (9 + 18) / (5 * Math.sqrt(9 + 20.25))) < 1e-15);
  const exact = errorMetrics(reference, reference, f16);
  assert.deepEqual(exact, { maxAbs: 0, relL2: 0, sqnrDb: Infinity, cosine: 1, maxUlp: 0 });
  assert.ok(Number.isNaN(errorMetrics(reference, new Float64Array([NaN, 4]), f16).maxAbs));
});

Deno.test("errorMetrics(): maxAbs and maxUlp are the largest of every element's, by definition", () => {
  for (const name of ["f64", "f32", "f16", "bf16", "e4m3", "e5m2", "e2m1", "int8"]) {
    const format = storageByName(name);
    const { maxFinite, minNormal, minSubnormal } = format.limits;
    // References of every size the format meets (zeros, subnormals, past its range), each
    // against candidates a little off, one spacing off and far off.
    const grid = Array.from({ length: 41 }, (_, i) => 2 ** ((i - 20) / 4));
    const edges = [maxFinite, minNormal, minSubnormal, 1, Number.MIN_VALUE];
    const sizes = [...edges.flatMap((edge) => grid.map((t) => edge * t)), 0, -0];
    const reference = Float64Array.from(
      sizes.filter((r) => Math.abs(r * 3) < Infinity).flatMap((r) => [r, -r, r, -r]),
    );
    const candidate = reference.map((r, i) =>
      [r * (1 + 2 ** -5), r + ulp(format, r), r * 3, -r][i % 4]
    );
    const differences = reference.map((r, i) => Math.abs(candidate[i] - r));
    const inUlps = differences.map((
      d,
      i,
    ) => (reference[i] === 0 ? 0 : d / ulp(format, reference[i])));
    const metrics = errorMetrics(reference, candidate, format);
    assert.ok(Number.isFinite(metrics.maxAbs) && Number.isFinite(metrics.maxUlp), name);
    assert.equal(metrics.maxAbs, Math.max(...differences), name);
    assert.equal(metrics.maxUlp, Math.max(...inUlps), name);
    // Up to each element: the maximum so far is the largest among the elements so far.
    for (const end of [1, 7, 100, reference.length >> 1]) {
      const part = errorMetrics(reference.subarray(0, end), candidate.subarray(0, end), format);
      assert.equal(part.maxUlp, Math.max(...inUlps.subarray(0, end)), `${name}, ${end}`);
    }
    // A NaN shows in both maxima; against a zero reference, which has no ulps, in maxAbs.
    for (const at of [0, 5, reference.length - 1]) {
      const withNaN = candidate.slice();
      withNaN[at] = NaN;
      const m = errorMetrics(reference, withNaN, format);
      assert.ok(Number.isNaN(m.maxAbs), `${name}, NaN at ${at}`);
      const ulps = reference[at] === 0 ? metrics.maxUlp : NaN;
      assert.equal(m.maxUlp, ulps, `${name}, NaN at ${at}`);
    }
  }
});

Deno.test("ulp() is the format's spacing, subnormals and the top of the range included", () => {
  assert.equal(ulp(f32, 1), 2 ** -23);
  assert.equal(ulp(f16, 65504), 32);
  assert.equal(ulp(f16, 1e9), 32);
  assert.equal(ulp(f16, 2 ** -20), 2 ** -24);
  assert.equal(ulp(bf16, -1.5), 2 ** -7);
  assert.equal(ulp(f64, 1), Number.EPSILON);
  // Just below a power of two, where Math.log2 rounds up to the power's exponent.
  for (const k of [3, 20, 100, 127]) {
    const below = 2 ** k * (1 - 2 ** -53);
    assert.equal(Math.floor(Math.log2(below)), k);
    assert.equal(ulp(f64, below), 2 ** (k - 1 - 52), `2^${k}`);
    assert.equal(ulp(f32, below), 2 ** (k - 1 - 23), `2^${k}`);
  }
});

Deno.test("floorLog2() is exact at every power of two and at its neighbours", () => {
  const word = new Float64Array(1);
  const bits = new BigInt64Array(word.buffer);
  /** The double `steps` representable numbers from `x` (x > 0). */
  const step = (x: number, steps: number) => {
    word[0] = x;
    bits[0] += BigInt(steps);
    return word[0];
  };
  let roundedUp = 0;
  for (let k = -1074; k <= 1023; k++) {
    const power = 2 ** k;
    assert.equal(floorLog2(power), k);
    // Above 2^-1074 is 2^-1073, and below it nothing.
    if (k === -1074) continue;
    assert.equal(floorLog2(step(power, 1)), k, `above 2^${k}`);
    assert.equal(floorLog2(step(power, -1)), k - 1, `below 2^${k}`);
    if (Math.floor(Math.log2(step(power, -1))) === k) roundedUp++;
  }
  // The case it exists for: Math.log2 alone is wrong there.
  assert.ok(roundedUp > 1000, `${roundedUp}`);
  // Elsewhere, what the logarithm says, so that a NaN reaches the result.
  for (const x of [0, -0, -1, Infinity, -Infinity, NaN]) {
    assert.ok(Object.is(floorLog2(x), Math.floor(Math.log2(x))), `${x}`);
  }
  assert.ok(Number.isNaN(ulp(f16, NaN)));
});

Deno.test("pow2() is 2 ** k at every integer k, past both ends of the doubles too", () => {
  for (let k = -1080; k <= 1030; k++) assert.ok(Object.is(pow2(k), 2 ** k), `2^${k}`);
  for (const k of [0.5, -Infinity, Infinity, NaN]) assert.ok(Object.is(pow2(k), 2 ** k), `${k}`);
});

/** A tensor with known counts for `format`: each class of value `count` times. */
function crafted(
  format: Storage,
  counts: { overflow: number; underflow: number; subnormal: number },
) {
  const { maxFinite, minNormal, minSubnormal } = format.limits;
  const values = [
    ...Array(counts.overflow).fill(maxFinite * 4),
    ...Array(counts.underflow).fill(minSubnormal / 4),
    ...Array(counts.subnormal).fill(minNormal / 2),
    ...Array(10).fill(1.5), // in range
    0, // zero is neither underflow nor subnormal
  ];
  return Float64Array.from(values.map((v, i) => (i % 2 ? -v : v)));
}

Deno.test("predicted range counters equal those observed in the stored tensor", () => {
  for (const format of [f32, f16, bf16]) {
    const counts = { overflow: 3, underflow: 5, subnormal: 7 };
    const values = crafted(format, counts);
    const stored = Tensor.from(format, [values.length], values).toFloat64();
    const predicted = predictRange(values, format);
    assert.deepEqual(predicted, { total: values.length, ...counts }, format.name);
    assert.deepEqual(observeRange(values, stored, format), predicted, format.name);
  }
});

Deno.test("predictRange() counts as rounding every value would, in every deterministic rounding", () => {
  const names = ["f64", "f32", "f16", "bf16", "e4m3", "e5m2", "e2m1", "e3m2-rz", "e4m3-ru"];
  const formats = [...names, "e5m2-rd", "e4m3-ro", "e3m4-rna", "e2m3-rnz", "int8", "mxfp4"];
  for (const format of formats.map(storageByName)) {
    const { maxFinite, minNormal, minSubnormal } = format.limits;
    // Every boundary of the range, approached from both sides, and values between them.
    const grid = Array.from({ length: 81 }, (_, i) => 2 ** ((i - 40) / 16));
    const edges = [maxFinite, maxFinite / 2, minNormal, minSubnormal, 1];
    const values = Float64Array.from([
      ...edges.flatMap((edge) => grid.map((t) => edge * t)),
      ...randomValues(200, 3).map((v) => v * maxFinite),
      0,
      -0,
      Infinity,
      NaN,
    ].flatMap((v) => [v, -v]));
    const rounded = values.map(format.round);
    assert.deepEqual(
      predictRange(values, format),
      observeRange(values, rounded, format),
      format.name,
    );
  }
});

Deno.test("layerReports(): isolated error is zero in f64, one rounding for f16 layers without weights", () => {
  const net = deepConvNet({ seed: 4 });
  const x = Tensor.from(f64, [2, 1, 28, 28], randomValues(2 * 784, 9).map(Math.abs));
  for (const r of layerReports(net, net.to(f64), x)) {
    assert.equal(r.isolated.maxAbs, 0, r.layer);
    assert.equal(r.propagated.maxAbs, 0, r.layer);
  }
  const half = layerReports(net, net.to(f16), x);
  for (const r of half) {
    const layer = net.layer(r.layer);
    if (Object.keys(layer.params).length === 0) {
      // Without weights, a layer alone computes in float64 and rounds once: half an ulp at most.
      assert.ok(r.isolated.maxUlp <= 0.5, `${r.layer}: ${r.isolated.maxUlp} ulp`);
    } else {
      // With weights, their rounding adds error, still of the order of f16's precision.
      assert.ok(
        r.isolated.relL2 > 0 && r.isolated.relL2 < 2 ** -8,
        `${r.layer}: ${r.isolated.relL2}`,
      );
    }
  }
  assert.ok(half.some((r) => r.propagated.maxUlp > 0.5), "errors must accumulate somewhere");
});

Deno.test("layerReports() sums batch by batch: any batch gives the whole run's report", () => {
  const net = deepConvNet({ seed: 5 });
  const x = Tensor.from(f64, [5, 1, 28, 28], randomValues(5 * 784, 3).map(Math.abs));
  for (const format of [f16, storageByName("e4m3")]) {
    const candidate = net.to(format);
    const whole = layerReports(net, candidate, x, { batch: 5 });
    assert.ok(whole.some((r) => r.propagated.maxAbs > 0), "the format must make some error");
    for (const batch of [1, 2]) {
      assert.deepEqual(layerReports(net, candidate, x, { batch }), whole, `batch ${batch}`);
    }
  }
  assert.throws(() => layerReports(net, net, x, { batch: 0 }), /batch is 0/);
});
