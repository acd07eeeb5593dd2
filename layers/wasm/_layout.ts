/**
 * How the glue lays data out for the kernels: the sizes the kernels' loops work in, which every
 * region they touch must be padded or aligned to. The values follow from kernels.as.
 *
 * @module
 */

/** WebAssembly's page, the unit the memory grows in. */
export const PAGE_BYTES = 65536;

/** Pages the memory starts with (1 MiB); it grows as layers need. */
export const INITIAL_PAGES = 16;

/** Where regions start: the first page is left to the compiler (the kernels have no data). */
export const HEAP_START = PAGE_BYTES;

/** Region alignment: a cache line, so that no vector load straddles two. */
export const REGION_ALIGN = 64;

/**
 * A margin reserved past every staged region's last element, so that a vector load at the
 * region's end stays inside it. Zeros or unused.
 */
export const READ_PAST = 64;

/**
 * Elements the conversion and ReLU kernels handle per iteration (two 128-bit vectors of float32
 * or one of 16-bit codes widened twice): their counts are rounded up to a multiple of it.
 */
export const VECTOR_BLOCK = 8;

/** Bytes of a float64 sum (gradient sums are kept in float64 across images). */
export const SUM_BYTES = Float64Array.BYTES_PER_ELEMENT;

/** `count` rounded up to a whole number of {@linkcode VECTOR_BLOCK}s. */
export function wholeBlocks(count: number): number {
  return Math.ceil(count / VECTOR_BLOCK) * VECTOR_BLOCK;
}
