/**
 * The tables through which the wasm kernels read and write a minifloat of up to 16 bits: every
 * code's value as a float32 (decoding is one lookup), and the encoder's own tables
 * (layers/storage/minifloat.ts) laid out for `narrow_minifloat` in kernels.as, which rounds a
 * float32 by the same operations as the TypeScript encoder and so to the same code.
 *
 * @module
 */
import type { Storage } from "../storage/storage.ts";
import type { MinifloatRounding } from "../storage/rounding.ts";
import { minifloatParts } from "../storage/_minifloat_parts.ts";

/** A minifloat's tables for the kernels. */
export interface MinifloatCodec {
  /** Bytes of one code: 1 (up to 8 bits) or 2. */
  codeBytes: 1 | 2;
  /** Every code's value, as float32 (256 or 65,536 entries). */
  decode: Float32Array;
  /** The encoder's description (see `narrow_minifloat` in kernels.as). */
  encode: ArrayBuffer;
  /**
   * For a byte format rounding to nearest even, when exact: every float32's code by its top 16
   * bits and whether its low 16 are zero (`narrow_u8_lookup` in kernels.as).
   */
  lookup?: Uint8Array;
  /** Every code's ReLU, as a code. */
  relu: Uint8Array | Uint16Array;
  /** All ones for the codes of values above zero, else 0: ReLU's backward mask. */
  positive: Uint8Array | Uint16Array;
}

/** The mode numbers kernels.as switches on. */
export const MODE_NUMBERS: Readonly<Record<MinifloatRounding, number>> = {
  "nearest-even": 0,
  "nearest-away": 1,
  "nearest-zero": 2,
  "toward-positive": 3,
  "toward-negative": 4,
  "toward-zero": 5,
  "odd": 6,
  "stochastic": 7,
  "stochastic-equal": 8,
};

/** Entries of the encoder's tables in kernels.as: zero, then every double field of a float32. */
const FIELDS = 278;
/** Table entry t > 0 is double exponent field FIRST_FIELD + t. */
const FIRST_FIELD = 873;

/** Int32 fields of the encoder's header in kernels.as. */
const HEADER_FIELDS = 8;
/** Bytes of the header: where the tables start. */
const HEADER_BYTES = HEADER_FIELDS * Int32Array.BYTES_PER_ELEMENT;
/** Bytes of one of the encoder's four float64 tables. */
const TABLE_BYTES = FIELDS * Float64Array.BYTES_PER_ELEMENT;

/** Bytes of {@linkcode MinifloatCodec.encode}: the header, then 4 float64 tables. */
export const ENCODE_BYTES = HEADER_BYTES + 4 * TABLE_BYTES;

/**
 * The codec of `storage`, or undefined when it is not a minifloat of up to 16 bits whose every
 * value is a float32. A stochastic one rounds with numbers drawn from its stream, in the order
 * the TypeScript `write` would draw them.
 */
export function minifloatCodec(storage: Storage): MinifloatCodec | undefined {
  const parts = minifloatParts(storage);
  if (!parts || (storage.stream && !storage.stream.draw)) return undefined;
  const { values } = parts;
  if (!values.every((v) => v !== v || Math.fround(v) === v)) return undefined;
  const encode = new ArrayBuffer(ENCODE_BYTES);
  new Int32Array(encode, 0, HEADER_FIELDS).set([
    parts.sign,
    parts.maxFinite,
    parts.nan,
    parts.overflow,
    ...parts.finiteOverflow,
    MODE_NUMBERS[parts.rounding],
    parts.randomBits ?? 0,
  ]);
  const tables = [parts.scaleHigh, parts.scaleLow, parts.offset, parts.step];
  tables.forEach((table, i) => {
    const entries = new Float64Array(encode, HEADER_BYTES + i * TABLE_BYTES, FIELDS);
    entries[0] = table[0];
    entries.set(table.subarray(FIRST_FIELD + 1, FIRST_FIELD + FIELDS), 1);
  });
  const codeBytes = parts.bits > 8 ? 2 : 1;
  const codes = 2 ** (8 * codeBytes);
  const decode = new Float32Array(codes);
  decode.set(values);
  // ReLU as the TypeScript layer computes it: each code read, +0 for a negative value, written
  // back. A finite value is the format's own, stored as the first code holding it (codes that
  // share a value, as flushed subnormals do, are written as the first); a NaN is stored as the
  // format's NaN, +Infinity as its overflow says. So the table needs no write, which would draw
  // a stochastic format's numbers from its stream wherever the codec is first built.
  const first = new Map<number, number>();
  let negativeZero = -1;
  values.forEach((v, code) => {
    if (Object.is(v, -0)) negativeZero = negativeZero < 0 ? code : negativeZero;
    else if (!first.has(v)) first.set(v, code);
  });
  const relu = storage.alloc(codes) as Uint8Array | Uint16Array;
  values.forEach((v, code) => {
    if (v !== v) relu[code] = parts.nan;
    else if (v === Infinity) relu[code] = parts.overflow;
    else relu[code] = Object.is(v, -0) ? negativeZero : first.get(v < 0 ? 0 : v)!;
  });
  const on = codeBytes === 1 ? 0xff : 0xffff;
  const mask = Array.from(decode, (v) => v > 0 ? on : 0);
  const positive = codeBytes === 1 ? Uint8Array.from(mask) : Uint16Array.from(mask);
  const lookup = codeBytes === 1 && parts.rounding === "nearest-even"
    ? nearestEvenLookup(storage)
    : undefined;
  return { codeBytes, decode, encode, relu, positive, ...(lookup ? { lookup } : {}) };
}

/**
 * The codes `storage` (a byte format rounding deterministically) writes for every float32,
 * indexed by its top 16 bits h: at 2h the code of the float32 whose low 16 bits are zero, at
 * 2h + 1 that of the others; or undefined when the low bits matter beyond that. Rounding to
 * nearest even with at most 7 mantissa bits, each boundary (a midpoint between neighbouring
 * values, the overflow threshold) has at most 8 significant bits and so lies on the grid of the
 * top 16, unless it is a float32 subnormal past that grid; the format's own encoder decides
 * which. Encoding is monotone, so when h·2^16 + 1 and h·2^16 + 0xffff get one code, every
 * float32 between them gets it too: that is checked for every h.
 */
function nearestEvenLookup(storage: Storage): Uint8Array | undefined {
  const tops = 1 << 16;
  const bits = new Uint32Array(3 * tops);
  for (let h = 0; h < tops; h++) {
    bits[2 * h] = h << 16;
    bits[2 * h + 1] = (h << 16 | 1) >>> 0;
    bits[2 * tops + h] = (h << 16 | 0xffff) >>> 0;
  }
  const codes = storage.alloc(bits.length) as Uint8Array;
  storage.write(Float64Array.from(new Float32Array(bits.buffer)), 0, codes, 0, bits.length);
  for (let h = 0; h < tops; h++) {
    if (codes[2 * h + 1] !== codes[2 * tops + h]) return undefined;
  }
  return codes.slice(0, 2 * tops);
}
