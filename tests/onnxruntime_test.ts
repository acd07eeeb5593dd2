/**
 * onnxruntime as an independent cross-check of the importer: on the first test images, the
 * imported DeepConvNet (float32 export) and the PyTorch-trained small CNN (float32 and float16)
 * give onnxruntime's logits (onnxruntime's CPU provider has no float64 Conv). onnxruntime runs in a subprocess with its own
 * configuration (`tools/peer/`), so that only this test fetches it.
 *
 * @module
 */
import assert from "node:assert/strict";
import { f16, f32, imageBatch, type Storage } from "../mod.ts";
import { readMnistDir, readOnnxFile } from "../data/files.ts";
import { MNIST } from "./_data.ts";
import { argmax, worstError } from "./_logits.ts";

const PEER = new URL("../tools/peer/", import.meta.url).pathname;
const FIXTURES = new URL("./fixtures/", import.meta.url).pathname;
const IMAGES = 100;

/** onnxruntime's first output for `x` (N, 1, 28, 28), run on `model`. */
async function onnxruntime(model: string, x: Float32Array): Promise<Float64Array> {
  const input = await Deno.makeTempFile({ suffix: ".bin" });
  try {
    await Deno.writeFile(input, new Uint8Array(x.buffer, x.byteOffset, x.byteLength));
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--quiet",
        "--config",
        `${PEER}deno.json`,
        "--allow-read",
        "--allow-env",
        "--allow-ffi",
        "--allow-sys",
        `${PEER}ort_logits.ts`,
        model,
        input,
        "float32",
        `${x.length / 784}`,
        "1",
        "28",
        "28",
      ],
      // The package's install script fetches GPU libraries; its CPU library is in the package.
      env: { ONNXRUNTIME_NODE_INSTALL: "skip" },
    }).output();
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    return Float64Array.from(JSON.parse(new TextDecoder().decode(stdout)).data);
  } finally {
    await Deno.remove(input);
  }
}

/** Models (float32 input), the format of their layers and the error allowed relative to each largest logit. */
const CASES: [string, Storage, number][] = [
  ["deepconvnet-book-f32.onnx", f32, 1e-5],
  ["small-cnn.onnx", f32, 1e-5],
  // onnxruntime computes in float16 where halfprec sums in float64 and rounds once.
  ["small-cnn-f16.onnx", f16, 1e-2],
];

Deno.test("onnxruntime gives the imported networks' logits and classes", async () => {
  const set = await readMnistDir(MNIST, "test");
  for (const [file, format, tolerance] of CASES) {
    const net = await readOnnxFile(FIXTURES + file);
    assert.ok(net.layers.some((l) => l.storage === format), file);
    const x = imageBatch(set, 0, IMAGES, f32);
    const ours = net.logits(x).toFloat64();
    const theirs = await onnxruntime(FIXTURES + file, Float32Array.from(x.toFloat64()));
    const worst = worstError(ours, theirs, 10);
    assert.ok(worst <= tolerance, `${file}: ${worst}`);
    assert.deepEqual(argmax(ours, 10), argmax(theirs, 10), file);
  }
});
