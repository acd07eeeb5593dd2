/**
 * Rounding modes: which of its two neighbours in a format a value goes to, and what a finite
 * value beyond the largest finite one becomes. The modes of CPFloat and MATLAB's chop: three
 * to nearest (ties to even, away from zero, toward zero), three directed, round to odd, and
 * three stochastic.
 *
 * A mode decides from four numbers: the fraction f in [0, 1) of a spacing that the value's
 * magnitude lies above its lower neighbour (exactly), the parity of the lower neighbour's code,
 * the sign, and 32 random bits (ignored by the deterministic modes). That is all a kernel
 * needs, in TypeScript or WebAssembly.
 *
 * @module
 */

/**
 * How a value between two neighbours in the format is rounded ("lower" is the neighbour of
 * smaller magnitude, f the value's distance above it in spacings, in [0, 1)).
 *
 * - `"nearest-even"`: to the nearer neighbour; a tie to the one whose code is even.
 * - `"nearest-away"`: to the nearer; a tie away from zero (IEEE 754 roundTiesToAway).
 * - `"nearest-zero"`: to the nearer; a tie toward zero.
 * - `"toward-positive"`, `"toward-negative"`: to the neighbour above, below (IEEE 754
 *   roundTowardPositive, roundTowardNegative).
 * - `"toward-zero"`: to the neighbour of smaller magnitude (truncation).
 * - `"odd"`: to the neighbour whose code is odd, unless the value is exact (round to odd:
 *   rounding to a wider format this way, then to nearest, never rounds twice wrongly).
 * - `"stochastic"`: away from zero with probability f, so that a value's expected rounding is
 *   itself.
 * - `"stochastic-equal"`: away from zero with probability 1/2 when f > 0.
 *
 * @example
 * ```ts
 * import type { MinifloatRounding } from "@halfprec/halfprec/formats";
 * import assert from "node:assert/strict";
 * const rounding: MinifloatRounding = "toward-zero";
 * assert.equal(rounding, "toward-zero");
 * ```
 */
export type MinifloatRounding =
  | "nearest-even"
  | "nearest-away"
  | "nearest-zero"
  | "toward-positive"
  | "toward-negative"
  | "toward-zero"
  | "odd"
  | "stochastic"
  | "stochastic-equal";

/**
 * Every rounding mode with the suffix that names it in a format's name (`e4m3-ru`) and one
 * line saying what it does; `{seed}` stands for the seed of a stochastic mode. Stochastic
 * rounding with n random bits (`-sr{seed}-bits{n}`) is `"stochastic"` with `randomBits`.
 *
 * @example
 * ```ts
 * import { ROUNDING_MODES } from "@halfprec/halfprec/formats";
 * import assert from "node:assert/strict";
 * assert.equal(ROUNDING_MODES.find((m) => m.mode === "toward-positive")?.suffix, "-ru");
 * assert.equal(ROUNDING_MODES.length, 9);
 * ```
 */
export const ROUNDING_MODES: readonly {
  readonly mode: MinifloatRounding;
  readonly suffix: string;
  readonly description: string;
}[] = [
  { mode: "nearest-even", suffix: "", description: "to nearest, ties to even (the default)" },
  { mode: "nearest-away", suffix: "-rna", description: "to nearest, ties away from zero" },
  { mode: "nearest-zero", suffix: "-rnz", description: "to nearest, ties toward zero" },
  { mode: "toward-positive", suffix: "-ru", description: "toward +Infinity (up)" },
  { mode: "toward-negative", suffix: "-rd", description: "toward -Infinity (down)" },
  { mode: "toward-zero", suffix: "-rz", description: "toward zero (truncation)" },
  { mode: "odd", suffix: "-ro", description: "to the odd neighbour when inexact (round to odd)" },
  {
    mode: "stochastic",
    suffix: "-sr{seed}",
    description: "up with probability equal to the distance from the lower neighbour",
  },
  {
    mode: "stochastic-equal",
    suffix: "-sre{seed}",
    description: "up with probability 1/2 when inexact",
  },
];

/** Whether a mode rounds by random bits. */
export function isStochastic(mode: MinifloatRounding): boolean {
  return mode === "stochastic" || mode === "stochastic-equal";
}

/**
 * The decision of `mode`: whether a magnitude a fraction `f` of a spacing above its lower
 * neighbour goes up, given the lower neighbour's parity (`odd`), the sign and 32 random bits.
 * With `randomBits` n (stochastic only), as hardware does it: f cut to n bits, plus n random
 * bits, up on a carry, so the probability is floor(f · 2^n) / 2^n.
 */
export function roundsUp(
  mode: MinifloatRounding,
  randomBits?: number,
): (f: number, odd: boolean, negative: boolean, random: number) => boolean {
  switch (mode) {
    case "nearest-even":
      return (f, odd) => f > 0.5 || (f === 0.5 && odd);
    case "nearest-away":
      return (f) => f >= 0.5;
    case "nearest-zero":
      return (f) => f > 0.5;
    case "toward-positive":
      return (f, _, negative) => f > 0 && !negative;
    case "toward-negative":
      return (f, _, negative) => f > 0 && negative;
    case "toward-zero":
      return () => false;
    case "odd":
      return (f, odd) => f > 0 && !odd;
    case "stochastic-equal":
      return (f, _odd, _negative, random) => f > 0 && random >= 2 ** 31;
    case "stochastic": {
      if (randomBits === undefined) return (f, _odd, _negative, random) => random < f * 2 ** 32;
      const whole = 2 ** randomBits;
      const shift = 32 - randomBits;
      return (f, _odd, _negative, random) => Math.floor(f * whole) + (random >>> shift) >= whole;
    }
  }
}

/**
 * Whether a finite value of this sign whose rounding passes the largest finite value becomes
 * the largest finite value (true) rather than overflowing to Infinity (or NaN in a format
 * without infinities): modes that never round a magnitude up past the value do not overflow.
 */
export function clampsOverflow(mode: MinifloatRounding, negative: boolean): boolean {
  return mode === "toward-zero" || mode === "odd" ||
    (mode === "toward-positive" && negative) || (mode === "toward-negative" && !negative);
}
