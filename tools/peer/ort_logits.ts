/**
 * onnxruntime as a peer: runs an ONNX model on an input tensor and prints the first output as
 * JSON (`{"dims": [...], "data": [...]}`) on stdout. It has its own `deno.json` and lockfile so
 * that the package (and its native library) is fetched only by what runs it, never by the
 * commands of halfprec.
 *
 * Usage: `deno run --quiet --config tools/peer/deno.json --allow-read --allow-env --allow-ffi
 * --allow-sys tools/peer/ort_logits.ts MODEL.onnx INPUT.bin float32|float64 N C H W`, where
 * INPUT.bin holds the input's values, little-endian, in that type.
 *
 * @module
 */
import * as ort from "onnxruntime-node";

const [model, input, type, ...dims] = Deno.args;
const { buffer } = await Deno.readFile(input);
const shape = dims.map(Number);
const x = type === "float64"
  ? new ort.Tensor("float64", new Float64Array(buffer), shape)
  : new ort.Tensor("float32", new Float32Array(buffer), shape);
const session = await ort.InferenceSession.create(model);
const output =
  (await session.run({ [session.inputNames[0]]: x }))[session.outputNames[0]];
console.log(
  JSON.stringify({
    dims: output.dims,
    data: Array.from(output.data as Float32Array),
  }),
);
