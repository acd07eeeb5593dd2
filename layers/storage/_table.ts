/**
 * Widening of coded formats through a decode table.
 *
 * @module
 */
import type { Storage } from "./storage.ts";
import { checkRun } from "./_bounds.ts";

/** The typed arrays a format's codes can be viewed as. */
type CodeArrayConstructor = Uint8ArrayConstructor | Uint16ArrayConstructor;

/**
 * A `read` that views the stored bytes as codes and looks each one up in `table` (one entry a
 * code). A table lookup is one load; decoding bit fields per element costs several operations.
 */
export function tableRead(table: Float64Array, Codes: CodeArrayConstructor): Storage["read"] {
  return (src, srcOffset, dst, dstOffset, length) => {
    checkRun("read", src, srcOffset, length);
    checkRun("widen into", dst, dstOffset, length);
    const codes = new Codes(
      src.buffer as ArrayBuffer,
      src.byteOffset + srcOffset * Codes.BYTES_PER_ELEMENT,
      length,
    );
    for (let i = 0; i < length; i++) dst[dstOffset + i] = table[codes[i]];
  };
}
