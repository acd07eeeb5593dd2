/**
 * Labelled images as JSON that a page can hold: the values' bytes in base64, with their type.
 *
 * @module
 */
import type { LabeledImages } from "../mod.ts";
import { fromBase64, toBase64 } from "./_base64.ts";

/** {@linkcode LabeledImages} as JSON. */
export interface ImagesJson {
  type: "u8" | "f32" | "f64";
  values: string;
  shape: [number, number, number, number];
  labels: number[];
  classes: number;
}

/** `set` as JSON (its values little-endian, as every platform a page runs on stores them). */
export function imagesJson(set: LabeledImages): ImagesJson {
  const { images } = set;
  return {
    type: images instanceof Uint8Array ? "u8" : images instanceof Float32Array ? "f32" : "f64",
    values: toBase64(new Uint8Array(images.buffer, images.byteOffset, images.byteLength)),
    shape: [...set.shape],
    labels: [...set.labels],
    classes: set.classes,
  };
}

/** The images {@linkcode imagesJson} wrote. */
export function imagesFromJson(json: ImagesJson): LabeledImages {
  const bytes = fromBase64(json.values);
  const images = json.type === "u8"
    ? bytes
    : json.type === "f32"
    ? new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4)
    : new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8);
  return {
    images,
    shape: json.shape,
    labels: Int32Array.from(json.labels),
    classes: json.classes,
  };
}
