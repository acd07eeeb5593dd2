/**
 * halfprec: what happens to a neural network when its numbers get narrower.
 *
 * Storage formats, all named in `storageByName`: IEEE `f64`, `f32` and `f16` (with
 * `f16-polyfill`); `bf16`; fp8 `e4m3` and `e5m2`; any minifloat `eXmY` (`e3m2`, `e5m10`…) with
 * a bias (`-b7`) and a rounding mode (`-rz`, `-rna`, `-ru`, `-rd`, `-ro`, stochastic `-sr1`…);
 * OCP MX blocks (`mxfp8-e4m3`, `mxfp8-e5m2`, `mxfp6-e3m2`, `mxfp6-e2m3`, `mxfp4`, `mxint8`, with
 * the scale rules `-ceil`, `-even`, `-rceil`), `nvfp4`, fp8 with a float32 scale per tensor or
 * channel (`e4m3-tensor`, `e4m3-channel`…), and symmetric `int8` and `int4`.
 *
 * Layers generic over them (conv, relu, max and average pooling, batch normalization, dropout,
 * affine, softmax, scale, flatten; forward and backward, on WebAssembly or TypeScript kernels), a
 * sequential container with per-layer formats (in code or as a JSONC configuration), the
 * reference DeepConvNet, ONNX model import (`importOnnx`), safetensors and MNIST, and the
 * analyses: accuracy, flips and McNemar's test per format, bytes moved, per-layer errors and
 * ranges, and a search of per-layer formats for the Pareto frontier of bytes versus accuracy.
 * This entry point uses no Deno API, so it also runs in a web page; file access lives in
 * `@halfprec/halfprec/files`.
 *
 * This entry point re-exports what a typical program uses: the common formats and
 * `storageByName`, `Tensor`, `Sequential`, `deepConvNet` and the optimizers, `withPrecision`,
 * `comparePrecisions`, `classifyImages`, `layerReports` and per-layer configurations,
 * `searchFormats`, the MNIST and safetensors parsers, `importOnnx`, `WorkerPool` and
 * `trainEpochs`. Everything, grouped by what a user does, is in the other entry points:
 * `@halfprec/halfprec/formats` (storage formats), `/layers` (tensors, layers, networks and
 * their formats), `/analysis` (a network in a format, classified and compared with float64),
 * `/search` (per-layer formats), `/data` (labelled images, safetensors, MNIST in memory),
 * `/onnx` (ONNX models as networks), `/training` (epochs, checkpoints, resume), `/workers`
 * (forward passes on every core) and `/files` (reading and writing files, Deno only).
 *
 * @example Store one network in three formats
 * ```ts
 * import { deepConvNet, f16, f32, Tensor } from "@halfprec/halfprec";
 * import assert from "node:assert/strict";
 *
 * const net = deepConvNet({ seed: 1 }); // float64, He-initialised
 * const half = net.to(f16); // every weight and activation stored as float16
 * const mixed = net.to((layer) => layer.kind === "conv" ? f32 : f16);
 * const x = new Tensor(f16, [2, 1, 28, 28]);
 * assert.equal(half.classify(x).length, 2);
 * assert.equal(mixed.forward(x).storage, f16);
 * ```
 *
 * @module
 */
export {
  bf16,
  e4m3,
  e5m2,
  f16,
  f32,
  f64,
  type Storage,
  storageByName,
} from "./layers/storage/mod.ts";
export { Adam, deepConvNet, type Layer, Sequential, Sgd, Tensor, tensor } from "./layers/mod.ts";
export {
  applyLayerConfig,
  bytesMoved,
  classifyImages,
  comparePrecisions,
  type LayerConfig,
  layerReports,
  parseLayerConfig,
  type PrecisionMode,
  type PrecisionResult,
  withPrecision,
} from "./analysis/mod.ts";
export { networkSearchProblem, searchFormats, type SearchResult } from "./analysis/search.ts";
export {
  DataError,
  imageBatch,
  type LabeledImages,
  parseImageSafetensors,
  parseMnist,
  parseSafetensors,
  serializeSafetensors,
} from "./data/mod.ts";
export { importOnnx } from "./onnx/import_onnx.ts";
export { WorkerPool } from "./workers/worker_pool.ts";
export { restoreCheckpoint, trainEpochs, TrainingDivergedError } from "./training/mod.ts";
