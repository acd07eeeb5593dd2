/**
 * The storage interface: what every layer needs to know about a number format.
 *
 * Layers never do arithmetic on stored elements directly. They widen a run of elements to
 * float64 with {@linkcode Storage.read}, compute, and narrow the results back with
 * {@linkcode Storage.write}. That one rule is what lets a format with no native JavaScript
 * array (bfloat16, fp8, any minifloat) plug in without touching a layer, and it keeps
 * per-element conversions out of the inner loops.
 *
 * @module
 */

/**
 * The raw elements of a stored tensor.
 *
 * For formats backed by a native typed array (f64, f32, f16) an element is the value itself;
 * for coded formats (bf16) it is the format's bit pattern. Read values through
 * {@linkcode Storage.read} (or `Tensor.toFloat64()`), never by indexing, unless you know the
 * format.
 *
 * @example A Float32Array is a StorageArray
 * ```ts
 * import type { StorageArray } from "@halfprec/halfprec/formats";
 * const data: StorageArray = new Float32Array(4);
 * if (data.length !== 4) throw new Error("unexpected");
 * ```
 */
export interface StorageArray {
  /** Number of elements. */
  readonly length: number;
  /** The memory holding the elements, little-endian. */
  readonly buffer: ArrayBufferLike;
  /** Where the elements start in {@linkcode StorageArray.buffer}, in bytes. */
  readonly byteOffset: number;
  /** How many bytes the elements occupy. */
  readonly byteLength: number;
  /** Element access: a value or a code, depending on the format. */
  [index: number]: number;
}

/**
 * The extent and resolution of a format's numbers: what ulp and range computations need.
 *
 * @example float16's limits
 * ```ts
 * import { f16 } from "@halfprec/halfprec";
 * import assert from "node:assert/strict";
 * assert.deepEqual(f16.limits, {
 *   significandBits: 11,
 *   minNormal: 2 ** -14,
 *   minSubnormal: 2 ** -24,
 *   maxFinite: 65504,
 * });
 * ```
 */
export interface FormatLimits {
  /** Significant bits, the implicit leading bit included: 53, 24, 11, 8. */
  readonly significandBits: number;
  /** Smallest positive normal value. */
  readonly minNormal: number;
  /** Smallest positive value: the smallest subnormal, or `minNormal` when there are none. */
  readonly minSubnormal: number;
  /** Largest finite value. */
  readonly maxFinite: number;
}

/**
 * The stream of random numbers a stochastically rounding format draws from, one number per
 * value rounded. It belongs to the run, not to the format: whoever runs a computation restarts
 * it at a key (the image, the layer) before each part, so that what a value rounds to depends on
 * the seed and where the value is computed, not on what was rounded before it in the process.
 *
 * @example
 * ```ts
 * import { storageByName } from "@halfprec/halfprec";
 * import assert from "node:assert/strict";
 * const sr = storageByName("e4m3-sr7");
 * assert.equal(sr.stream?.seed, 7);
 * sr.stream!.restart(1);
 * const first = [0.3, 0.3, 0.3].map((x) => sr.round(x));
 * sr.stream!.restart(1);
 * assert.deepEqual([0.3, 0.3, 0.3].map((x) => sr.round(x)), first);
 * ```
 */
export interface RoundingStream {
  /** The format's seed: the `7` of `e4m3-sr7`. */
  readonly seed: number;
  /** Restarts the stream at the one of (seed, `key`); `key` is an integer from 0 to 2^32 − 1. */
  restart(key: number): void;
  /**
   * Fills `into` with the stream's next numbers (32 random bits each), the ones that rounding
   * `into.length` values would draw: for kernels that round elsewhere (the wasm path). A stream
   * without it is drawn by TypeScript code only.
   */
  draw?(into: Uint32Array): void;
}

/**
 * A number format that tensors can be stored in.
 *
 * @example Round a number to a format and store it
 * ```ts
 * import { f16 } from "@halfprec/halfprec";
 * import assert from "node:assert/strict";
 *
 * assert.equal(f16.round(0.1), 0.0999755859375);
 * const data = f16.alloc(1);
 * f16.write(new Float64Array([0.1]), 0, data, 0, 1);
 * const back = new Float64Array(1);
 * f16.read(data, 0, back, 0, 1);
 * assert.equal(back[0], 0.0999755859375);
 * ```
 */
export interface Storage {
  /** The name used on the command line, in configuration files and in reports: `"f16"`. */
  readonly name: string;
  /** Bytes one element occupies in memory and on disk. */
  readonly bytesPerElement: number;
  /** The safetensors dtype the elements are saved as: `"F16"`, `"BF16"`. */
  readonly dtype: string;
  /** Range and resolution of the format's values. */
  readonly limits: FormatLimits;
  /** Only in formats that round stochastically: the stream of random numbers they draw. */
  readonly stream?: RoundingStream;
  /** A zero-filled array of `length` elements. */
  alloc(length: number): StorageArray;
  /**
   * The value `x` is stored as, as a JavaScript number: the nearest one of the format (ties to
   * even), unless the format rounds otherwise (a minifloat's `-rz` and `-sr{seed}` variants).
   */
  round(x: number): number;
  /** Widens `length` elements of `src`, from `srcOffset`, into `dst` from `dstOffset`. */
  read(
    src: StorageArray,
    srcOffset: number,
    dst: Float64Array,
    dstOffset: number,
    length: number,
  ): void;
  /** Rounds `length` values of `src`, from `srcOffset`, and stores them in `dst` from `dstOffset`. */
  write(
    src: Float64Array,
    srcOffset: number,
    dst: StorageArray,
    dstOffset: number,
    length: number,
  ): void;
}
