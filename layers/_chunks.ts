/**
 * Element-wise passes over tensors in cache-sized float64 chunks.
 *
 * @module
 */
import type { Tensor } from "./tensor.ts";

/** Elements per chunk: 4 inputs x 4096 doubles = 128 KiB, inside L2 on any current core. */
const CHUNK = 4096;
const buffers: Float64Array[] = [];

/**
 * Widens `inputs` chunk by chunk into float64 buffers, lets `body` turn the first buffer into
 * the output values (`start` is the chunk's element offset, for masks indexed like the
 * tensors), and stores that buffer into `out` in its format. All tensors must have the same
 * size.
 */
export function mapChunks(
  inputs: readonly Tensor[],
  out: Tensor,
  body: (buffers: readonly Float64Array[], start: number, length: number) => void,
): void {
  while (buffers.length < inputs.length) buffers.push(new Float64Array(CHUNK));
  const bufs = buffers.slice(0, inputs.length);
  for (let start = 0; start < out.size; start += CHUNK) {
    const length = Math.min(CHUNK, out.size - start);
    inputs.forEach((t, i) => t.storage.read(t.data, start, bufs[i], 0, length));
    body(bufs, start, length);
    out.storage.write(bufs[0], 0, out.data, start, length);
  }
}
