/**
 * What a report draws of an input image: 8-bit greyscale or RGB pixels, whatever the data's
 * channels and value type.
 *
 * @module
 */
import { imageCount, type LabeledImages } from "../data/mod.ts";
import type { Picture } from "./report_data.ts";

/**
 * Image `index` of `set` as a picture. Bytes are drawn as they are; floats are stretched from
 * the image's smallest to its largest value (normalised inputs have no fixed range). One
 * channel is grey, three are RGB; of any other number, the first channel is drawn in grey.
 *
 * @throws {RangeError} When `index` is not an image of the set.
 */
export function picture(set: LabeledImages, index: number): Picture {
  if (!(Number.isInteger(index) && index >= 0 && index < imageCount(set))) {
    throw new RangeError(`Cannot draw image ${index}: the set has ${imageCount(set)}`);
  }
  const [, c, height, width] = set.shape;
  const plane = height * width;
  const image = set.images.subarray(index * c * plane, (index + 1) * c * plane);
  const channels = c === 3 ? 3 : 1;
  let low = 0, scale = 1;
  if (!(image instanceof Uint8Array)) {
    let max = -Infinity;
    low = Infinity;
    for (let i = 0; i < channels * plane; i++) {
      if (Number.isFinite(image[i])) low = Math.min(low, image[i]), max = Math.max(max, image[i]);
    }
    scale = max > low ? 255 / (max - low) : 0;
  }
  const pixels = new Uint8Array(channels * plane);
  for (let p = 0; p < plane; p++) {
    for (let k = 0; k < channels; k++) {
      pixels[p * channels + k] = Math.round((image[k * plane + p] - low) * scale);
    }
  }
  return { width, height, channels, pixels };
}
