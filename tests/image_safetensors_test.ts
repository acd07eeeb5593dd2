import assert from "node:assert/strict";
import { f32, f64, imageBatch, parseImageSafetensors } from "../mod.ts";
import { assertDataError } from "./_assert_data_error.ts";

/** A tensor as a safetensors file stores it. */
interface Stored {
  dtype: string;
  shape: number[];
  bytes: Uint8Array;
}

/** The safetensors file of `tensors`, in the given order, as numpy's writers lay it out. */
function file(tensors: Record<string, Stored>): Uint8Array {
  let offset = 0;
  const header: Record<string, unknown> = {};
  for (const [name, { dtype, shape, bytes }] of Object.entries(tensors)) {
    header[name] = { dtype, shape, data_offsets: [offset, offset += bytes.length] };
  }
  const text = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + text.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
  out.set(text, 8);
  let at = 8 + text.length;
  for (const { bytes } of Object.values(tensors)) out.set(bytes, at), at += bytes.length;
  return out;
}

const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const u8Images = (n: number): Stored => ({
  dtype: "U8",
  shape: [n, 1, 2, 2],
  bytes: Uint8Array.from({ length: n * 4 }, (_, i) => i * 20),
});
const i64Labels = (...labels: number[]): Stored => ({
  dtype: "I64",
  shape: [labels.length],
  bytes: bytesOf(BigInt64Array.from(labels, BigInt)),
});
const SOURCE = "mine.safetensors";

Deno.test("parseImageSafetensors() reads U8 images and numpy's int64 labels", () => {
  const set = parseImageSafetensors(file({ images: u8Images(2), labels: i64Labels(3, 9) }), SOURCE);
  assert.deepEqual([set.shape, [...set.labels], set.classes], [[2, 1, 2, 2], [3, 9], 10]);
  assert.deepEqual(
    [...imageBatch(set, 1, 1, f64).toFloat64()],
    [80, 100, 120, 140].map((p) => p / 255),
  );
});

Deno.test("parseImageSafetensors() takes F32 and F64 images as they are", () => {
  const values = [-1.5, 0.1, 2, 1e-3, 0, 7, 3.25, -0.5, 1, 1, 1, 1];
  for (const [dtype, array] of [["F32", Float32Array], ["F64", Float64Array]] as const) {
    const images = { dtype, shape: [1, 3, 2, 2], bytes: bytesOf(array.from(values)) };
    const labels = { dtype: "U8", shape: [1], bytes: new Uint8Array([1]) };
    const set = parseImageSafetensors(file({ images, labels }), SOURCE);
    assert.ok(set.images instanceof array);
    assert.deepEqual([...imageBatch(set, 0, 1, f64).toFloat64()], [...array.from(values)]);
    assert.deepEqual([...imageBatch(set, 0, 1, f32).toFloat64()], [...Float32Array.from(values)]);
  }
});

Deno.test("parseImageSafetensors() refuses files that are not images and labels, in one line", () => {
  const images = u8Images(2);
  const cases: [Record<string, Stored>, string, string, string][] = [
    [
      { images },
      'tensor "labels"',
      "the class of each image, shape (N), an integer dtype",
      "no such tensor",
    ],
    [
      { labels: i64Labels(1) },
      'tensor "images"',
      "the images, shape (N, C, H, W), dtype U8, F32 or F64",
      "no such tensor",
    ],
    [
      { images, labels: i64Labels(1, 2), extra: i64Labels(0) },
      'tensor "extra"',
      'only the tensors "images" and "labels"',
      "1 other tensor",
    ],
    [
      { images: { ...images, dtype: "I8" }, labels: i64Labels(1, 2) },
      'tensor "images" field "dtype"',
      "one of U8, F32, F64",
      '"I8"',
    ],
    [
      { images: { ...images, shape: [2, 4] }, labels: i64Labels(1, 2) },
      'tensor "images" field "shape"',
      "(N, C, H, W), none of them 0",
      "[2, 4]",
    ],
    [
      { images, labels: { dtype: "F32", shape: [2], bytes: new Uint8Array(8) } },
      'tensor "labels" field "dtype"',
      "an integer dtype, one of U8, I8, U16, I16, U32, I32, U64, I64",
      '"F32"',
    ],
    [
      { images, labels: i64Labels(1, 2, 3) },
      'tensor "labels" field "shape"',
      "[2], one label per image",
      "[3]",
    ],
    [
      { images, labels: i64Labels(1, -4) },
      'tensor "labels" label 1',
      "a class index from 0 to 2147483647",
      "-4",
    ],
    [
      {
        images: { dtype: "F32", shape: [1, 1, 1, 2], bytes: bytesOf(Float32Array.of(0, NaN)) },
        labels: i64Labels(0),
      },
      'tensor "images" image 0 value 1',
      "a finite number",
      "NaN",
    ],
  ];
  for (const [tensors, field, expected, found] of cases) {
    assert.throws(
      () => parseImageSafetensors(file(tensors), SOURCE),
      (error) => assertDataError(error, { source: SOURCE, field, expected, found }),
      field,
    );
  }
});

Deno.test("parseImageSafetensors() refuses a truncated file with the safetensors checks", () => {
  const bytes = file({ images: u8Images(2), labels: i64Labels(1, 2) });
  assert.throws(
    () => parseImageSafetensors(bytes.subarray(0, bytes.length - 1), SOURCE),
    (error) =>
      assertDataError(error, {
        source: SOURCE,
        field: 'tensor "labels" field "data_offsets"',
        expected: "a range within the 23-byte data section",
        found: "[8,24]",
      }),
  );
});
