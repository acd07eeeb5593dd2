/**
 * Bit flips: exactly the chosen bits at p = 1, nothing at p = 0, the rate of a Bernoulli
 * process in between, drawn from streams restarted per key, confined to weights or
 * activations, and the same result for the same configuration in one process.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  applyLayerConfig,
  comparePrecisions,
  deepConvNet,
  type LabeledImages,
  type Storage,
  storageByName,
  withPrecision,
} from "../mod.ts";
import { bitFlipsOf, withBitFlips } from "../layers/storage/mod.ts";
import { PARAMETERS_KEY } from "../layers/mod.ts";
import { analyzeFormats } from "../analysis/mod.ts";

/** The stored bits of every element of `data`, as bigints (codes of up to 64 bits). */
function codes(storage: Storage, data: { buffer: ArrayBufferLike; byteOffset: number }, n = 1) {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, n * storage.bytesPerElement);
  return Array.from({ length: n }, (_, i) => {
    let code = 0n;
    for (let b = storage.bytesPerElement - 1; b >= 0; b--) {
      code = (code << 8n) | BigInt(bytes[i * storage.bytesPerElement + b]);
    }
    return code;
  });
}

/** `values` stored in `storage` (its stream restarted at `key`), as codes. */
function stored(storage: Storage, values: number[], key = PARAMETERS_KEY): bigint[] {
  storage.stream?.restart(key);
  const data = storage.alloc(values.length);
  storage.write(Float64Array.from(values), 0, data, 0, values.length);
  return codes(storage, data, values.length);
}

const ones = (bits: number) => (1n << BigInt(bits)) - 1n;

/** Format name, stored bits, significand field bits. */
const FORMATS: [string, number, number][] = [
  ["f64", 64, 52],
  ["f32", 32, 23],
  ["f16", 16, 10],
  ["f16-polyfill", 16, 10],
  ["bf16", 16, 7],
  ["e4m3", 8, 3],
  ["e5m2", 8, 2],
  ["e3m4", 8, 4],
  ["e2m1", 4, 1],
];

const VALUES = [1, -0.3, 0.0625, 3, 0, -0];

for (const [name, width, significand] of FORMATS) {
  Deno.test(`${name}: p = 1 flips exactly the significand's bits, or every stored bit`, () => {
    const base = storageByName(name);
    const clean = stored(base, VALUES);
    const sig = stored(withBitFlips(base, { probability: 1, field: "significand" }), VALUES);
    assert.deepEqual(sig, clean.map((c) => c ^ ones(significand)));
    const any = stored(withBitFlips(base, { probability: 1 }), VALUES);
    assert.deepEqual(any, clean.map((c) => c ^ ones(width)));
  });
}

Deno.test("p = 0 changes nothing", () => {
  for (const [name] of FORMATS) {
    const base = storageByName(name);
    assert.deepEqual(stored(withBitFlips(base, { probability: 0 }), VALUES), stored(base, VALUES));
  }
});

Deno.test("flips land at the rate p, uniformly over the field's bits", () => {
  const p = 0.01, n = 20000, width = 16;
  const hit = withBitFlips(storageByName("f16"), { probability: p, seed: 5 });
  const perBit = new Array(width).fill(0);
  for (const c of stored(hit, new Array(n).fill(0))) {
    for (let b = 0; b < width; b++) perBit[b] += Number((c >> BigInt(b)) & 1n);
  }
  const total = perBit.reduce((a, b) => a + b, 0);
  // Binomial(n·16, p): mean 3200, standard deviation 56; 5 deviations either side.
  const mean = n * width * p, sd = Math.sqrt(n * width * p * (1 - p));
  assert.ok(Math.abs(total - mean) < 5 * sd, `${total} flips, expected ${mean} ± ${5 * sd}`);
  const bitSd = Math.sqrt(n * p * (1 - p));
  for (const [b, count] of perBit.entries()) {
    assert.ok(Math.abs(count - n * p) < 5 * bitSd, `bit ${b}: ${count} flips, expected ${n * p}`);
  }
});

Deno.test("flips repeat for a key, differ between keys, and keep to their target", () => {
  const values = new Array(1000).fill(0.5);
  const hit = storageByName("bf16+flip0.01-s9");
  assert.deepEqual(stored(hit, values, 4), stored(hit, values, 4));
  assert.notDeepEqual(stored(hit, values, 4), stored(hit, values, 5));
  const clean = stored(storageByName("bf16"), values);
  // Before its first restart a format flips nothing (a network rebuilt in a worker).
  const fresh = storageByName("bf16+flip0.5");
  const data = fresh.alloc(values.length);
  fresh.write(Float64Array.from(values), 0, data, 0, values.length);
  assert.deepEqual(codes(fresh, data, values.length), clean);
  const weights = storageByName("bf16+flip0.01-w");
  assert.notDeepEqual(stored(weights, values, PARAMETERS_KEY), clean);
  assert.deepEqual(stored(weights, values, 4), clean);
  const activations = storageByName("bf16+flip0.01-a");
  assert.deepEqual(stored(activations, values, PARAMETERS_KEY), clean);
  assert.notDeepEqual(stored(activations, values, 4), clean);
});

Deno.test("a flipping format's name spells it, and bad ones are refused", () => {
  const hit = storageByName("e4m3-sr3+flip1e-4-sig-a-s12");
  assert.equal(hit.name, "e4m3-sr3+flip0.0001-sig-a-s12");
  assert.equal(storageByName(hit.name).name, hit.name);
  assert.deepEqual(
    { ...bitFlipsOf(hit)!, base: bitFlipsOf(hit)!.base.name },
    { probability: 1e-4, field: "significand", target: "activations", seed: 12, base: "e4m3-sr3" },
  );
  assert.throws(
    () => storageByName("f16+flip2"),
    /^RangeError: Cannot flip bits of f16: probability is 2/,
  );
  assert.throws(() => storageByName("f16+flip0.1+flip0.1"), /already flips bits/);
  assert.throws(() => storageByName("mxfp4+flip0.1"), /a scaled format stores no codes/);
  assert.throws(() => storageByName("f16+flipx"), /Unknown storage format/);
});

/** A few deterministic images with some structure. */
function images(count: number): LabeledImages {
  const pixels = new Uint8Array(count * 784);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 37 + (i >> 9) * 11) % 256;
  const labels = new Uint8Array(count).map((_, i) => i % 10);
  return { images: pixels, shape: [count, 1, 28, 28], labels, classes: 10 };
}

Deno.test("the same flips twice in one process give the same result, recorded", async () => {
  const net = deepConvNet({ seed: 3 });
  const set = images(6);
  const run = async () =>
    (await comparePrecisions(net, set, {
      formats: [storageByName("f16+flip0.001-s4")],
      limit: 6,
      batch: 4,
    })).slice(1).map((r) => ({ ...r, seconds: 0 }));
  const [first, second] = [await run(), await run()];
  assert.deepEqual(first, second);
  assert.deepEqual(first[0].bitFlips, {
    probability: 0.001,
    field: "any",
    target: "both",
    seed: 4,
  });
  assert.equal(first[0].seed, 4);
  // Weights hit once: the parameters differ from the clean ones, the same way twice.
  const params = (name: string) =>
    withPrecision(net, storageByName(name), "store").params().get("W1")!.toFloat64();
  assert.notDeepEqual(params("f16+flip0.01-w"), params("f16"));
  assert.deepEqual(params("f16+flip0.01-w"), params("f16+flip0.01-w"));
  assert.deepEqual(params("f16+flip0.01-a"), params("f16"));
  // A configuration flips its layers' parameters once, the same way each time.
  const configured = () =>
    applyLayerConfig(net, { default: "f16", conv1: { storage: "f16+flip0.01-w", kernels: "ts" } })
      .params().get("W1")!.toFloat64();
  assert.deepEqual(configured(), params("f16+flip0.01-w"));
});

Deno.test("analyze with flips: the same result twice, and the damage found", async () => {
  const net = deepConvNet({ seed: 3 });
  const set = images(3);
  const run = async () =>
    (await analyzeFormats(net, set, [storageByName("f16+flip0.01-a-s2")])).results[0];
  const [first, second] = [await run(), await run()];
  assert.deepEqual(second, first);
  // Flips this frequent make infinities or NaNs in the first layer already.
  assert.equal(first.firstNonFinite?.layer, "conv1");
  assert.equal(first.firstNonFinite?.inputNonFinite, false);
});
