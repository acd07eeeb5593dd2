/**
 * Seeded mutation of real input files (a safetensors file, an IDX/gzip pair of MNIST images
 * and labels, a configuration file): bit flips, truncations and splices. Every mutant either
 * parses into something whole or is refused in one bounded line naming the file — a
 * `DataError` for data files, the configuration's own error naming it — and never throws
 * anything else or takes long. The seeds make every case repeat exactly.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  bf16,
  DataError,
  f16,
  f32,
  f64,
  parseLayerConfig,
  parseMnist,
  parseSafetensors,
  serializeSafetensors,
  Tensor,
} from "../mod.ts";
import { Random } from "../layers/mod.ts";
import { gzip, idxFile } from "./_idx.ts";

/** Mutants per file, and the slowest a case may be. */
const CASES = 300;
const MAX_CASE_MS = 2000;

/** A mutant of `bytes`: a few bit flips, a truncation, or a splice of the file into itself. */
function mutate(bytes: Uint8Array, random: Random): Uint8Array {
  const at = (n: number) => Math.floor(random.uniform() * n);
  const out = Uint8Array.from(bytes);
  switch (at(4)) {
    case 0: // bit flips, mostly near the start, where the headers are
      for (let k = 1 + at(4); k > 0; k--) {
        const i = at(random.uniform() < 0.7 ? Math.min(out.length, 200) : out.length);
        out[i] ^= 1 << at(8);
      }
      return out;
    case 1: // truncation
      return out.subarray(0, at(out.length));
    case 2: { // a piece of the file copied over another place
      const [from, to, length] = [at(out.length), at(out.length), 1 + at(64)];
      out.set(bytes.subarray(from, from + length).subarray(0, out.length - to), to);
      return out;
    }
    default: { // a piece of the file inserted, or one cut out
      const [from, to] = [at(out.length), at(out.length)];
      const piece = bytes.subarray(from, from + 1 + at(64));
      return random.uniform() < 0.5
        ? Uint8Array.from([...out.subarray(0, to), ...piece, ...out.subarray(to)])
        : Uint8Array.from([...out.subarray(0, to), ...out.subarray(to + piece.length)]);
    }
  }
}

/** Asserts `error` is one of `kinds`, one line naming `source`, of bounded length. */
function assertRefusal(
  error: unknown,
  kinds: readonly (abstract new (...args: never[]) => Error)[],
  source: string,
): void {
  if (!kinds.some((kind) => error instanceof kind)) throw error;
  const { message } = error as Error;
  assert.ok(!message.includes("\n"), `more than one line: ${message}`);
  assert.ok(message.length <= 2000, `${message.length} characters`);
  assert.ok(message.includes(source), `the file is not named: ${message}`);
}

/**
 * Runs `CASES` mutants of `bytes` (seeded by `seed`) through `parse`, timing each; what it
 * throws goes to `refusal`, which re-throws what is not an expected refusal.
 */
async function fuzz(
  seed: number,
  bytes: Uint8Array,
  parse: (mutant: Uint8Array) => Promise<void> | void,
  refusal: (error: unknown) => void,
): Promise<{ parsed: number; refused: number }> {
  const random = new Random(seed);
  const counts = { parsed: 0, refused: 0 };
  for (let i = 0; i < CASES; i++) {
    const mutant = mutate(bytes, random);
    const started = performance.now();
    try {
      await parse(mutant);
      counts.parsed++;
    } catch (error) {
      try {
        refusal(error);
      } catch (unexpected) {
        throw new Error(`case ${i} of seed ${seed}: ${unexpected}`, { cause: unexpected });
      }
      counts.refused++;
    }
    const ms = performance.now() - started;
    assert.ok(ms < MAX_CASE_MS, `case ${i} of seed ${seed} took ${ms.toFixed(0)} ms`);
  }
  return counts;
}

Deno.test("mutated safetensors files parse whole or are refused with a DataError", async () => {
  const values = (n: number) => Array.from({ length: n }, (_, i) => (i % 7) - 3.5);
  const file = serializeSafetensors({
    W1: Tensor.from(f64, [4, 3], values(12)),
    b1: Tensor.from(f32, [4], values(4)),
    W2: Tensor.from(f16, [2, 4], values(8)),
    b2: Tensor.from(bf16, [2], values(2)),
  }, { format: "mixed" });
  const counts = await fuzz(17, file, (mutant) => {
    const { tensors } = parseSafetensors(mutant, "fuzz.safetensors");
    // What loads is whole: each tensor's bytes inside the file, none sharing bytes.
    let bytes = 0;
    for (const t of tensors.values()) {
      assert.equal(t.data.length, t.shape.reduce((a, b) => a * b, 1));
      bytes += t.data.length * t.storage.bytesPerElement;
    }
    assert.ok(bytes <= mutant.length, `${bytes} tensor bytes in a ${mutant.length}-byte file`);
  }, (error) => assertRefusal(error, [DataError], "fuzz.safetensors"));
  // Both outcomes occur, or the mutations test nothing.
  assert.ok(counts.parsed > 0 && counts.refused > CASES / 2, JSON.stringify(counts));
});

Deno.test("mutated MNIST IDX/gzip pairs parse whole or are refused with a DataError", async () => {
  const images = idxFile([20, 28, 28], Array.from({ length: 20 * 784 }, (_, i) => i % 251));
  const labels = idxFile([20], Array.from({ length: 20 }, (_, i) => i % 10));
  const [gzImages, gzLabels] = [await gzip(images), await gzip(labels)];
  const sources = { images: "fuzz-images.gz", labels: "fuzz-labels.gz" };
  const whole = (set: Awaited<ReturnType<typeof parseMnist>>) => {
    assert.equal(set.images.length, set.shape.reduce((a, b) => a * b, 1));
    assert.equal(set.labels.length, set.shape[0]);
    assert.ok(set.labels.every((l) => l < 10));
  };
  const refusal = (error: unknown) =>
    assertRefusal(error, [DataError], (error as DataError).source ?? "fuzz-");
  // The compressed bytes (most mutants fail the gzip checks), then the IDX content gzipped
  // again (so that mutants reach the IDX and MNIST checks), each file in turn.
  const runs = [
    fuzz(1, gzImages, async (m) => whole(await parseMnist(m, gzLabels, sources)), refusal),
    fuzz(2, gzLabels, async (m) => whole(await parseMnist(gzImages, m, sources)), refusal),
    fuzz(3, images, async (m) => {
      whole(await parseMnist(await gzip(Uint8Array.from(m)), gzLabels, sources));
    }, refusal),
    fuzz(4, labels, async (m) => {
      whole(await parseMnist(gzImages, await gzip(Uint8Array.from(m)), sources));
    }, refusal),
  ];
  const counts = [];
  for (const run of runs) counts.push(await run);
  assert.ok(counts.every((c) => c.refused > 0), JSON.stringify(counts));
  assert.ok(counts[2].parsed > 0 && counts[3].parsed > 0, JSON.stringify(counts));
});

Deno.test("mutated configuration files parse or are refused in one line naming the file", async () => {
  const text = `// Formats per layer
{
  "default": "f16",
  "conv1": { "storage": "f32", "accumulator": "f32" },
  "affine2": "bf16", /* trailing comma next */
}
`;
  const counts = await fuzz(
    5,
    new TextEncoder().encode(text),
    (mutant) => void parseLayerConfig(new TextDecoder().decode(mutant), "fuzz.json"),
    (error) => assertRefusal(error, [SyntaxError, TypeError, RangeError], "fuzz.json"),
  );
  assert.ok(counts.parsed > 0 && counts.refused > 0, JSON.stringify(counts));
});
