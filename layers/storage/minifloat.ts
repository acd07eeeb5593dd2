/**
 * Minifloats: binary floating-point formats of up to 16 bits, of any exponent and fraction
 * width, held as codes. fp8 is two of them; a user can try one nobody ships.
 *
 * Reading looks each code up in a table of every code's value. Writing rounds exactly: the
 * float64 value is scaled by a power of two so that the format's spacing around it is 1, which
 * is exact, and the one rounding left is of that number to an integer, whose integer part and
 * remainder say which neighbours the value lies between and how far. Nothing is rounded twice.
 *
 * @module
 */
import type { RoundingStream, Storage } from "./storage.ts";
import { tableRead } from "./_table.ts";
import { checkRun } from "./_bounds.ts";
import { DOUBLE_SPECIALS, highWord } from "./_double_bits.ts";
import { defaultBias, defaultSpecials, minifloatName } from "./_minifloat_name.ts";
import { deriveSeed, Random } from "../random.ts";
import { type MinifloatParts, registerMinifloat } from "./_minifloat_parts.ts";
import {
  clampsOverflow,
  isStochastic,
  type MinifloatRounding,
  ROUNDING_MODES,
  roundsUp,
} from "./rounding.ts";

/**
 * Which codes of a minifloat are not finite numbers.
 *
 * - `"ieee"`: as in IEEE 754, the all-ones exponent field holds ±Infinity (fraction 0) and
 *   NaN (any other fraction).
 * - `"fn"` ("finite", as in OCP's E4M3 and PyTorch's `float8_e4m3fn`): only the all-ones code
 *   of each sign is NaN; there are no infinities, and the rest of the top binade holds numbers.
 *
 * @example
 * ```ts
 * import type { MinifloatSpecials } from "@halfprec/halfprec/formats";
 * import assert from "node:assert/strict";
 * const specials: MinifloatSpecials = "fn";
 * assert.equal(specials, "fn");
 * ```
 */
export type MinifloatSpecials = "ieee" | "fn";

/**
 * A minifloat format and how values are rounded to it.
 *
 * @example
 * ```ts
 * import { minifloat, type MinifloatOptions } from "@halfprec/halfprec/formats";
 * import assert from "node:assert/strict";
 * const options: MinifloatOptions = { exponentBits: 3, mantissaBits: 4, saturate: true };
 * assert.equal(minifloat(options).name, "e3m4-sat");
 * ```
 */
export interface MinifloatOptions {
  /** Width of the exponent field, at least 1. */
  exponentBits: number;
  /** Width of the fraction field (significant bits minus the implicit one), at least 1. */
  mantissaBits: number;
  /** What the exponent field is offset by: the smallest normal value is 2^(1 − bias). @default {2 ** (exponentBits - 1) - 1} */
  bias?: number;
  /**
   * Whether the format holds subnormals. Without them it holds no value between 0 and its
   * smallest normal: values there round (by the rounding mode) to 0 or to the smallest
   * normal, and the codes of subnormals read as zeros of their sign.
   *
   * @default {true}
   */
  subnormals?: boolean;
  /** Which codes are not finite numbers. @default {"fn" for 4 exponent and 3 mantissa bits (OCP's E4M3), "ieee" otherwise} */
  specials?: MinifloatSpecials;
  /**
   * Whether values beyond the largest finite one, after rounding, and infinities become the
   * largest finite value of their sign, rather than ±Infinity (or NaN when the format has no
   * infinities). NaN stays NaN either way.
   *
   * @default {false}
   */
  saturate?: boolean;
  /**
   * How values are rounded by both `round` and `write` (see {@linkcode MinifloatRounding}).
   * Modes that never round a magnitude up past the value (toward zero, to odd, and toward the
   * infinity of the other sign) do not overflow: they stop at the largest finite value.
   *
   * @default {"nearest-even"}
   */
  rounding?: MinifloatRounding;
  /**
   * The seed of stochastic rounding's random stream, an integer from 0 to 2^32 − 1; only for
   * the stochastic modes.
   *
   * @default {0}
   */
  seed?: number;
  /**
   * Stochastic rounding with this many random bits (1 to 32), as hardware does it: the
   * distance to the lower neighbour is cut to that many bits before the random bits are added,
   * so rounding is biased toward zero by less than 2^-n of a spacing. Only for
   * `rounding: "stochastic"`; without it, the probability is the exact distance.
   */
  randomBits?: number;
}

/** Options with every default filled in; `randomBits` stays absent when not given. */
type Resolved = Required<Omit<MinifloatOptions, "randomBits">> & { randomBits?: number };

/**
 * A storage holding a minifloat format as codes: a `Uint8Array` when sign, exponent and
 * fraction fit 8 bits, else a `Uint16Array`.
 *
 * NaN stays NaN (its sign kept, its payload not) and the sign of zero is kept. Its `name`
 * spells the options (see below) and finds it again with `storageByName`. Its `dtype` is the
 * safetensors one whose codes mean the same (`F8_E4M3`, `F8_E5M2`, `F16`, `BF16`), else `U8`
 * or `U16`: raw codes, which `parseSafetensors` does not load back into a format.
 *
 * The name is `e{E}m{M}`, then, in this order, a part for each option that is not the
 * default: `-ieee` or `-fn` (specials), `-b{bias}`, `-nosub` (no subnormals), `-sat`
 * (saturate), then the rounding mode's suffix (see `ROUNDING_MODES`: `-rna`, `-rnz`, `-ru`,
 * `-rd`, `-rz`, `-ro`, `-sr{seed}`, `-sr{seed}-bits{n}`, `-sre{seed}`). So `e4m3` is OCP's
 * E4M3, `e4m3-ieee` the IEEE-like E4M3 of LLVM and ml_dtypes (largest finite 240),
 * `e5m2-sat-sr7` saturating E5M2 with stochastic rounding seeded 7, `e5m10-ru` float16
 * rounded toward +Infinity.
 *
 * With stochastic rounding the storage has a {@linkcode RoundingStream} (`stream`): every
 * finite value it rounds, by `round` or by `write`, draws the next number (32 random bits) from
 * it. The stream starts at the seed; runs restart it (`stream.restart(key)`) per image and
 * layer, so that a result depends on the seed and where a value was computed, not on what the
 * same object rounded before.
 *
 * @param options The format and its rounding.
 * @returns The storage.
 * @throws {RangeError} When an option is out of range, the format needs more than 16 bits, its
 * normal exponents leave float64's range (−1022 to 1023), or it has no positive finite value.
 *
 * @example A format nobody ships
 * ```ts
 * import { minifloat, Tensor } from "@halfprec/halfprec/layers";
 * import assert from "node:assert/strict";
 *
 * const e3m4 = minifloat({ exponentBits: 3, mantissaBits: 4 });
 * assert.equal(e3m4.name, "e3m4");
 * assert.equal(e3m4.bytesPerElement, 1);
 * assert.equal(e3m4.round(1 / 3), 0.328125); // 21/64
 * assert.equal(e3m4.round(15.5), 15.5); // the largest finite value
 * assert.equal(e3m4.round(16), Infinity);
 * assert.deepEqual([...Tensor.from(e3m4, [2], [0.1, -2]).toFloat64()], [0.09375, -2]);
 * ```
 *
 * @example Rounding modes
 * ```ts
 * import { minifloat } from "@halfprec/halfprec/formats";
 * import assert from "node:assert/strict";
 *
 * const truncating = minifloat({ exponentBits: 3, mantissaBits: 4, rounding: "toward-zero" });
 * assert.equal(truncating.name, "e3m4-rz");
 * assert.equal(truncating.round(0.99), 0.96875);
 * assert.equal(truncating.round(100), 15.5);
 *
 * const stochastic = minifloat({ exponentBits: 3, mantissaBits: 4, rounding: "stochastic", seed: 1 });
 * assert.equal(stochastic.name, "e3m4-sr1");
 * assert.ok([0.96875, 1].includes(stochastic.round(0.99)));
 * ```
 */
export function minifloat(options: MinifloatOptions): Storage {
  const { format, codes, encode: encodeWith, parts } = build(options);
  const name = minifloatName(format);
  const values = codes.values;
  // The stream: restartable, and drawn only by stochastic rounding, one draw per value.
  let random = new Random(format.seed);
  const stochastic = isStochastic(format.rounding);
  const encode = stochastic
    ? (x: number) => encodeWith(x, random.bits())
    : (x: number) => encodeWith(x, 0);
  const stream: RoundingStream | undefined = stochastic
    ? {
      seed: format.seed,
      restart: (key) => void (random = new Random(deriveSeed(format.seed, key))),
      draw: (into) => {
        for (let i = 0; i < into.length; i++) into[i] = random.bits();
      },
    }
    : undefined;
  const { mantissaBits, bias, subnormals } = format;
  const CodeArray = 1 + format.exponentBits + mantissaBits <= 8 ? Uint8Array : Uint16Array;
  const storage: Storage = {
    name,
    dtype: dtypeOf(format, CodeArray),
    limits: {
      significandBits: mantissaBits + 1,
      minNormal: 2 ** (1 - bias),
      minSubnormal: 2 ** (1 - bias - (subnormals ? mantissaBits : 0)),
      maxFinite: values[codes.maxFinite],
    },
    bytesPerElement: CodeArray.BYTES_PER_ELEMENT,
    ...(stream ? { stream } : {}),
    alloc: (length) => new CodeArray(length),
    round: (x) => values[encode(x)],
    read: tableRead(values, CodeArray),
    write(src, srcOffset, dst, dstOffset, length) {
      checkRun("narrow from", src, srcOffset, length);
      checkRun("write", dst, dstOffset, length);
      for (let i = 0; i < length; i++) dst[dstOffset + i] = encode(src[srcOffset + i]);
    },
  };
  registerMinifloat(storage, parts);
  return storage;
}

/**
 * A minifloat's rounding as a pure function, for kernels (WebAssembly tables, scaled and block
 * formats) that round without a `Storage`: `encode(x, random)` is the code `x` rounds to,
 * `random` being 32 random bits (an integer from 0 to 2^32 − 1) that only the stochastic modes
 * read; `values` decodes every code. A stochastic `minifloat` storage is this encoder fed from
 * its stream.
 *
 * @param options The format and its rounding (`seed` is not used: the caller draws `random`).
 * @throws {RangeError} As {@linkcode minifloat} does.
 *
 * @example
 * ```ts
 * import { minifloatEncoder } from "@halfprec/halfprec/formats";
 * import assert from "node:assert/strict";
 * const up = minifloatEncoder({ exponentBits: 4, mantissaBits: 3, rounding: "toward-positive" });
 * assert.equal(up.values[up.encode(1.01, 0)], 1.125);
 * assert.equal(up.values[up.encode(-1.01, 0)], -1);
 * const sr = minifloatEncoder({ exponentBits: 4, mantissaBits: 3, rounding: "stochastic" });
 * assert.equal(sr.values[sr.encode(1.0625, 2 ** 31 - 1)], 1.125); // random / 2^32 < 1/2: up
 * assert.equal(sr.values[sr.encode(1.0625, 2 ** 31)], 1);
 * ```
 */
export function minifloatEncoder(options: MinifloatOptions): {
  /** The code `x` rounds to, given 32 random bits. */
  encode: (x: number, random: number) => number;
  /** Every code's value, the sign bit included. */
  values: Float64Array;
} {
  const { codes, encode } = build(options);
  return { encode, values: codes.values };
}

/** A checked format, its codes and its encoder: what `minifloat` and its encoder share. */
function build(options: MinifloatOptions): {
  format: Resolved;
  codes: Codes;
  encode: (x: number, random: number) => number;
  parts: MinifloatParts;
} {
  const format = resolve(options);
  const codes = new Codes(format);
  if (!(codes.values[codes.maxFinite] > 0)) {
    throw new RangeError(
      `Cannot make minifloat ${minifloatName(format)}: it has no positive finite value`,
    );
  }
  return { format, codes, ...encoder(format, codes) };
}

const ROUNDINGS: readonly MinifloatRounding[] = ROUNDING_MODES.map((m) => m.mode);
const SPECIALS: readonly MinifloatSpecials[] = ["ieee", "fn"];

/** `options` with every default filled in, once each is known to be in range. */
function resolve(options: MinifloatOptions): Resolved {
  const { exponentBits, mantissaBits } = options;
  const fail = (problem: string) =>
    new RangeError(`Cannot make minifloat e${exponentBits}m${mantissaBits}: ${problem}`);
  if (!Number.isInteger(exponentBits) || exponentBits < 1) {
    throw fail(`exponentBits is ${exponentBits}, expected an integer of at least 1`);
  }
  if (!Number.isInteger(mantissaBits) || mantissaBits < 1) {
    throw fail(
      `mantissaBits is ${mantissaBits}, expected an integer of at least 1 (without a fraction ` +
        "bit, ties to even are undefined and an IEEE layout has no NaN)",
    );
  }
  const bits = 1 + exponentBits + mantissaBits;
  if (bits > 16) throw fail(`it needs ${bits} bits with the sign, expected at most 16`);
  const format: Resolved = {
    exponentBits,
    mantissaBits,
    bias: options.bias ?? defaultBias(exponentBits),
    subnormals: options.subnormals ?? true,
    specials: options.specials ?? defaultSpecials(exponentBits, mantissaBits),
    saturate: options.saturate ?? false,
    rounding: options.rounding ?? "nearest-even",
    seed: options.seed ?? 0,
    ...(options.randomBits === undefined ? {} : { randomBits: options.randomBits }),
  };
  const { bias, specials, rounding, seed } = format;
  if (!Number.isSafeInteger(bias)) throw fail(`bias is ${bias}, expected an integer`);
  if (!SPECIALS.includes(specials)) {
    throw fail(`specials is "${specials}", expected one of ${SPECIALS.join(", ")}`);
  }
  if (!ROUNDINGS.includes(rounding)) {
    throw fail(`rounding is "${rounding}", expected one of ${ROUNDINGS.join(", ")}`);
  }
  if (options.seed !== undefined && !isStochastic(rounding)) {
    throw fail(`a seed was given with rounding "${rounding}", expected a stochastic rounding`);
  }
  const { randomBits } = format;
  if (randomBits !== undefined && rounding !== "stochastic") {
    throw fail(`randomBits was given with rounding "${rounding}", expected rounding "stochastic"`);
  }
  if (
    randomBits !== undefined &&
    !(Number.isInteger(randomBits) && randomBits >= 1 && randomBits <= 32)
  ) {
    throw fail(`randomBits is ${randomBits}, expected an integer from 1 to 32`);
  }
  if (!(Number.isInteger(seed) && seed >= 0 && seed < 2 ** 32)) {
    throw fail(`seed is ${seed}, expected an integer from 0 to ${2 ** 32 - 1}`);
  }
  // Keeping the normal range inside float64's makes every value a double, and the smallest
  // spacing (2^(-1022 - 15) at most) too.
  const topField = specials === "ieee" ? 2 ** exponentBits - 2 : 2 ** exponentBits - 1;
  const [low, high] = [1 - bias, Math.max(topField, 1) - bias];
  if (low < -1022 || high > 1023) {
    throw fail(`its normal exponents run from ${low} to ${high}, expected -1022 to 1023 at most`);
  }
  return format;
}

/** The formats with a safetensors dtype, with their standard bias and subnormals. */
const DTYPES: readonly (readonly [number, number, MinifloatSpecials, string])[] = [
  [4, 3, "fn", "F8_E4M3"],
  [5, 2, "ieee", "F8_E5M2"],
  [5, 10, "ieee", "F16"],
  [8, 7, "ieee", "BF16"],
];

function dtypeOf(
  format: Resolved,
  CodeArray: { BYTES_PER_ELEMENT: number },
): string {
  const { exponentBits, mantissaBits, specials } = format;
  const standard = format.subnormals && format.bias === defaultBias(exponentBits);
  const known = DTYPES.find(([e, m, s]) =>
    standard && e === exponentBits && m === mantissaBits && s === specials
  );
  return known ? known[3] : `U${8 * CodeArray.BYTES_PER_ELEMENT}`;
}

/** A format's codes: every code's value, and the codes that encoding lands on specially. */
class Codes {
  /** Every code's value, the sign bit included. */
  readonly values: Float64Array;
  /** The code of the sign bit: a negative value's code is its magnitude's plus this. */
  readonly sign: number;
  /** The code of the largest finite value. */
  readonly maxFinite: number;
  /** The code +NaN is stored as. */
  readonly nan: number;
  /** The code of +Infinity, or NaN's in a format without infinities. */
  readonly infinity: number;

  constructor(format: Resolved) {
    const { exponentBits, mantissaBits, bias, subnormals, specials } = format;
    const fractions = 2 ** mantissaBits;
    const topField = 2 ** exponentBits - 1;
    this.sign = 2 ** (exponentBits + mantissaBits);
    const ieee = specials === "ieee";
    this.maxFinite = ieee ? topField * fractions - 1 : this.sign - 2;
    // The IEEE quiet NaN: the top fraction bit set. In the fn layout, the all-ones code.
    this.nan = ieee ? topField * fractions + fractions / 2 : this.sign - 1;
    this.infinity = ieee ? topField * fractions : this.nan;
    this.values = new Float64Array(2 * this.sign);
    for (let code = 0; code < this.values.length; code++) {
      const magnitude = code % this.sign;
      const sign = code < this.sign ? 1 : -1;
      const field = Math.floor(magnitude / fractions);
      const fraction = magnitude % fractions;
      if (magnitude > this.maxFinite) {
        this.values[code] = magnitude === this.infinity && ieee ? sign * Infinity : NaN;
      } else if (field === 0) {
        this.values[code] = subnormals
          ? sign * fraction * 2 ** (1 - bias - mantissaBits)
          : sign * 0;
      } else {
        this.values[code] = sign * (fractions + fraction) * 2 ** (field - bias - mantissaBits);
      }
    }
  }
}

/**
 * The function from a double (and 32 random bits) to its code in `format`, and the tables it
 * works from (for kernels that encode the same way elsewhere).
 *
 * Magnitudes are handled per float64 binade (exponent field). Within one, the format's spacing
 * is a fixed power of two, 2^q, and the format's value k·2^q has the code offset + k·step.
 * Multiplying |x| by 2^-q (as two powers of two, each a double even when 2^-q is not) is exact,
 * which leaves one rounding, of a number of spacings to an integer k: its floor and the
 * fraction above it, both exact, go to the rounding mode. Rounding up past the binade's last
 * value lands on the next binade's first code, because codes of one sign increase with
 * magnitude. k's parity is the code's: offsets are multiples of 2^mantissaBits, and where the
 * step is not 1 (no subnormals), k is 0 or 1.
 */
function encoder(
  format: Resolved,
  codes: Codes,
): { encode: (x: number, random: number) => number; parts: MinifloatParts } {
  const { mantissaBits, bias, subnormals } = format;
  const minExponent = 1 - bias;
  // One entry per exponent field of finite doubles.
  const scaleHigh = new Float64Array(DOUBLE_SPECIALS);
  const scaleLow = new Float64Array(DOUBLE_SPECIALS);
  const offset = new Float64Array(DOUBLE_SPECIALS);
  const step = new Float64Array(DOUBLE_SPECIALS);
  for (let field = 0; field < DOUBLE_SPECIALS; field++) {
    // floor(log2 |x|); for subnormal doubles (field 0) an upper bound below every format's range.
    const exponent = field - 1023;
    let quantum: number;
    if (exponent >= minExponent) {
      quantum = exponent - mantissaBits;
      offset[field] = (exponent + bias - 1) * 2 ** mantissaBits;
      step[field] = 1;
    } else if (subnormals) {
      quantum = minExponent - mantissaBits;
      step[field] = 1;
    } else {
      // Below the smallest normal only 0 and the smallest normal are left: one spacing apart.
      quantum = minExponent;
      step[field] = 2 ** mantissaBits;
    }
    const half = Math.trunc(-quantum / 2);
    scaleHigh[field] = 2 ** half;
    scaleLow[field] = 2 ** (-quantum - half);
  }
  const { rounding } = format;
  const up = roundsUp(rounding, format.randomBits);
  const { sign: signCode, maxFinite, nan, infinity } = codes;
  const overflow = format.saturate ? maxFinite : infinity;
  // What a finite value past the largest finite one becomes, by sign.
  const finiteOverflow = [false, true].map((negative) =>
    format.saturate || clampsOverflow(rounding, negative) ? maxFinite : infinity
  ) as [number, number];
  const nearestEven = rounding === "nearest-even";
  const encode = (x: number, random: number) => {
    const high = highWord(x);
    const negative = high >>> 31;
    const sign = negative * signCode;
    const field = (high >>> 20) & DOUBLE_SPECIALS;
    if (field === DOUBLE_SPECIALS) return sign + (x === x ? overflow : nan);
    const spacings = Math.abs(x) * scaleHigh[field] * scaleLow[field];
    let k: number;
    if (nearestEven) {
      // Adding 2^52 leaves no fraction bits, so the addition itself rounds to an integer, to
      // nearest even: one rounding, and no data-dependent branch (the default's fast path).
      k = spacings + 2 ** 52 - 2 ** 52;
    } else {
      k = Math.floor(spacings);
      // Scaled by a spacing above 1, a double subnormal can underflow to 0 spacings. It is still
      // a positive fraction of one, below every threshold the modes compare with.
      const fraction = spacings === 0 && x !== 0 ? Number.MIN_VALUE : spacings - k;
      if (up(fraction, k % 2 === 1, negative === 1, random)) k++;
    }
    const code = offset[field] + k * step[field];
    return sign + (code > maxFinite ? finiteOverflow[negative] : code);
  };
  const parts: MinifloatParts = {
    mantissaBits,
    bits: 1 + format.exponentBits + mantissaBits,
    rounding,
    ...(format.randomBits === undefined ? {} : { randomBits: format.randomBits }),
    values: codes.values,
    sign: signCode,
    maxFinite,
    nan,
    overflow,
    finiteOverflow,
    scaleHigh,
    scaleLow,
    offset,
    step,
  };
  return { encode, parts };
}
