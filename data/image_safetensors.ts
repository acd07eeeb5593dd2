/**
 * Your own labelled images as a safetensors file: a tensor `images` of shape (N, C, H, W) — U8
 * pixels (divided by 255 as input), or F32 / F64 values taken as they are — and a tensor
 * `labels` of shape (N) holding class indices in any integer dtype. numpy writes one in five
 * lines (see docs/data.md).
 *
 * @example Two 1×2×2 images of classes 0 and 2
 * ```ts
 * import { parseImageSafetensors, serializeSafetensors, Tensor, f32 } from "@halfprec/halfprec";
 * import assert from "node:assert/strict";
 *
 * const file = serializeSafetensors({
 *   images: Tensor.from(f32, [2, 1, 2, 2], [0, 0.5, 1, 0.25, 1, 1, 0, 0]),
 *   labels: Tensor.from(f32, [2], [0, 2]),
 * });
 * // Labels must be integers: F32 ones are refused, naming the tensor and its dtype.
 * assert.throws(() => parseImageSafetensors(file, "mine.safetensors"), /tensor "labels" field "dtype"/);
 * ```
 *
 * @module
 */
import { DataError } from "./data_error.ts";
import type { LabeledImages } from "./labeled_images.ts";
import { parseSafetensorsEntries, type SafetensorsEntry } from "./safetensors.ts";

/** The dtypes `images` may have. */
const IMAGE_DTYPES = ["U8", "F32", "F64"];
/** The dtypes `labels` may have, with how to read them. */
const LABEL_DTYPES: Record<string, (buffer: ArrayBuffer) => ArrayLike<number | bigint>> = {
  U8: (b) => new Uint8Array(b),
  I8: (b) => new Int8Array(b),
  U16: (b) => new Uint16Array(b),
  I16: (b) => new Int16Array(b),
  U32: (b) => new Uint32Array(b),
  I32: (b) => new Int32Array(b),
  U64: (b) => new BigUint64Array(b),
  I64: (b) => new BigInt64Array(b),
};
/** The most classes a label may name: Int32Array holds the labels. */
const MAX_LABEL = 2 ** 31 - 1;

/**
 * The labelled images in the safetensors file `bytes`; `source` names it in errors. The number
 * of classes is the largest label plus one.
 *
 * @param bytes The whole file.
 * @param source The file name or path, for error messages.
 * @returns The images, their shape, labels and number of classes.
 * @throws {DataError} When the file is not valid safetensors, a tensor is missing or extra, a
 * dtype or shape is not the one expected, an image value is not finite or a label is negative.
 *
 * @example Bytes become pixels / 255
 * ```ts
 * import { f64, imageBatch, parseImageSafetensors } from "@halfprec/halfprec";
 * import assert from "node:assert/strict";
 *
 * const header = '{"images":{"dtype":"U8","shape":[1,1,1,2],"data_offsets":[0,2]},' +
 *   '"labels":{"dtype":"U8","shape":[1],"data_offsets":[2,3]}}';
 * const text = new TextEncoder().encode(header);
 * const file = new Uint8Array([text.length, 0, 0, 0, 0, 0, 0, 0, ...text, 0, 255, 4]);
 * const set = parseImageSafetensors(file, "tiny.safetensors");
 * assert.deepEqual([set.shape, [...set.labels], set.classes], [[1, 1, 1, 2], [4], 5]);
 * assert.deepEqual([...imageBatch(set, 0, 1, f64).toFloat64()], [0, 1]);
 * ```
 */
export function parseImageSafetensors(bytes: Uint8Array, source: string): LabeledImages {
  const { entries } = parseSafetensorsEntries(bytes, source, [
    ...new Set([...IMAGE_DTYPES, ...Object.keys(LABEL_DTYPES)]),
  ]);
  const extra = [...entries.keys()].filter((name) => name !== "images" && name !== "labels");
  if (extra.length > 0) {
    throw new DataError(source, {
      field: `tensor ${JSON.stringify(extra[0])}`,
      expected: 'only the tensors "images" and "labels"',
      found: `${extra.length} other tensor${extra.length === 1 ? "" : "s"}`,
    });
  }
  const images = readImages(entry(entries, "images", source), source);
  const labels = readLabels(entry(entries, "labels", source), images.shape[0], source);
  let classes = 0;
  for (const label of labels) classes = Math.max(classes, label + 1);
  return { ...images, labels, classes };
}

function entry(
  entries: Map<string, SafetensorsEntry>,
  name: "images" | "labels",
  source: string,
): SafetensorsEntry {
  const found = entries.get(name);
  if (!found) {
    throw new DataError(source, {
      field: `tensor "${name}"`,
      expected: name === "images"
        ? "the images, shape (N, C, H, W), dtype U8, F32 or F64"
        : "the class of each image, shape (N), an integer dtype",
      found: "no such tensor",
    });
  }
  return found;
}

function readImages(
  { dtype, shape, bytes }: SafetensorsEntry,
  source: string,
): Pick<LabeledImages, "images" | "shape"> {
  if (!IMAGE_DTYPES.includes(dtype)) {
    throw new DataError(source, {
      field: 'tensor "images" field "dtype"',
      expected: `one of ${IMAGE_DTYPES.join(", ")}`,
      found: JSON.stringify(dtype),
    });
  }
  if (shape.length !== 4 || shape.some((n) => n === 0)) {
    throw new DataError(source, {
      field: 'tensor "images" field "shape"',
      expected: "(N, C, H, W), none of them 0",
      found: `[${shape.join(", ")}]`,
    });
  }
  // A copy of its own: the file's bytes need not stay alive, and the copy is aligned.
  const copy = bytes.slice();
  const images = dtype === "U8"
    ? copy
    : dtype === "F32"
    ? new Float32Array(copy.buffer)
    : new Float64Array(copy.buffer);
  if (!(images instanceof Uint8Array)) {
    const bad = images.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) {
      const size = shape[1] * shape[2] * shape[3];
      throw new DataError(source, {
        field: `tensor "images" image ${Math.floor(bad / size)} value ${bad % size}`,
        expected: "a finite number",
        found: String(images[bad]),
      });
    }
  }
  return { images, shape: [shape[0], shape[1], shape[2], shape[3]] };
}

function readLabels({ dtype, shape, bytes }: SafetensorsEntry, n: number, source: string) {
  const read = LABEL_DTYPES[dtype];
  if (!read) {
    throw new DataError(source, {
      field: 'tensor "labels" field "dtype"',
      expected: `an integer dtype, one of ${Object.keys(LABEL_DTYPES).join(", ")}`,
      found: JSON.stringify(dtype),
    });
  }
  if (shape.length !== 1 || shape[0] !== n) {
    throw new DataError(source, {
      field: 'tensor "labels" field "shape"',
      expected: `[${n}], one label per image`,
      found: `[${shape.join(", ")}]`,
    });
  }
  const values = read(bytes.slice().buffer);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const label = Number(values[i]);
    if (!(label >= 0 && label <= MAX_LABEL)) {
      throw new DataError(source, {
        field: `tensor "labels" label ${i}`,
        expected: `a class index from 0 to ${MAX_LABEL}`,
        found: String(values[i]),
      });
    }
    labels[i] = label;
  }
  return labels;
}
