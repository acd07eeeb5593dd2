/**
 * Exact reference decoding and rounding for binary floating-point formats.
 *
 * Everything here works on integers taken from the bit patterns, never on floating-point
 * arithmetic that could round: a reference that rounded through float32 or float64 could share
 * the very double-rounding errors the tests are meant to catch.
 *
 * @module
 */

/**
 * A binary format: sign bit, biased exponent field, fraction field. The optional fields
 * describe minifloats that depart from IEEE 754; left out, they mean what IEEE 754 does.
 */
export interface BinaryFormat {
  /** Width of the exponent field. */
  readonly exponentBits: number;
  /** Width of the fraction field (significant bits minus the implicit one). */
  readonly fractionBits: number;
  /** The exponent bias; 2^(exponentBits - 1) - 1 when absent. */
  readonly bias?: number;
  /**
   * `"fn"`: no infinities, and only the all-ones code of each sign is NaN (OCP E4M3). Absent:
   * the all-ones exponent field holds the infinities and NaNs.
   */
  readonly specials?: "fn";
  /** `false`: no subnormals; their codes mean zero, and nothing rounds to them. */
  readonly subnormals?: false;
  /** `true`: overflow and infinities give the largest finite value of their sign. */
  readonly saturate?: true;
}

/**
 * Which way a value between two of the format's values goes: to the nearer (ties to the even
 * significand), to the one nearer zero, or to the one farther from zero. Stochastic rounding
 * picks one of the last two.
 */
export type Direction = "nearest-even" | "toward-zero" | "away-from-zero";

/** IEEE 754 binary16 (what `Float16Array` holds). */
export const BINARY16: BinaryFormat = { exponentBits: 5, fractionBits: 10 };
/** bfloat16: binary32's exponent field with a 7-bit fraction. */
export const BFLOAT16: BinaryFormat = { exponentBits: 8, fractionBits: 7 };
/** IEEE 754 binary32, used to check the reference itself against `Math.fround`. */
export const BINARY32: BinaryFormat = { exponentBits: 8, fractionBits: 23 };

function bias(format: BinaryFormat): number {
  return format.bias ?? 2 ** (format.exponentBits - 1) - 1;
}

/**
 * The largest code of a positive finite value: all-ones exponent field minus one ulp, or in
 * the fn layout the code below the all-ones one.
 */
export function maxFiniteCode(format: BinaryFormat): number {
  const positiveCodes = 2 ** (format.exponentBits + format.fractionBits);
  return format.specials === "fn"
    ? positiveCodes - 2
    : positiveCodes - 2 ** format.fractionBits - 1;
}

/** The largest finite value. */
export function maxFinite(format: BinaryFormat): number {
  return decode(maxFiniteCode(format), format);
}

/**
 * The value one spacing above the largest finite one: where the format would go on if its
 * exponents did. In an IEEE layout it is {@linkcode overflowPower}.
 */
export function aboveMaxFinite(format: BinaryFormat): number {
  const max = maxFinite(format);
  // The binade of the largest value, or the subnormals' when the format has only those.
  const exponent = Math.max(Math.floor(Math.log2(max)), 1 - bias(format));
  return max + 2 ** (exponent - format.fractionBits);
}

/**
 * In an IEEE layout, the power of two just above the largest finite value (the all-ones
 * exponent field's); the format rounds ties there up.
 */
export function overflowPower(format: BinaryFormat): number {
  return 2 ** (2 ** format.exponentBits - 1 - bias(format));
}

/** The value of `code` by the definition of the format's fields. */
export function decode(code: number, format: BinaryFormat): number {
  const { exponentBits, fractionBits } = format;
  const fraction = code % 2 ** fractionBits;
  const field = Math.floor(code / 2 ** fractionBits) % 2 ** exponentBits;
  const sign = code >= 2 ** (exponentBits + fractionBits) ? -1 : 1;
  const allOnes = field === 2 ** exponentBits - 1;
  if (format.specials === "fn") {
    if (allOnes && fraction === 2 ** fractionBits - 1) return NaN;
  } else if (allOnes) return fraction === 0 ? sign * Infinity : NaN;
  if (field === 0 && format.subnormals === false) return sign * 0;
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
 * The value `x` rounds to in `format` in `direction` (by default to nearest, ties to even),
 * with gradual underflow (or, without subnormals, rounding between 0 and the smallest normal)
 * and overflow when the rounded magnitude passes the largest finite value: to ±Infinity, NaN
 * in the fn layout, the largest finite value when saturating or rounding toward zero.
 */
export function roundToFormat(
  x: number,
  format: BinaryFormat,
  direction: Direction = "nearest-even",
): number {
  if (x !== x || x === 0) return x;
  if (!Number.isFinite(x)) return withSign(x, overflow(format, "nearest-even"));
  const bits = doubleBits(x);
  const field = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & 0xfffffffffffffn;
  // |x| = significand * 2^exponent, exactly.
  const significand = field === 0 ? fraction : fraction | (1n << 52n);
  const exponent = Math.max(field, 1) - 1075;
  // floor(log2 |x|): the field gives it directly except for subnormal doubles.
  const leading = field === 0 ? fraction.toString(2).length - 1075 : field - 1023;
  // The exponent of the last kept place. Clamping it at the smallest normal binade is what
  // makes underflow gradual; without subnormals the only values below that binade are 0 and
  // the smallest normal, one whole 2^minNormalExponent apart.
  const minNormalExponent = 1 - bias(format);
  const quantum = leading >= minNormalExponent
    ? leading - format.fractionBits
    : format.subnormals === false
    ? minNormalExponent
    : minNormalExponent - format.fractionBits;
  let kept: bigint;
  if (quantum <= exponent) {
    kept = significand << BigInt(exponent - quantum);
  } else {
    const shift = BigInt(quantum - exponent);
    kept = significand >> shift;
    const dropped = significand - (kept << shift);
    const half = 1n << (shift - 1n);
    const up = direction === "nearest-even"
      ? dropped > half || (dropped === half && (kept & 1n) === 1n)
      : direction === "away-from-zero" && dropped > 0n;
    if (up) kept++;
  }
  const magnitude = Number(kept) * 2 ** quantum;
  const rounded = magnitude > maxFinite(format) ? overflow(format, direction) : magnitude;
  return withSign(x, rounded);
}

/** What a magnitude beyond the largest finite value becomes. */
function overflow(format: BinaryFormat, direction: Direction): number {
  if (format.saturate || direction === "toward-zero") return maxFinite(format);
  return format.specials === "fn" ? NaN : Infinity;
}

function withSign(x: number, magnitude: number): number {
  return x < 0 ? -magnitude : magnitude;
}
