/**
 * A small seeded random number generator, so that dropout masks and initial weights are
 * reproducible from a seed on every runtime.
 *
 * @module
 */

/**
 * Uniform numbers in [0, 1) from a 32-bit seed (mulberry32: one multiply-xorshift round per
 * draw, period 2^32; ample for dropout masks and initialisation, not for cryptography).
 */
export class Random {
  #state: number;

  /** Starts the sequence for `seed` (any number; its low 32 bits are used). */
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** The next uniform number in [0, 1). */
  uniform(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** A standard normal number (Box-Muller; `1 - uniform()` keeps the log finite). */
  normal(): number {
    return Math.sqrt(-2 * Math.log(1 - this.uniform())) * Math.cos(2 * Math.PI * this.uniform());
  }
}
