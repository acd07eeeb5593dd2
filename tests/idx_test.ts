import assert from "node:assert/strict";
import { gunzip, parseIdx } from "../data/idx.ts";
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
