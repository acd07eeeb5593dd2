/**
 * The names of minifloat formats: `e4m3`, `e3m4-fn`, `e5m2-sat-sr42`.
 *
 * A name is the shortest spelling of a format: `e{E}m{M}`, then a part for each option that
 * differs from its default, in a fixed order. One format has one name, so a name can key a
 * cache and travel to a worker and back.
 *
 * @module
 */
import type { MinifloatOptions } from "./minifloat.ts";
import { isStochastic, type MinifloatRounding, ROUNDING_MODES } from "./rounding.ts";

/** The grammar of minifloat names, as error messages and documentation show it. */
export const MINIFLOAT_NAME_PATTERN = "e{E}m{M}[-ieee|-fn][-b{bias}][-nosub][-sat]" +
  "[-rna|-rnz|-ru|-rd|-rz|-ro|-sr{seed}[-bits{n}]|-sre{seed}]";

const NAME = new RegExp(
  "^e(\\d+)m(\\d+)(?:-(ieee|fn))?(?:-b(-?\\d+))?(-nosub)?(-sat)?" +
    "(?:-(rna|rnz|ru|rd|rz|ro)|-sr(e?)(\\d+)(?:-bits(\\d+))?)?$",
);

/** The deterministic modes by their name suffix, without the dash (`rz`). */
const BY_SUFFIX = new Map<string, MinifloatRounding>(
  ROUNDING_MODES.filter((m) => !isStochastic(m.mode)).map((m) => [m.suffix.slice(1), m.mode]),
);

/** The bias a format has unless told otherwise: the IEEE 754 choice, 2^(E-1) - 1. */
export function defaultBias(exponentBits: number): number {
  return 2 ** (exponentBits - 1) - 1;
}

/**
 * The layout a format has unless told otherwise. E4M3 is OCP's (no infinities): that is what
 * everyone who writes "e4m3" means, and OCP's E5M2 is IEEE-like anyway.
 */
export function defaultSpecials(
  exponentBits: number,
  mantissaBits: number,
): NonNullable<MinifloatOptions["specials"]> {
  return exponentBits === 4 && mantissaBits === 3 ? "fn" : "ieee";
}

/** The name of the format `options` describe, every option given. */
export function minifloatName(
  options: Required<Omit<MinifloatOptions, "randomBits">> & { randomBits?: number },
): string {
  const { exponentBits, mantissaBits, bias, specials, rounding } = options;
  const parts = [`e${exponentBits}m${mantissaBits}`];
  if (specials !== defaultSpecials(exponentBits, mantissaBits)) parts.push(specials);
  if (bias !== defaultBias(exponentBits)) parts.push(`b${bias}`);
  if (!options.subnormals) parts.push("nosub");
  if (options.saturate) parts.push("sat");
  if (isStochastic(rounding)) {
    parts.push(`${rounding === "stochastic" ? "sr" : "sre"}${options.seed}`);
    if (options.randomBits !== undefined) parts.push(`bits${options.randomBits}`);
  } else if (rounding !== "nearest-even") {
    parts.push(ROUNDING_MODES.find((m) => m.mode === rounding)!.suffix.slice(1));
  }
  return parts.join("-");
}

/**
 * The options a name of {@linkcode MINIFLOAT_NAME_PATTERN}'s form spells, or undefined for
 * any other string. The options are not checked, and the name need not be the format's own
 * (`e4m3-fn` spells `e4m3`): compare it with the name of the storage they make.
 */
export function parseMinifloatName(name: string): MinifloatOptions | undefined {
  const match = NAME.exec(name);
  if (!match) return undefined;
  const [, exponentBits, mantissaBits, specials, bias, nosub, sat, suffix, equal, seed, bits] =
    match;
  const stochastic: MinifloatRounding = equal ? "stochastic-equal" : "stochastic";
  return {
    exponentBits: Number(exponentBits),
    mantissaBits: Number(mantissaBits),
    specials: specials as MinifloatOptions["specials"],
    bias: bias === undefined ? undefined : Number(bias),
    subnormals: nosub === undefined,
    saturate: sat !== undefined,
    rounding: suffix ? BY_SUFFIX.get(suffix) : seed === undefined ? "nearest-even" : stochastic,
    seed: seed === undefined ? undefined : Number(seed),
    randomBits: bits === undefined ? undefined : Number(bits),
  };
}
