/**
 * Safetensors in memory: an 8-byte little-endian header length, a JSON header giving each
 * tensor's dtype, shape and byte range, then the raw little-endian elements.
 *
 * F64, F32, F16, BF16, F8_E4M3 and F8_E5M2 load into `f64`, `f32`, `f16`, `bf16`, `e4m3` and
 * `e5m2` tensors, and every storage saves as its `dtype`. Elements are copied byte for
 * byte both ways, so a round trip keeps every bit, NaN payloads included.
 *
 * @example Save tensors in two formats and read them back
 * ```ts
 * import { bf16, f32, parseSafetensors, serializeSafetensors, Tensor } from "@halfprec/halfprec";
 * import assert from "node:assert/strict";
 *
 * const bytes = serializeSafetensors({
 *   w: Tensor.from(bf16, [2], [0.1, -2]),
 *   b: Tensor.from(f32, [1], [0.5]),
 * }, { note: "example" });
 * const { tensors, metadata } = parseSafetensors(bytes, "example.safetensors");
 * const w = tensors.get("w");
 * assert(w?.storage === bf16);
 * assert.deepEqual([...w.toFloat64()], [0.10009765625, -2]);
 * assert.deepEqual(metadata, { note: "example" });
 * ```
 *
 * @module
 */
import type { Storage, StorageArray } from "../layers/storage/storage.ts";
import { FP8_STORAGES, STORAGES } from "../layers/storage/formats.ts";
import { f16Polyfill } from "../layers/storage/f16_polyfill.ts";
import { Tensor } from "../layers/tensor.ts";
import { DataError } from "./data_error.ts";
import { quote } from "./_quote.ts";
import { visit } from "jsonc-parser";

/**
 * The contents of a safetensors file.
 *
 * @example
 * ```ts
 * import { f64, Tensor } from "@halfprec/halfprec";
 * import type { Safetensors } from "@halfprec/halfprec/data";
 * import assert from "node:assert/strict";
 * const file: Safetensors = { tensors: new Map([["x", Tensor.from(f64, [1], [1])]]), metadata: {} };
 * assert.equal(file.tensors.size, 1);
 * ```
 */
export interface Safetensors {
  /** The tensors, by name. */
  tensors: Map<string, Tensor>;
  /** The header's `__metadata__` strings; empty when it has none. */
  metadata: Record<string, string>;
}

/** The header key that holds metadata rather than a tensor. */
const METADATA_KEY = "__metadata__";

/**
 * The storage each dtype loads into. The polyfill also saves as F16, but loading picks the
 * native `Float16Array`: same values, without the polyfill's slow Proxy element access.
 */
const STORAGE_BY_DTYPE: ReadonlyMap<string, Storage> = new Map(
  [...STORAGES, ...FP8_STORAGES].filter((s) => s !== f16Polyfill).map((s) => [s.dtype, s]),
);
const TENSOR_DTYPES = [...STORAGE_BY_DTYPE.keys()];

/**
 * The tensors and metadata of the safetensors file `bytes`; `source` names the file in errors.
 *
 * Each tensor gets its own freshly allocated storage: offsets in the file need not be aligned
 * for its element type, and the result does not keep `bytes` alive.
 *
 * @param bytes The whole file.
 * @param source The file name or path, for error messages.
 * @returns The tensors by name, and the metadata.
 * @throws {DataError} When the file is truncated, the header is not valid, a dtype is not one of
 * F64, F32, F16, BF16, F8_E4M3, F8_E5M2, or a tensor's byte range does not fit the file or its
 * shape.
 *
 * @example Read a file and report a corrupt one
 * ```ts
 * import { DataError, f64, parseSafetensors, serializeSafetensors, Tensor } from "@halfprec/halfprec";
 * import assert from "node:assert/strict";
 *
 * const bytes = serializeSafetensors({ x: Tensor.from(f64, [2, 1], [1, 2]) });
 * assert.deepEqual(parseSafetensors(bytes, "x.safetensors").tensors.get("x")?.shape, [2, 1]);
 * assert.throws(() => parseSafetensors(bytes.subarray(0, 20), "x.safetensors"), DataError);
 * ```
 */
export function parseSafetensors(bytes: Uint8Array, source: string): Safetensors {
  const { entries, metadata } = parseSafetensorsEntries(bytes, source, TENSOR_DTYPES);
  const tensors = new Map<string, Tensor>();
  for (const [name, entry] of entries) {
    const storage = STORAGE_BY_DTYPE.get(entry.dtype)!;
    const elements = storage.alloc(entry.bytes.length / storage.bytesPerElement);
    bytesOf(elements).set(entry.bytes);
    tensors.set(name, new Tensor(storage, entry.shape, elements));
  }
  return { tensors, metadata };
}

/**
 * One tensor of a safetensors file as it is stored: any dtype, its elements' bytes.
 *
 * @example
 * ```ts
 * import type { SafetensorsEntry } from "@halfprec/halfprec/data";
 * const labels: SafetensorsEntry = { dtype: "I64", shape: [1], bytes: new Uint8Array(8) };
 * ```
 */
export interface SafetensorsEntry {
  /** The dtype as the header names it (`"U8"`, `"I64"`, `"F32"`). */
  dtype: string;
  /** The dimensions. */
  shape: number[];
  /** The little-endian elements: a view into the file's bytes, not a copy. */
  bytes: Uint8Array;
}

/** The size of an element of every dtype the safetensors format defines, in bytes. */
const DTYPE_BYTES: ReadonlyMap<string, number> = new Map([
  ["BOOL", 1],
  ["U8", 1],
  ["I8", 1],
  ["F8_E4M3", 1],
  ["F8_E5M2", 1],
  ["U16", 2],
  ["I16", 2],
  ["F16", 2],
  ["BF16", 2],
  ["U32", 4],
  ["I32", 4],
  ["F32", 4],
  ["U64", 8],
  ["I64", 8],
  ["F64", 8],
]);

/**
 * The tensors of the safetensors file `bytes` as stored (dtype, shape and bytes), for data that
 * is not a network's parameters, such as images and integer labels; `dtypes` are the dtypes the
 * caller takes. The file is checked as {@linkcode parseSafetensors} checks it.
 *
 * @param bytes The whole file.
 * @param source The file name or path, for error messages.
 * @param dtypes The dtypes accepted.
 * @returns The tensors by name, and the metadata.
 * @throws {DataError} As {@linkcode parseSafetensors}, with `dtypes` as the dtypes expected.
 *
 * @example Integer labels
 * ```ts
 * import { parseSafetensorsEntries } from "@halfprec/halfprec/data";
 * import assert from "node:assert/strict";
 *
 * const header = new TextEncoder().encode('{"labels":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}');
 * const file = new Uint8Array([header.length, 0, 0, 0, 0, 0, 0, 0, ...header, 7, 3]);
 * const { entries } = parseSafetensorsEntries(file, "l.safetensors", ["U8", "I64"]);
 * assert.deepEqual([...entries.get("labels")!.bytes], [7, 3]);
 * ```
 */
export function parseSafetensorsEntries(
  bytes: Uint8Array,
  source: string,
  dtypes: readonly string[],
): { entries: Map<string, SafetensorsEntry>; metadata: Record<string, string> } {
  if (bytes.length < 8) {
    throw new DataError(source, {
      field: "file size",
      expected: "at least 8 bytes",
      found: `${bytes.length} bytes`,
    });
  }
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  const afterLength = bytes.length - 8;
  if (headerLength > BigInt(Math.min(afterLength, MAX_HEADER_BYTES))) {
    throw new DataError(source, {
      field: "header length",
      expected: afterLength <= MAX_HEADER_BYTES
        ? `at most ${afterLength}, the bytes after it`
        : `at most ${MAX_HEADER_BYTES} bytes`,
      found: `${headerLength}`,
    });
  }
  const dataStart = 8 + Number(headerLength);
  const header = parseHeader(bytes.subarray(8, dataStart), source);
  const { [METADATA_KEY]: metadata = {}, ...described } = header;
  const data = bytes.subarray(dataStart);
  // Every entry is checked, and the ranges together, before any byte is copied: a small file
  // whose many tensors all point at the same bytes must not allocate them many times over.
  const ranges = Object.entries(described).map(([name, entry]) =>
    checkEntry(entry, data.length, { source, name, dtypes })
  );
  checkCoverage(ranges, data.length, source);
  const entries = new Map<string, SafetensorsEntry>();
  for (const { name, dtype, shape, begin, end } of ranges) {
    entries.set(name, { dtype, shape, bytes: data.subarray(begin, end) });
  }
  return { entries, metadata: checkMetadata(metadata, source) };
}

/**
 * The largest header read, as the reference implementation's limit: a larger length field is
 * corrupt, and reading it would hold the whole file as text.
 */
const MAX_HEADER_BYTES = 100_000_000;

/** One header entry, checked: where its bytes are and what they hold. */
interface Range {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

/**
 * Checks that the ranges cover the data section exactly, one after the other: no gap, no
 * overlap (two tensors sharing bytes), no bytes after the last. The reference implementation
 * requires the same, so that a file has exactly one meaning.
 */
function checkCoverage(ranges: Range[], dataLength: number, source: string): void {
  const sorted = ranges.toSorted((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const r of sorted) {
    if (r.begin !== at) {
      const previous = sorted[sorted.indexOf(r) - 1];
      throw new DataError(source, {
        field: `tensor ${quote(r.name)} field "data_offsets"`,
        expected: previous
          ? `to begin at ${at}, where tensor ${quote(previous.name)} ends`
          : "to begin at 0, the start of the data section",
        found: `[${r.begin},${r.end}] (${r.begin < at ? "sharing bytes with it" : "a gap"})`,
      });
    }
    at = r.end;
  }
  if (at !== dataLength) {
    throw new DataError(source, {
      field: "data section",
      expected: `${at} bytes, the end of the last tensor`,
      found: `${dataLength} bytes`,
    });
  }
}

/** The header as a JSON object. */
function parseHeader(text: Uint8Array, source: string): Record<string, unknown> {
  let header: unknown;
  let json = "";
  try {
    json = new TextDecoder("utf-8", { fatal: true }).decode(text);
    header = JSON.parse(json);
  } catch (error) {
    throw new DataError(source, {
      field: "header",
      expected: "a UTF-8 JSON object",
      found: `text that is not UTF-8 JSON (${(error as Error).message})`,
    }, { cause: error });
  }
  if (!isObject(header)) {
    throw new DataError(source, {
      field: "header",
      expected: "a JSON object",
      found: show(header),
    });
  }
  const duplicate = duplicateName(json);
  if (duplicate !== undefined) {
    // JSON.parse keeps the last of two entries of one name: the file has two meanings.
    throw new DataError(source, {
      field: `tensor ${quote(duplicate)}`,
      expected: "one entry per name",
      found: "two",
    });
  }
  return header;
}

/** The first name the header's top-level object holds twice, if any. */
function duplicateName(json: string): string | undefined {
  const names = new Set<string>();
  let depth = 0;
  let duplicate: string | undefined;
  visit(json, {
    onObjectBegin: () => void depth++,
    onObjectEnd: () => void depth--,
    onObjectProperty: (name) => {
      if (depth !== 1 || duplicate !== undefined) return;
      if (names.has(name)) duplicate = name;
      names.add(name);
    },
  });
  return duplicate;
}

/** The metadata, once every value is known to be a string. */
function checkMetadata(metadata: unknown, source: string): Record<string, string> {
  if (!isObject(metadata)) {
    throw new DataError(source, {
      field: `"${METADATA_KEY}"`,
      expected: "an object of strings",
      found: show(metadata),
    });
  }
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== "string") {
      throw new DataError(source, {
        field: `"${METADATA_KEY}" entry ${JSON.stringify(key)}`,
        expected: "a string",
        found: show(value),
      });
    }
  }
  return metadata as Record<string, string>;
}

/** The range a header entry describes, checked against the data section's length. */
function checkEntry(
  entry: unknown,
  dataLength: number,
  { source, name, dtypes }: { source: string; name: string; dtypes: readonly string[] },
): Range {
  const tensor = `tensor ${quote(name)}`;
  if (!isObject(entry)) {
    throw new DataError(source, {
      field: tensor,
      expected: "an object with dtype, shape and data_offsets",
      found: show(entry),
    });
  }
  const { dtype, shape, data_offsets: offsets } = entry;
  const elementBytes = typeof dtype === "string" && dtypes.includes(dtype)
    ? DTYPE_BYTES.get(dtype)
    : undefined;
  if (elementBytes === undefined) {
    throw new DataError(source, {
      field: `${tensor} field "dtype"`,
      expected: `one of ${dtypes.join(", ")}`,
      found: show(dtype),
    });
  }
  if (!isCounts(shape)) {
    throw new DataError(source, {
      field: `${tensor} field "shape"`,
      expected: "an array of non-negative integers",
      found: show(shape),
    });
  }
  const offsetsField = `${tensor} field "data_offsets"`;
  if (!isCounts(offsets) || offsets.length !== 2) {
    throw new DataError(source, {
      field: offsetsField,
      expected: "[begin, end], two non-negative integers",
      found: show(offsets),
    });
  }
  const [begin, end] = offsets;
  if (begin > end) {
    throw new DataError(source, {
      field: offsetsField,
      expected: "begin <= end",
      found: show(offsets),
    });
  }
  if (end > dataLength) {
    throw new DataError(source, {
      field: offsetsField,
      expected: `a range within the ${dataLength}-byte data section`,
      found: show(offsets),
    });
  }
  const size = shape.reduce((a, b) => a * b, 1);
  const bytes = size * elementBytes;
  if (end - begin !== bytes) {
    throw new DataError(source, {
      field: offsetsField,
      expected: `${bytes} bytes for ${dtype} of shape [${show(shape).slice(1, -1)}]`,
      found: `${end - begin} bytes`,
    });
  }
  if (begin % elementBytes !== 0) {
    throw new DataError(source, {
      field: offsetsField,
      expected: `a begin that is a multiple of ${elementBytes}, the size of ${dtype}`,
      found: show(offsets),
    });
  }
  return { name, dtype: dtype as string, shape, begin, end };
}

/**
 * The safetensors file holding `tensors` (in name order) and, when given, `metadata`.
 *
 * Each tensor is saved as its storage's `dtype` (so {@linkcode f16Polyfill} tensors save as
 * F16). The header is padded with spaces to a multiple of 8 bytes, as the reference
 * implementation does.
 *
 * @param tensors The tensors by name.
 * @param metadata Strings saved under `__metadata__`.
 * @returns The file's bytes.
 * @throws {TypeError} When a tensor is named `__metadata__` or a metadata value is not a string.
 *
 * @example
 * ```ts
 * import { f16, serializeSafetensors, Tensor } from "@halfprec/halfprec";
 * import assert from "node:assert/strict";
 *
 * const bytes = serializeSafetensors(new Map([["x", Tensor.from(f16, [3], [1, 2, 3])]]));
 * const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
 * assert.equal(headerLength % 8, 0);
 * assert.equal(bytes.length, 8 + headerLength + 3 * 2);
 * ```
 */
export function serializeSafetensors(
  tensors: Record<string, Tensor> | Map<string, Tensor>,
  metadata?: Record<string, string>,
): Uint8Array {
  // Widest elements first, then by name, as the reference implementation orders them: every
  // tensor then begins at a multiple of its element size, which readers require.
  const named = (tensors instanceof Map ? [...tensors] : Object.entries(tensors))
    .sort(([a, x], [b, y]) =>
      y.storage.bytesPerElement - x.storage.bytesPerElement || (a < b ? -1 : a > b ? 1 : 0)
    );
  // The header is assembled by hand because JSON.stringify of one object would move
  // integer-like names ("10", "9") ahead of the others and break the name order.
  const entries: string[] = [];
  let offset = 0;
  for (const [name, tensor] of named) {
    if (name === METADATA_KEY) {
      throw new TypeError(
        `Cannot save tensor "${METADATA_KEY}": the name is reserved for metadata`,
      );
    }
    const { dtype } = tensor.storage;
    const offsets = [offset, offset += tensor.data.byteLength];
    entries.push(
      `${JSON.stringify(name)}:${
        JSON.stringify({ dtype, shape: tensor.shape, data_offsets: offsets })
      }`,
    );
  }
  if (metadata) {
    for (const [key, value] of Object.entries(metadata)) {
      if (typeof value !== "string") {
        throw new TypeError(
          `Cannot save metadata "${key}": expected a string, found ${typeof value}`,
        );
      }
    }
    entries.push(`"${METADATA_KEY}":${JSON.stringify(metadata)}`);
  }
  const header = new TextEncoder().encode(`{${entries.join(",")}}`);
  const headerLength = Math.ceil(header.length / 8) * 8;
  const file = new Uint8Array(8 + headerLength + offset);
  new DataView(file.buffer).setBigUint64(0, BigInt(headerLength), true);
  file.set(header, 8);
  file.fill(0x20, 8 + header.length, 8 + headerLength);
  let at = 8 + headerLength;
  for (const [, tensor] of named) {
    file.set(bytesOf(tensor.data), at);
    at += tensor.data.byteLength;
  }
  return file;
}

/** The bytes of a storage array (little-endian, as StorageArray promises). */
function bytesOf(elements: StorageArray): Uint8Array {
  return new Uint8Array(elements.buffer, elements.byteOffset, elements.byteLength);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isCounts(value: unknown): value is number[] {
  return Array.isArray(value) && value.every((n) => Number.isSafeInteger(n) && n >= 0);
}

/** A header value as it appears in the file, cut short so a huge one cannot flood the message. */
function show(value: unknown): string {
  if (value === undefined) return "nothing";
  const json = JSON.stringify(value);
  return json.length > 60 ? `${json.slice(0, 57)}...` : json;
}
