import assert from "node:assert/strict";
import { gunzip, gunzipIdx, parseIdx } from "../data/idx.ts";
import { assertDataError } from "./_assert_data_error.ts";
import { gzip, idxFile } from "./_idx.ts";

const MAGIC = "0x000008NN (NN the number of dimensions)";

Deno.test("parseIdx() reads the dimensions and the bytes after them", () => {
  const { shape, data } = parseIdx(idxFile([2, 3], [1, 2, 3, 4, 5, 255]), "x.idx");
  assert.deepEqual(shape, [2, 3]);
  assert.deepEqual([...data], [1, 2, 3, 4, 5, 255]);
});

Deno.test("parseIdx() reads sizes above 255 as big-endian", () => {
  const { shape, data } = parseIdx(idxFile([300], new Uint8Array(300).fill(7)), "x.idx");
  assert.deepEqual(shape, [300]);
  assert.equal(data.length, 300);
});

Deno.test("gunzip() undoes CompressionStream", async () => {
  const file = idxFile([4], [9, 8, 7, 6]);
  assert.deepEqual(await gunzip(await gzip(file), "x.gz"), file);
});

Deno.test("gunzip() turns a corrupt or truncated stream into a DataError naming the file", async () => {
  const zipped = await gzip(idxFile([4], [9, 8, 7, 6]));
  const flipped = zipped.slice();
  flipped[12] ^= 0xff;
  for (const bad of [new Uint8Array([1, 2, 3]), zipped.subarray(0, zipped.length - 4), flipped]) {
    await assert.rejects(gunzip(bad, "labels.gz"), (error) => {
      assert(error instanceof Error && error.cause instanceof Error, "keeps the stream's error");
      return assertDataError(error, {
        source: "labels.gz",
        field: "gzip stream",
        expected: "valid gzip data",
        found: /^data that does not decompress \(.+\)$/,
      });
    });
  }
});

Deno.test("parseIdx() shows a bad magic number in hex, as when a file was not unzipped", async () => {
  const zipped = await gzip(idxFile([1], [0]));
  const found = `0x1f8b08${zipped[3].toString(16).padStart(2, "0")}`;
  assert.throws(
    () => parseIdx(zipped, "t10k-labels-idx1-ubyte.gz"),
    (error) =>
      assertDataError(error, {
        source: "t10k-labels-idx1-ubyte.gz",
        field: "magic number",
        expected: MAGIC,
        found,
      }),
  );
});

Deno.test("parseIdx() rejects a file too short for a magic number", () => {
  assert.throws(
    () => parseIdx(new Uint8Array([0, 0, 8]), "x.idx"),
    (error) =>
      assertDataError(error, {
        source: "x.idx",
        field: "magic number",
        expected: MAGIC,
        found: "a 3-byte file",
      }),
  );
});

Deno.test("parseIdx() rejects elements that are not unsigned bytes", () => {
  const floats = idxFile([1], [0, 0, 0, 0]);
  floats[2] = 0x0d;
  assert.throws(
    () => parseIdx(floats, "x.idx"),
    (error) =>
      assertDataError(error, {
        source: "x.idx",
        field: "data type code",
        expected: "0x08 (unsigned byte)",
        found: "0x0d",
      }),
  );
});

Deno.test("parseIdx() rejects a file that ends inside its dimensions", () => {
  const file = idxFile([10, 28, 28], []).subarray(0, 10);
  assert.throws(
    () => parseIdx(file, "x.idx"),
    (error) =>
      assertDataError(error, {
        source: "x.idx",
        field: "dimensions",
        expected: "3 sizes of 4 bytes",
        found: "6 bytes",
      }),
  );
});

Deno.test("parseIdx() rejects truncated data and trailing bytes, counting both", () => {
  for (const length of [5, 7]) {
    assert.throws(
      () => parseIdx(idxFile([2, 3], new Uint8Array(length)), "x.idx"),
      (error) =>
        assertDataError(error, {
          source: "x.idx",
          field: "data",
          expected: "6 bytes from the dimensions [2, 3]",
          found: `${length} bytes`,
        }),
    );
  }
});

Deno.test("gunzip() reads a file of two gzip members as their contents one after the other", async () => {
  const first = idxFile([4], [9, 8, 7, 6]);
  const second = new Uint8Array([1, 2, 3]);
  const both = new Uint8Array([...await gzip(first), ...await gzip(second)]);
  assert.deepEqual(await gunzip(both, "x.gz"), new Uint8Array([...first, ...second]));
  const idx = await gunzipIdx(
    new Uint8Array([...await gzip(idxFile([5], [])), ...await gzip(new Uint8Array(5))]),
    "x.gz",
  );
  assert.deepEqual(idx.shape, [5]);
});

Deno.test("gunzip() stops at maxBytes instead of inflating a bomb", async () => {
  const bomb = await gzip(new Uint8Array(20_000_000));
  assert.ok(bomb.length < 40_000);
  await assert.rejects(
    gunzip(bomb, "bomb.gz", { maxBytes: 1000 }),
    (error) =>
      assertDataError(error, {
        source: "bomb.gz",
        field: "gzip stream",
        expected: "at most 1000 bytes once decompressed",
        found: "more",
      }),
  );
});

Deno.test("gunzipIdx() decompresses no more than the IDX header promises", async () => {
  // A valid header for 10 labels, then 2 MB of zeros.
  const header = idxFile([10], new Uint8Array(10));
  const bomb = await gzip(new Uint8Array([...header, ...new Uint8Array(2_000_000)]));
  await assert.rejects(gunzipIdx(bomb, "labels.gz"), (error) =>
    assertDataError(error, {
      source: "labels.gz",
      field: "gzip stream",
      expected: `at most ${header.length} bytes once decompressed`,
      found: "more",
    }));
  // A header promising far more than the compressed bytes can hold.
  const greedy = await gzip(idxFile([60000, 28, 28], []));
  await assert.rejects(gunzipIdx(greedy, "images.gz"), (error) =>
    assertDataError(error, {
      source: "images.gz",
      field: "dimensions",
      expected: `at most ${1032 * greedy.length + 1024} bytes, what ${greedy.length} ` +
        "gzipped bytes can hold",
      found: `[60000, 28, 28], ${16 + 60000 * 784} bytes`,
    }));
});
