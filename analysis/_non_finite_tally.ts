/**
 * The running count behind `FirstNonFinite`: a run's layer outputs, a batch at a time, tallied
 * by layer position.
 *
 * @module
 */
import type { FirstNonFinite } from "./first_non_finite.ts";

/** What one layer's outputs showed so far. */
interface LayerTally {
  count: number;
  image: number;
  inputNonFinite: boolean;
}

/**
 * The non-finite values of a run's layer outputs, fed batch by batch in image order: each
 * batch's input with {@linkcode NonFiniteTally.batch}, then every layer's output in network
 * order with {@linkcode NonFiniteTally.layer}.
 */
export class NonFiniteTally {
  readonly #tallies: (LayerTally | undefined)[] = [];
  #images = 0;
  #firstImage = 0;
  #position = 0;
  /** Non-finite values per image of the last output seen (the input at first). */
  #previous: number[] = [];

  /** Starts a batch of `images` images whose input is `input`, the first one image `firstImage`. */
  batch(input: Float64Array, images: number, firstImage: number): void {
    this.#images = images;
    this.#firstImage = firstImage;
    this.#position = 0;
    this.#previous = nonFiniteImages(input, images);
  }

  /** Adds the batch's output of the next layer. */
  layer(output: Float64Array): void {
    const perImage = nonFiniteImages(output, this.#images);
    const count = perImage.reduce((sum, c) => sum + c, 0);
    if (count > 0) {
      const image = perImage.findIndex((c) => c > 0);
      const known = this.#tallies[this.#position];
      if (known) known.count += count;
      else {
        this.#tallies[this.#position] = {
          count,
          image: this.#firstImage + image,
          inputNonFinite: this.#previous[image] > 0,
        };
      }
    }
    this.#previous = perImage;
    this.#position++;
  }

  /** The first layer, named by `names` (by position), whose output held one; `null` if none. */
  first(names: readonly string[]): FirstNonFinite | null {
    const position = this.#tallies.findIndex((t) => t !== undefined);
    if (position < 0) return null;
    return { layer: names[position], ...this.#tallies[position]! };
  }
}

/** For each of the `n` images `values` holds, how many of its values are not finite. */
function nonFiniteImages(values: Float64Array, n: number): number[] {
  const per = n === 0 ? 0 : values.length / n;
  return Array.from({ length: n }, (_, i) => {
    let count = 0;
    for (let p = i * per; p < (i + 1) * per; p++) if (!Number.isFinite(values[p])) count++;
    return count;
  });
}
