/**
 * Hand-built IDX files for the idx and mnist tests.
 *
 * @module
 */

/** An unsigned-byte IDX file of `shape` holding `data` (its length is not checked). */
export function idxFile(
  shape: readonly number[],
  data: ArrayLike<number>,
): Uint8Array<ArrayBuffer> {
  const file = new Uint8Array(4 + 4 * shape.length + data.length);
  const view = new DataView(file.buffer);
  view.setUint32(0, 0x800 | shape.length);
  shape.forEach((size, i) => view.setUint32(4 + 4 * i, size));
  file.set(data, 4 + 4 * shape.length);
  return file;
}

/** `bytes` gzipped by the platform's `CompressionStream`. */
export async function gzip(bytes: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
