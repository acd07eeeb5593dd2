/**
 * The running sums behind `ErrorMetrics`: a tensor compared in pieces (a batch of images at a
 * time) gives the metrics of the whole, added in the same order.
 *
 * @module
 */
import type { Storage } from "../layers/storage/storage.ts";
import type { ErrorMetrics } from "./metrics.ts";
import { ulp } from "./metrics.ts";

/** Sums and maxima of a candidate's differences from its reference, piece by piece. */
export class ErrorSums {
  #maxAbs = 0;
  #maxUlp = 0;
  #noise = 0;
  #signal = 0;
  #candidateEnergy = 0;
  #dot = 0;

  /** Adds the elements of one piece; `format`'s spacing measures the error in ulps. */
  add(reference: Float64Array, candidate: Float64Array, format: Storage): this {
    if (reference.length !== candidate.length) {
      throw new RangeError(
        `Cannot compare tensors of ${reference.length} and ${candidate.length} elements`,
      );
    }
    const { significandBits, maxFinite } = format.limits;
    // The spacing at any |r| up to maxFinite exceeds |r| / 2^significandBits, so an error of d
    // is under d · 2^significandBits / |r| ulps: where that cannot beat the maximum so far, the
    // spacing (a logarithm) is not needed. The maximum comes out the same, provided d scaled is
    // finite: where both sides overflow, the comparison says nothing.
    const bound = 2 ** significandBits;
    // Locals, written back once: the engine keeps them in registers, not the fields.
    let maxAbs = this.#maxAbs, maxUlp = this.#maxUlp;
    let noise = this.#noise, signal = this.#signal, candidateEnergy = this.#candidateEnergy;
    let dot = this.#dot;
    for (let i = 0; i < reference.length; i++) {
      const r = reference[i], c = candidate[i];
      const d = Math.abs(c - r);
      // NaN differences must show, not vanish in a comparison.
      if (d > maxAbs || d !== d) maxAbs = d;
      const a = Math.abs(r);
      const scaled = d * bound;
      if (r !== 0 && !(a <= maxFinite && scaled <= maxUlp * a && scaled < Infinity)) {
        const inUlps = d / ulp(format, r);
        if (inUlps > maxUlp || inUlps !== inUlps) maxUlp = inUlps;
      }
      noise += d * d;
      signal += r * r;
      candidateEnergy += c * c;
      dot += c * r;
    }
    this.#maxAbs = maxAbs;
    this.#maxUlp = maxUlp;
    this.#noise = noise;
    this.#signal = signal;
    this.#candidateEnergy = candidateEnergy;
    this.#dot = dot;
    return this;
  }

  /** The metrics of every element added so far. */
  metrics(): ErrorMetrics {
    const noise = this.#noise, signal = this.#signal, candidateEnergy = this.#candidateEnergy;
    const relL2 = signal === 0 ? (noise === 0 ? 0 : Infinity) : Math.sqrt(noise / signal);
    const both = Math.sqrt(signal * candidateEnergy);
    return {
      maxAbs: this.#maxAbs,
      relL2,
      sqnrDb: noise === 0 ? Infinity : 10 * Math.log10(signal / noise),
      cosine: both === 0 ? (signal === candidateEnergy ? 1 : 0) : this.#dot / both,
      maxUlp: this.#maxUlp,
    };
  }
}
