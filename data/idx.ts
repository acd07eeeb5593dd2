/**
 * IDX files (the format MNIST ships in), usually gzipped: a big-endian magic number
 * `0x000008NN` (unsigned bytes, NN dimensions), one big-endian 32-bit size per dimension, then
 * the bytes.
 *
 * @example Unzip and read an IDX file
 * ```ts
 * import { gunzip, parseIdx } from "@halfprec/halfprec";
 * import assert from "node:assert/strict";
 *
 * const idx = new Uint8Array([0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 1]);
 * const zipped = new Blob([idx]).stream().pipeThrough(new CompressionStream("gzip"));
 * const gz = new Uint8Array(await new Response(zipped).arrayBuffer());
 * const { shape, data } = parseIdx(await gunzip(gz, "labels.gz"), "labels.gz");
 * assert.deepEqual(shape, [3]);
 * assert.deepEqual([...data], [7, 2, 1]);
 * ```
 *
 * @module
 */
import { DataError } from "./data_error.ts";

/**
 * The contents of an IDX file of unsigned bytes.
 *
 * @example
 * ```ts
 * import type { IdxData } from "@halfprec/halfprec";
 * import assert from "node:assert/strict";
 * const labels: IdxData = { shape: [2], data: new Uint8Array([5, 0]) };
 * assert.equal(labels.data.length, labels.shape[0]);
 * ```
 */
export interface IdxData {
  /** The size of each dimension, outermost first. */
  shape: number[];
  /** The elements in row-major order. */
  data: Uint8Array;
}

/** The IDX data type code for unsigned bytes, the only one MNIST uses. */
const UNSIGNED_BYTE = 0x08;

/**
 * The bytes of the gzip stream `bytes`, decompressed by the platform's `DecompressionStream`.
 *
 * @param bytes A gzip stream.
 * @param source The file name or path, for error messages.
 * @returns The decompressed bytes.
 * @throws {DataError} When `bytes` is not a complete, valid gzip stream.
 *
 * @example
 * ```ts
 * import { DataError, gunzip } from "@halfprec/halfprec";
 * import assert from "node:assert/strict";
 * await assert.rejects(gunzip(new Uint8Array([1, 2, 3]), "x.gz"), DataError);
 * ```
 */
export async function gunzip(bytes: Uint8Array, source: string): Promise<Uint8Array> {
  try {
    const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream()
      .pipeThrough(new DecompressionStream("gzip"));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (error) {
    throw new DataError(source, {
      field: "gzip stream",
      expected: "valid gzip data",
      found: `data that does not decompress (${(error as Error).message})`,
    }, { cause: error });
  }
}

/**
 * The shape and elements of the (already decompressed) unsigned-byte IDX file `bytes`.
 *
 * @param bytes The whole file, not gzipped.
 * @param source The file name or path, for error messages.
 * @returns The shape and the elements; `data` is a view into `bytes`, not a copy.
 * @throws {DataError} When the magic number is wrong, the elements are not unsigned bytes, or the
 * file is shorter or longer than its dimensions say.
 *
 * @example
 * ```ts
 * import { DataError, parseIdx } from "@halfprec/halfprec";
 * import assert from "node:assert/strict";
 *
 * const file = new Uint8Array([0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 1, 10, 20]);
 * assert.deepEqual(parseIdx(file, "x.idx").shape, [2, 1]);
 * assert.throws(() => parseIdx(file.subarray(0, 13), "x.idx"), DataError);
 * ```
 */
export function parseIdx(bytes: Uint8Array, source: string): IdxData {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 4 || view.getUint16(0) !== 0) {
    throw new DataError(source, {
      field: "magic number",
      expected: "0x000008NN (NN the number of dimensions)",
      found: bytes.length < 4 ? `a ${bytes.length}-byte file` : hex(view.getUint32(0), 8),
    });
  }
  if (bytes[2] !== UNSIGNED_BYTE) {
    throw new DataError(source, {
      field: "data type code",
      expected: `${hex(UNSIGNED_BYTE, 2)} (unsigned byte)`,
      found: hex(bytes[2], 2),
    });
  }
  const dataStart = 4 + 4 * bytes[3];
  if (bytes.length < dataStart) {
    throw new DataError(source, {
      field: "dimensions",
      expected: `${bytes[3]} sizes of 4 bytes`,
      found: `${bytes.length - 4} bytes`,
    });
  }
  const shape = Array.from({ length: bytes[3] }, (_, i) => view.getUint32(4 + 4 * i));
  const size = shape.reduce((a, b) => a * b, 1);
  if (bytes.length - dataStart !== size) {
    throw new DataError(source, {
      field: "data",
      expected: `${size} bytes from the dimensions [${shape.join(", ")}]`,
      found: `${bytes.length - dataStart} bytes`,
    });
  }
  return { shape, data: bytes.subarray(dataStart) };
}

function hex(n: number, digits: number): string {
  return `0x${n.toString(16).padStart(digits, "0")}`;
}
