/**
 * Inputs that rounding tests feed to a format: random doubles, and every halfway point
 * between neighbouring values with the doubles around it.
 *
 * @module
 */
import {
  aboveMaxFinite,
  type BinaryFormat,
  decode,
  doubleBits,
  fromDoubleBits,
  maxFiniteCode,
} from "./_reference_round.ts";

/** mulberry32: a tiny seeded generator of 32-bit integers, so every run sees the same inputs. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/**
 * `count` doubles with a random sign, an unbiased exponent drawn uniformly from
 * `[minExponent, maxExponent]` (-1023 is the field of zeros and subnormals, 1024 that of
 * infinities and NaN) and a random fraction cut short at a random bit: a uniform fraction would
 * almost never be exact or a tie in a narrow format, short ones often are.
 */
export function randomDoubles(
  count: number,
  minExponent: number,
  maxExponent: number,
  seed: number,
): Float64Array {
  const next = mulberry32(seed);
  const span = maxExponent - minExponent + 1;
  const xs = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const sign = BigInt(next() & 1);
    const field = BigInt(minExponent + (next() % span) + 1023);
    const cut = BigInt(next() % 53);
    const fraction = (((BigInt(next() & 0xfffff) << 32n) | BigInt(next())) >> cut) << cut;
    xs[i] = fromDoubleBits((sign << 63n) | (field << 52n) | fraction);
  }
  return xs;
}

/** The double next to positive finite `x`, above (`step` 1) or below (`step` -1). */
export function adjacentDouble(x: number, step: 1 | -1): number {
  return fromDoubleBits(doubleBits(x) + BigInt(step));
}

/** `magnitudes` followed by their negations. */
export function withNegatives(magnitudes: number[]): Float64Array {
  return Float64Array.from([...magnitudes, ...magnitudes.map((x) => -x)]);
}

/** The non-negative finite values of `format`, ascending, each once. */
export function nonNegativeValues(format: BinaryFormat): number[] {
  const values = new Set<number>();
  for (let code = 0; code <= maxFiniteCode(format); code++) values.add(decode(code, format));
  return [...values].sort((a, b) => a - b);
}

/**
 * The midpoints between neighbouring non-negative values of `format`, from 0 and the smallest
 * positive value to the largest finite value and the one the format would have above it, each
 * with the spacing it lies in.
 */
export function ties(format: BinaryFormat): { tie: number; spacing: number }[] {
  const values = [...nonNegativeValues(format), aboveMaxFinite(format)];
  return values.slice(1).map((above, i) => ({
    tie: (values[i] + above) / 2,
    spacing: above - values[i],
  }));
}

/** Every tie of `format` and the doubles just above and below it, with both signs. */
export function halfwayCases(format: BinaryFormat): Float64Array {
  return withNegatives(
    ties(format).flatMap(({ tie }) => [tie, adjacentDouble(tie, 1), adjacentDouble(tie, -1)]),
  );
}

/**
 * Values a fraction 2^-k of a spacing from each tie, on both sides and with both signs: a
 * rounding that went through a narrower float first (as bf16's does through float32) would land
 * some of them on the tie and round them the wrong way.
 */
export function nearTies(format: BinaryFormat, ks: readonly number[]): Float64Array {
  return withNegatives(
    ties(format).flatMap(({ tie, spacing }) =>
      ks.flatMap((k) => [tie - spacing * 2 ** -k, tie + spacing * 2 ** -k])
    ),
  );
}
