/**
 * The tables through which the wasm kernels read and write a minifloat of up to 16 bits: every
 * code's value as a float32, or as a float64 for a format with values float32 cannot hold
 * (decoding is one lookup), and the encoder's own tables
 * (layers/storage/minifloat.ts), for every exponent of a double, laid out for `narrow_minifloat`
 * and `narrow_minifloat_f64` in kernels.as, which round a float32 or a float64 by the same
 * operations as the TypeScript encoder and so to the same code.
 *
 * A byte format laid out as sign, exponent and fraction (the fp8 formats) also gets the
 * parameters of SIMD kernels that compute from those fields what the tables give: a code's
 * value (`widen_u8_fields`), its ReLU (`relu_u8_codes`) and, rounding to nearest even, a
 * float32's code (`narrow_u8_fields`). Each is checked against the tables when the codec is
 * built (every code; every float32 top half with the low halves that decide the code) and used
 * only where it agrees: a table lookup a value costs a bounds check per load or store, where
 * these handle four or eight values at a time.
 *
 * @module
 */
import type { Storage } from "../storage/storage.ts";
import type { MinifloatRounding } from "../storage/rounding.ts";
import { type MinifloatParts, minifloatParts } from "../storage/_minifloat_parts.ts";

/** A minifloat's tables for the kernels. */
export interface MinifloatCodec {
  /** Bytes of one code: 1 (up to 8 bits) or 2. */
  codeBytes: 1 | 2;
  /**
   * Whether the format has values outside float32's range or precision (an exponent field of
   * 9 bits or more, or a bias that moves its values past float32's): the kernels then compute
   * it in float64, as they compute f64.
   */
  float64: boolean;
  /** Every code's value (256 or 65,536 entries), as float64 for a `float64` format. */
  decode: Float32Array | Float64Array;
  /** The encoder's description (see `narrow_minifloat` in kernels.as). */
  encode: ArrayBuffer;
  /**
   * For a byte format rounding to nearest even, when exact: every float32's code by its top 16
   * bits and whether its low 16 are zero (`narrow_u8_lookup` in kernels.as).
   */
  lookup?: Uint8Array;
  /** Every code's ReLU, as a code. */
  relu: Uint8Array | Uint16Array;
  /** For byte codes whose values `widen_u8_fields` in kernels.as computes: its parameters. */
  fields?: CodeFields;
  /**
   * For byte codes rounding to nearest even whose codes `narrow_u8_fields` in kernels.as
   * computes (the lookup's, checked): its parameters after the count.
   */
  narrowFields?: NarrowFields;
  /** For byte codes whose ReLU `relu_u8_codes` in kernels.as computes: how. */
  reluRule?: ReluRule;
  /** All ones for the codes of values above zero, else 0: ReLU's backward mask. */
  positive: Uint8Array | Uint16Array;
  /**
   * Whether a double's code is that of the float32 it rounds to odd (`demote_odd` in
   * kernels.as): for a deterministic rounding whose neighbouring values (zero included) lie at
   * least 2^-147 apart, so that its values and the midpoints between them are float32 values
   * whose last bit is 0 (its 16 bits leave at most 15 significant ones, where float32 has 24;
   * among float32's subnormals, 2^-149 apart, a midpoint 2^-148 from its neighbours would be odd).
   */
  fromOdd: boolean;
}

/**
 * How `widen_u8_fields` in kernels.as computes a byte code's value, bit 7 being the sign: a
 * magnitude (the low 7 bits) m of `2^(23 - shift)` or more has the float32 bits
 * `(m << shift) + rebias`, a smaller one the value `m · subnormal`; magnitude `infinity` (-1:
 * none) is ±Infinity, those from `nan` (128: none) up NaN.
 */
export interface CodeFields {
  shift: number;
  rebias: number;
  subnormal: number;
  infinity: number;
  nan: number;
}

/**
 * ReLU over a byte format's codes as `relu_u8_codes` in kernels.as computes it: codes `low` to
 * `high` become `zero`, codes of magnitude (the low 7 bits) `nan` or more (128: none) `nanCode`.
 */
export interface ReluRule {
  low: number;
  high: number;
  zero: number;
  nan: number;
  nanCode: number;
}

/** `narrow_u8_fields`'s parameters after the count (see kernels.as). */
export type NarrowFields = readonly [
  shift: number,
  rebias: number,
  normal: number,
  magic: number,
  maxFinite: number,
  overPositive: number,
  overNegative: number,
  overflow: number,
  nan: number,
];

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

/** Entries of the encoder's tables in kernels.as: one per exponent field of a finite double. */
const FIELDS = 2047;

/** Int32 fields of the encoder's header in kernels.as. */
const HEADER_FIELDS = 8;
/** Bytes of the header: where the tables start. */
const HEADER_BYTES = HEADER_FIELDS * Int32Array.BYTES_PER_ELEMENT;
/** Bytes of one of the encoder's four float64 tables. */
const TABLE_BYTES = FIELDS * Float64Array.BYTES_PER_ELEMENT;

/** Bytes of {@linkcode MinifloatCodec.encode}: the header, then 4 float64 tables. */
export const ENCODE_BYTES = HEADER_BYTES + 4 * TABLE_BYTES;

/**
 * The codec of `storage`, or undefined when it is not a minifloat of up to 16 bits. A stochastic
 * one rounds with numbers drawn from its stream, in the order the TypeScript `write` would draw
 * them. The SIMD kernels and the lookup table, which go through float32, are for formats whose
 * every value is a float32.
 */
export function minifloatCodec(storage: Storage): MinifloatCodec | undefined {
  const parts = minifloatParts(storage);
  if (!parts || (storage.stream && !storage.stream.draw)) return undefined;
  const { values } = parts;
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
    new Float64Array(encode, HEADER_BYTES + i * TABLE_BYTES, FIELDS).set(table);
  });
  const codeBytes = parts.bits > 8 ? 2 : 1;
  const codes = 2 ** (8 * codeBytes);
  const float32 = values.every((v) => v !== v || Math.fround(v) === v);
  const decode = float32 ? new Float32Array(codes) : new Float64Array(codes);
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
  const bytes = codeBytes === 1;
  // The lookup and the SIMD kernels go through float32.
  const single = decode instanceof Float32Array ? decode : undefined;
  const lookup = bytes && single && parts.rounding === "nearest-even"
    ? nearestEvenLookup(storage)
    : undefined;
  const fields = bytes && single ? codeFields(single) : undefined;
  const rule = bytes ? reluRule(relu, decode) : undefined;
  const narrowFields = single && fields && lookup
    ? fieldsNarrowing(parts, fields, single, lookup)
    : undefined;
  return {
    codeBytes,
    float64: !single,
    decode,
    encode,
    relu,
    positive,
    fromOdd: !!single && !storage.stream && closestValues(values) >= 2 ** -147,
    ...(lookup ? { lookup } : {}),
    ...(fields ? { fields } : {}),
    ...(rule ? { reluRule: rule } : {}),
    ...(narrowFields ? { narrowFields } : {}),
  };
}

/** The smallest distance between neighbouring finite values among `values`' magnitudes. */
function closestValues(values: Float64Array): number {
  const magnitudes = [...new Set(values.filter((v) => v >= 0 && v < Infinity))].sort((a, b) =>
    a - b
  );
  let closest = Infinity;
  for (let i = 1; i < magnitudes.length; i++) {
    closest = Math.min(closest, magnitudes[i] - magnitudes[i - 1]);
  }
  return closest;
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

/**
 * The parameters with which `widen_u8_fields` gives every one of the 256 float32 in `decode`,
 * bit for bit (NaNs as 0x7fc00000), or undefined when no fraction width does: the width is
 * tried from 1 to 7 bits, the subnormal step being code 1's value and the rebias what takes the
 * first normal code's bits to its value's.
 */
function codeFields(decode: Float32Array): CodeFields | undefined {
  const table = new Uint32Array(decode.buffer, decode.byteOffset, decode.length);
  const infinity = decode.subarray(0, 128).indexOf(Infinity);
  const nan = nanMagnitude(decode);
  for (let fraction = 1; fraction <= 7; fraction++) {
    const shift = 23 - fraction;
    const normal = 1 << fraction;
    const rebias = (table[normal] - (normal << shift)) | 0;
    const fields = { shift, rebias, subnormal: decode[1], infinity, nan };
    if (table.every((word, code) => word === fieldsWord(fields, code))) return fields;
  }
  return undefined;
}

/** The smallest magnitude (low 7 bits) of a byte code whose value is NaN; 128 when none is. */
function nanMagnitude(decode: Float32Array | Float64Array): number {
  const first = decode.subarray(0, 128).findIndex((v) => v !== v);
  return first < 0 ? 128 : first;
}

/** The float32 bits `widen_u8_fields` gives `code` with `fields`. */
function fieldsWord(fields: CodeFields, code: number): number {
  const magnitude = code & 0x7f;
  const sign = (code & 0x80) << 24;
  if (magnitude >= fields.nan) return 0x7fc00000;
  if (magnitude === fields.infinity) return (sign | 0x7f800000) >>> 0;
  const { shift } = fields;
  const bits = magnitude >= 1 << (23 - shift)
    ? (magnitude << shift) + fields.rebias
    : new Uint32Array(Float32Array.of(magnitude * fields.subnormal).buffer)[0];
  return (bits | sign) >>> 0;
}

/**
 * `relu_u8_codes`'s parameters for a byte format whose ReLU (`relu`, every code's) sets one run
 * of codes to one code and every code of a magnitude from some one up (its NaNs) to another,
 * checked on all 256 codes; undefined for other formats.
 */
function reluRule(
  relu: Uint8Array | Uint16Array,
  decode: Float32Array | Float64Array,
): ReluRule | undefined {
  const nan = nanMagnitude(decode);
  const nanCode = nan < 128 ? relu[nan] : 0;
  const changed = [...relu.keys()].filter((code) => (code & 0x7f) < nan && relu[code] !== code);
  if (changed.length === 0) return undefined;
  const [low, high] = [changed[0], changed[changed.length - 1]];
  const rule = { low, high, zero: relu[low], nan, nanCode };
  return relu.every((code, i) => code === ruleCode(rule, i)) ? rule : undefined;
}

/** The code `relu_u8_codes` gives `code` by `rule`. */
function ruleCode(rule: ReluRule, code: number): number {
  if ((code & 0x7f) >= rule.nan) return rule.nanCode;
  return code >= rule.low && code <= rule.high ? rule.zero : code;
}

/**
 * `narrow_u8_fields`'s parameters after the count (shift, rebias, normal, magic, maxFinite,
 * overPositive, overNegative, overflow, nan) for a byte format of `parts` widening by `fields`,
 * when they give `lookup`'s code for every float32 top half with low halves 0, 1 and 0xffff
 * (hence for every float32: see kernels.as); else undefined.
 */
function fieldsNarrowing(
  parts: MinifloatParts,
  fields: CodeFields,
  decode: Float32Array,
  lookup: Uint8Array,
): NarrowFields | undefined {
  if (parts.sign !== 0x80) return undefined;
  const { shift } = fields;
  const words = new Uint32Array(decode.buffer, decode.byteOffset, decode.length);
  const normal = words[1 << (23 - shift)];
  const magic = new Uint32Array(Float32Array.of(decode[1] * 2 ** 23).buffer)[0];
  const rebias = ((1 << 23) - normal + (1 << (shift - 1)) - 1) | 0;
  const [overPositive, overNegative] = parts.finiteOverflow;
  const { maxFinite, overflow, nan } = parts;
  const narrowing: NarrowFields = [
    shift,
    rebias,
    normal,
    magic,
    maxFinite,
    overPositive,
    overNegative,
    overflow,
    nan,
  ];
  const float = new Float32Array(2);
  const bits = new Uint32Array(float.buffer);
  /** narrow_u8_fields's code for the float32 of bits `x`, lane by lane. */
  const code = (x: number): number => {
    const negative = x >>> 31 === 1;
    const u = x & 0x7fffffff;
    let c: number;
    if (u > 0x7f7fffff) c = u > 0x7f800000 ? parts.nan : parts.overflow;
    else {
      bits[0] = u;
      bits[1] = magic;
      float[0] = float[0] + float[1];
      const odd = (u >>> shift) & 1;
      c = u < normal ? (bits[0] - magic) | 0 : ((u + rebias + odd) | 0) >>> shift;
      if (c > parts.maxFinite) c = negative ? overNegative : overPositive;
    }
    return (c + (negative ? 0x80 : 0)) & 0xff;
  };
  for (let h = 0; h < 1 << 16; h++) {
    const top = (h << 16) >>> 0;
    const sticky = lookup[2 * h + 1];
    if (code(top) !== lookup[2 * h] || code(top + 1) !== sticky || code(top + 0xffff) !== sticky) {
      return undefined;
    }
  }
  return narrowing;
}
