/**
 * Data formats in memory, as the `@halfprec/halfprec/data` entry point: labelled images and
 * their batches (`LabeledImages`, `imageBatch`), safetensors (`parseSafetensors`,
 * `serializeSafetensors`), gzipped IDX and MNIST (`parseIdx`, `parseMnist`), images and labels
 * in a safetensors file (`parseImageSafetensors`), and `DataError`, which names the file, the
 * field, what was expected and what was found. No Deno API: it runs in a web page. Reading and
 * writing files on disk is `@halfprec/halfprec/files`.
 *
 * @example Weights to safetensors bytes and back
 * ```ts
 * import { parseSafetensors, serializeSafetensors } from "@halfprec/halfprec/data";
 * import { f32, Tensor } from "@halfprec/halfprec/layers";
 * import assert from "node:assert/strict";
 *
 * const bytes = serializeSafetensors(new Map([["W1", Tensor.from(f32, [2], [0.5, -1])]]));
 * assert.deepEqual(parseSafetensors(bytes, "w.safetensors").tensors.get("W1")?.toFloat64(), new Float64Array([0.5, -1]));
 * ```
 *
 * @module
 */
export * from "./data_error.ts";
export * from "./labeled_images.ts";
export * from "./safetensors.ts";
export * from "./idx.ts";
export * from "./mnist.ts";
export * from "./image_safetensors.ts";
