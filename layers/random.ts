/**
 * A small seeded random number generator, so that dropout masks and initial weights are
 * reproducible from a seed on every runtime.
 *
 * @module
 */

/**
 * Uniform numbers in [0, 1) from a 32-bit seed (mulberry32: one multiply-xorshift round per
 * draw, period 2^32; ample for dropout masks, initialisation and shuffling, not for
 * cryptography).
 *
 * @example
 * ```ts
 * import { Random } from "@halfprec/halfprec/layers";
 * import assert from "node:assert/strict";
 * const a = new Random(7), b = new Random(7);
 * assert.equal(a.uniform(), b.uniform());
 * assert.ok(a.uniform() < 1);
 * ```
 */
export class Random {
  #state: number;

  /** Starts the sequence for `seed` (any number; its low 32 bits are used). */
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** The next uniform number in [0, 1): the next {@linkcode Random.bits} over 2^32. */
  uniform(): number {
    return this.bits() / 4294967296;
  }

  /** The next 32 random bits, as an integer from 0 to 2^32 − 1. */
  bits(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** The integers 0 .. n-1 in random order (Fisher-Yates). */
  permutation(n: number): Uint32Array {
    const order = Uint32Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(this.uniform() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    return order;
  }

  /** A standard normal number (Box-Muller; `1 - uniform()` keeps the log finite). */
  normal(): number {
    return Math.sqrt(-2 * Math.log(1 - this.uniform())) * Math.cos(2 * Math.PI * this.uniform());
  }
}

/**
 * A 32-bit seed derived from `seed` and `keys` (an image index, a layer position): different
 * keys give unrelated streams, the same keys the same stream. Each step mixes with the
 * finalizer of MurmurHash3, whose avalanche makes neighbouring keys' seeds look unrelated.
 *
 * @example
 * ```ts
 * import { deriveSeed, Random } from "@halfprec/halfprec/layers";
 * import assert from "node:assert/strict";
 * assert.equal(deriveSeed(7, 3, 1), deriveSeed(7, 3, 1));
 * assert.notEqual(deriveSeed(7, 3, 1), deriveSeed(7, 1, 3));
 * assert.ok(new Random(deriveSeed(7, 0)).uniform() < 1);
 * ```
 */
export function deriveSeed(seed: number, ...keys: number[]): number {
  let h = mix(seed >>> 0);
  for (const key of keys) h = mix((h ^ mix((key >>> 0) + 0x9e3779b9)) >>> 0);
  return h;
}

/** MurmurHash3's 32-bit finalizer: a bijection with full avalanche. */
function mix(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}
