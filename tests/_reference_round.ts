/**
 * Exact reference decoding and rounding for binary floating-point formats.
 *
 * Everything here works on integers taken from the bit patterns, never on floating-point
 * arithmetic that could round: a reference that rounded through float32 or float64 could share
 * the very double-rounding errors the tests are meant to catch.
 *
 * @module
 */

/** An IEEE 754-style binary format: sign bit, biased exponent field, fraction field. */
export interface BinaryFormat {
  /** Width of the exponent field. */
  readonly exponentBits: number;
  /** Width of the fraction field (significant bits minus the implicit one). */
  readonly fractionBits: number;
}

/** IEEE 754 binary16 (what `Float16Array` holds). */
export const BINARY16: BinaryFormat = { exponentBits: 5, fractionBits: 10 };
/** bfloat16: binary32's exponent field with a 7-bit fraction. */
export const BFLOAT16: BinaryFormat = { exponentBits: 8, fractionBits: 7 };
/** IEEE 754 binary32, used to check the reference itself against `Math.fround`. */
export const BINARY32: BinaryFormat = { exponentBits: 8, fractionBits: 23 };

function bias(format: BinaryFormat): number {
  return 2 ** (format.exponentBits - 1) - 1;
}

/** The largest code of a positive finite value: all-ones exponent field minus one ulp. */
export function maxFiniteCode(format: BinaryFormat): number {
  return 2 ** (format.exponentBits + format.fractionBits) - 2 ** format.fractionBits - 1;
}

/** The power of two just above the largest finite value; the format rounds ties there up. */
export function overflowPower(format: BinaryFormat): number {
  return 2 ** (bias(format) + 1);
}

/** The value of `code` by the definition of the format's fields. */
export function decode(code: number, format: BinaryFormat): number {
  const { exponentBits, fractionBits } = format;
  const fraction = code % 2 ** fractionBits;
  const field = Math.floor(code / 2 ** fractionBits) % 2 ** exponentBits;
  const sign = code >= 2 ** (exponentBits + fractionBits) ? -1 : 1;
  if (field === 2 ** exponentBits - 1) return fraction === 0 ? sign * Infinity : NaN;
  const significand = field === 0 ? fraction : 2 ** fractionBits + fraction;
  return sign * significand * 2 ** (Math.max(field, 1) - bias(format) - fractionBits);
}

const view = new DataView(new ArrayBuffer(8));

/** The float64 bit pattern of `x`. */
export function doubleBits(x: number): bigint {
  view.setFloat64(0, x);
  return view.getBigUint64(0);
}

/** The double whose bit pattern is `bits`. */
export function fromDoubleBits(bits: bigint): number {
  view.setBigUint64(0, bits);
  return view.getFloat64(0);
}

/**
 * The value of `format` nearest to `x`, ties to even, with gradual underflow and overflow to
 * ±Infinity when the rounded magnitude reaches {@linkcode overflowPower}.
 */
export function roundToFormat(x: number, format: BinaryFormat): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const bits = doubleBits(x);
  const field = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & 0xfffffffffffffn;
  // |x| = significand * 2^exponent, exactly.
  const significand = field === 0 ? fraction : fraction | (1n << 52n);
  const exponent = Math.max(field, 1) - 1075;
  // floor(log2 |x|): the field gives it directly except for subnormal doubles.
  const leading = field === 0 ? fraction.toString(2).length - 1075 : field - 1023;
  // The exponent of the last kept place; clamping it at the smallest normal binade is what makes
  // underflow gradual.
  const quantum = Math.max(leading, 1 - bias(format)) - format.fractionBits;
  let kept: bigint;
  if (quantum <= exponent) {
    kept = significand << BigInt(exponent - quantum);
  } else {
    const shift = BigInt(quantum - exponent);
    kept = significand >> shift;
    const dropped = significand - (kept << shift);
    const half = 1n << (shift - 1n);
    if (dropped > half || (dropped === half && (kept & 1n) === 1n)) kept++;
  }
  const magnitude = Number(kept) * 2 ** quantum;
  const rounded = magnitude >= overflowPower(format) ? Infinity : magnitude;
  return x < 0 ? -rounded : rounded;
}
