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
 * Which way a value between two of the format's values goes, as the rounding modes define it
 * (see `MinifloatRounding`), plus `"away-from-zero"`: one of the two stochastic rounding picks.
 * The stochastic modes take their random bits from {@linkcode Draw}.
 */
export type Direction =
  | "nearest-even"
  | "nearest-away"
  | "nearest-zero"
  | "toward-positive"
  | "toward-negative"
  | "toward-zero"
  | "away-from-zero"
  | "odd"
  | "stochastic"
  | "stochastic-equal";

/** The 32 random bits a stochastic rounding is given, and how many of them it uses. */
export interface Draw {
  /** An integer from 0 to 2^32 - 1. */
  readonly random: number;
  /** Stochastic rounding with this many random bits (hardware style); absent: exact. */
  readonly randomBits?: number;
}

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
  draw: Draw = { random: 0 },
): number {
  if (x !== x || x === 0) return x;
  if (!Number.isFinite(x)) return withSign(x, overflow(format, "nearest-even", x < 0));
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
    if (roundsUp(direction, dropped, shift, (kept & 1n) === 1n, x < 0, draw)) kept++;
  }
  const magnitude = Number(kept) * 2 ** quantum;
  const rounded = magnitude > maxFinite(format) ? overflow(format, direction, x < 0) : magnitude;
  return withSign(x, rounded);
}

/**
 * Whether a magnitude `dropped / 2^shift` of a spacing above the kept one goes up, by the
 * modes' definitions, in integers.
 */
function roundsUp(
  direction: Direction,
  dropped: bigint,
  shift: bigint,
  odd: boolean,
  negative: boolean,
  draw: Draw,
): boolean {
  const half = 1n << (shift - 1n);
  const inexact = dropped > 0n;
  const random = BigInt(draw.random);
  switch (direction) {
    case "nearest-even":
      return dropped > half || (dropped === half && odd);
    case "nearest-away":
      return dropped >= half;
    case "nearest-zero":
      return dropped > half;
    case "toward-positive":
      return inexact && !negative;
    case "toward-negative":
      return inexact && negative;
    case "toward-zero":
      return false;
    case "away-from-zero":
      return inexact;
    case "odd":
      return inexact && !odd;
    case "stochastic-equal":
      return inexact && random >= 1n << 31n;
    case "stochastic": {
      // Exact: up when random / 2^32 < dropped / 2^shift.
      if (draw.randomBits === undefined) return random << shift < dropped << 32n;
      const bits = BigInt(draw.randomBits);
      const cut = (dropped << bits) >> shift;
      return cut + (random >> (32n - bits)) >= 1n << bits;
    }
  }
}

/** What a magnitude of this sign beyond the largest finite value becomes. */
function overflow(format: BinaryFormat, direction: Direction, negative: boolean): number {
  const clamps = direction === "toward-zero" || direction === "odd" ||
    (direction === "toward-positive" && negative) || (direction === "toward-negative" && !negative);
  if (format.saturate || clamps) return maxFinite(format);
  return format.specials === "fn" ? NaN : Infinity;
}

function withSign(x: number, magnitude: number): number {
  return x < 0 ? -magnitude : magnitude;
}
