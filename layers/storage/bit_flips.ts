/**
 * Soft errors: a storage format whose stored values have random bits flipped, as a memory
 * that is hit by radiation or run below its voltage margin would have them.
 *
 * Flips are drawn from a stream that belongs to the run, like stochastic rounding's (see
 * {@linkcode RoundingStream}): restarted at `PARAMETERS_KEY` before a network's parameters are
 * stored, and per image and layer before each output is stored. The key also says what is
 * being stored, which is how flips are confined to weights or to activations. Until its stream
 * is first restarted the format flips nothing, so a network rebuilt from its spec (in a worker)
 * keeps the parameters it was sent.
 *
 * @module
 */
import type { Storage, StorageArray } from "./storage.ts";
import { parseMinifloatName } from "./_minifloat_name.ts";
import { scaledSchemeOf } from "./scaled.ts";
import { deriveSeed, Random } from "../random.ts";
import { PARAMETERS_KEY } from "../rounding_streams.ts";

/** Which bits of a stored value may flip: its significand (fraction) field, or any bit. */
export type FlipField = "significand" | "any";

/** What flips hit: a network's parameters, its layers' outputs (and its input), or both. */
export type FlipTarget = "weights" | "activations" | "both";

/**
 * How bits flip: each bit of the chosen field independently, with probability `probability`.
 *
 * @example
 * ```ts
 * import type { BitFlipOptions } from "@halfprec/halfprec/formats";
 * const rare: BitFlipOptions = { probability: 1e-6, field: "significand", target: "weights", seed: 3 };
 * ```
 */
export interface BitFlipOptions {
  /** The probability that a bit flips, from 0 to 1. */
  probability: number;
  /** The bits that may flip. @default {"any"} */
  field?: FlipField;
  /** What is hit. @default {"both"} */
  target?: FlipTarget;
  /** The seed the flips are drawn from (an integer from 0 to 2^32 − 1). @default {1} */
  seed?: number;
}

/** The grammar of the names of formats with bit flips, as error messages show it. */
export const BIT_FLIP_NAME_PATTERN = "{format}+flip{p}[-sig][-w|-a][-s{seed}]";

const NAME = /^(.+)\+flip(\d+(?:\.\d+)?(?:e-?\d+)?)(-sig)?(?:-(w|a))?(?:-s(\d+))?$/;

/** What a flipping storage keeps about its flips, for {@linkcode bitFlipsOf}. */
interface FlippingStorage extends Storage {
  readonly bitFlips: Required<BitFlipOptions> & { base: Storage };
}

/**
 * `base` with bit flips: every value it stores, rounded as `base` rounds it, then hit by flips
 * of the bits of its code (of its stored bits: 8 for fp8, 16 for f16 and bf16, 32 for f32, 64
 * for f64, 1 + E + M for a minifloat; the significand field is the low `significandBits − 1`
 * of them). Its name is `base`'s with `+flip{p}`, `-sig` for significand flips, `-w` or `-a` for
 * flips in weights or activations only, and `-s{seed}`: `f16+flip0.001-sig-w-s7`.
 *
 * The flips of one store are the positions of a Bernoulli process of rate `probability` over
 * the field's bits, drawn as geometric gaps: the cost is one draw per flip, not per bit.
 *
 * @throws {RangeError} When `probability` is not in [0, 1], the seed is not a 32-bit unsigned
 * integer, or `base` already flips bits or is a scaled format (its stored values are float32
 * carriers, not codes).
 *
 * @example Every significand bit of a stored f16 flips at p = 1
 * ```ts
 * import { f16, PARAMETERS_KEY, Tensor, withBitFlips } from "@halfprec/halfprec/layers";
 * import assert from "node:assert/strict";
 * const hit = withBitFlips(f16, { probability: 1, field: "significand" });
 * assert.equal(hit.name, "f16+flip1-sig-s1");
 * hit.stream!.restart(PARAMETERS_KEY);
 * const t = Tensor.from(hit, [1], [1]); // code 0x3c00
 * assert.equal((t.data as Float16Array)[0], 2 - 2 ** -10); // code 0x3fff
 * ```
 */
export function withBitFlips(base: Storage, options: BitFlipOptions): Storage {
  const { probability, field = "any", target = "both", seed = 1 } = options;
  const fail = (problem: string) => new RangeError(`Cannot flip bits of ${base.name}: ${problem}`);
  if (!(probability >= 0 && probability <= 1)) {
    throw fail(`probability is ${probability}, expected a number from 0 to 1`);
  }
  if (!(Number.isInteger(seed) && seed >= 0 && seed <= 0xffffffff)) {
    throw fail(`seed is ${seed}, expected an integer from 0 to 2^32 - 1`);
  }
  if (bitFlipsOf(base)) throw fail("it already flips bits");
  if (scaledSchemeOf(base)) throw fail("a scaled format stores no codes to flip");
  const minifloat = parseMinifloatName(base.name);
  const width = minifloat
    ? 1 + minifloat.exponentBits + minifloat.mantissaBits
    : 8 * base.bytesPerElement;
  const fieldBits = field === "significand" ? base.limits.significandBits - 1 : width;
  const bytes = base.bytesPerElement;
  const logKeep = Math.log1p(-probability); // -Infinity at p = 1: every gap is 0
  let random = new Random(seed);
  let armed = false;
  const gap = () =>
    logKeep === -Infinity ? 0 : Math.floor(Math.log(1 - random.uniform()) / logKeep);
  const flip = (dst: StorageArray, offset: number, length: number) => {
    if (!armed || probability === 0) return;
    const view = new Uint8Array(dst.buffer, dst.byteOffset + offset * bytes, length * bytes);
    const total = length * fieldBits;
    for (let at = gap(); at < total; at += 1 + gap()) {
      const bit = at % fieldBits;
      view[(at - bit) / fieldBits * bytes + (bit >>> 3)] ^= 1 << (bit & 7);
    }
  };
  const one = base.alloc(1);
  const wide = new Float64Array(1);
  const storage: FlippingStorage = {
    name: `${base.name}+flip${probability}${field === "significand" ? "-sig" : ""}` +
      `${target === "both" ? "" : `-${target[0]}`}-s${seed}`,
    dtype: base.dtype,
    limits: base.limits,
    bytesPerElement: bytes,
    bitFlips: { probability, field, target, seed, base },
    stream: {
      seed,
      restart(key) {
        base.stream?.restart(key);
        random = new Random(deriveSeed(seed, key));
        armed = key === PARAMETERS_KEY ? target !== "activations" : target !== "weights";
      },
    },
    alloc: (length) => base.alloc(length),
    round(x) {
      wide[0] = x;
      storage.write(wide, 0, one, 0, 1);
      base.read(one, 0, wide, 0, 1);
      return wide[0];
    },
    read: (src, srcOffset, dst, dstOffset, length) =>
      base.read(src, srcOffset, dst, dstOffset, length),
    write(src, srcOffset, dst, dstOffset, length) {
      base.write(src, srcOffset, dst, dstOffset, length);
      flip(dst, dstOffset, length);
    },
  };
  return storage;
}

/**
 * The flips of a format made by {@linkcode withBitFlips} (every option filled in, and the
 * format it wraps), or undefined for any other format.
 *
 * @example
 * ```ts
 * import { bitFlipsOf, f16, storageByName } from "@halfprec/halfprec/formats";
 * import assert from "node:assert/strict";
 * const flips = bitFlipsOf(storageByName("f16+flip1e-5-w"));
 * assert.equal(flips?.probability, 1e-5);
 * assert.equal(flips?.target, "weights");
 * assert.equal(flips?.base, f16);
 * assert.equal(bitFlipsOf(f16), undefined);
 * ```
 */
export function bitFlipsOf(
  storage: Storage,
): (Required<BitFlipOptions> & { base: Storage }) | undefined {
  return (storage as Partial<FlippingStorage>).bitFlips;
}

/**
 * The base format's name and the flips a name of {@linkcode BIT_FLIP_NAME_PATTERN}'s form
 * spells, or undefined for any other name.
 */
export function parseBitFlipName(
  name: string,
): { base: string; options: BitFlipOptions } | undefined {
  const match = NAME.exec(name);
  if (!match) return undefined;
  const [, base, probability, sig, target, seed] = match;
  return {
    base,
    options: {
      probability: Number(probability),
      field: sig ? "significand" : "any",
      target: target === "w" ? "weights" : target === "a" ? "activations" : "both",
      seed: seed === undefined ? 1 : Number(seed),
    },
  };
}
