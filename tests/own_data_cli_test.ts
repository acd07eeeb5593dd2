/**
 * The commands on your own images: `--data FILE.safetensors` end to end, as subprocesses.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { f64, imageBatch, Tensor } from "../mod.ts";
import { firstImages } from "../data/mod.ts";
import { readMnistDir } from "../data/files.ts";
import { MNIST } from "./_data.ts";
import { assertOneLineError, runCli, runEval } from "./_eval_cli.ts";

/** The bytes of a safetensors file with F64 `images` and U8 `labels`. */
function file(images: Tensor, labels: Uint8Array): Uint8Array {
  const { buffer, byteOffset, byteLength } = images.data;
  const imageBytes = new Uint8Array(buffer, byteOffset, byteLength);
  const header = new TextEncoder().encode(JSON.stringify({
    images: { dtype: "F64", shape: images.shape, data_offsets: [0, imageBytes.length] },
    labels: {
      dtype: "U8",
      shape: [labels.length],
      data_offsets: [imageBytes.length, imageBytes.length + labels.length],
    },
  }));
  const out = new Uint8Array(8 + header.length + imageBytes.length + labels.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(header.length), true);
  out.set(header, 8);
  out.set(imageBytes, 8 + header.length);
  out.set(labels, 8 + header.length + imageBytes.length);
  return out;
}

Deno.test(
  "eval on MNIST images saved as float64 pixels / 255 gives exactly what eval on MNIST gives",
  async () => {
    const set = firstImages(await readMnistDir(MNIST, "test"), 40);
    const dir = await Deno.makeTempDir();
    try {
      const path = join(dir, "mine.safetensors");
      await Deno.writeFile(path, file(imageBatch(set, 0, 40, f64), Uint8Array.from(set.labels)));
      const common = ["--formats", "f16,e4m3", "--mode", "store", "--workers", "1", "--json"];
      const [own, reference] = await Promise.all([
        runEval(["--data", path, ...common]),
        runEval(["--data", MNIST, "--limit", "40", ...common]),
      ]);
      assert.equal(own.code, 0, own.stderr);
      assert.equal(reference.code, 0, reference.stderr);
      assert.match(own.stderr, /^DeepConvNet on 40 images of mine\.safetensors/m);
      const strip = (out: string) =>
        JSON.parse(out).results.map(({ seconds: _, ...r }: { seconds: number }) => r);
      assert.deepEqual(strip(own.stdout), strip(reference.stdout));
      assert.equal(JSON.parse(own.stdout).data, path);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test("commands refuse images that are not the network's input, in one line", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "rgb.safetensors");
    const images = new Tensor(f64, [2, 3, 8, 8]);
    await Deno.writeFile(path, file(images, new Uint8Array([0, 1])));
    for (const command of ["eval", "analyze", "search"]) {
      assertOneLineError(
        await runCli(command, ["--data", path]),
        2,
        new RegExp(
          `^${command}: --data ${path}: images are \\[3, 8, 8\\] \\(C, H, W\\), but DeepConvNet ` +
            "takes \\[1, 28, 28\\]$",
        ),
      );
    }
    const digits = join(dir, "digits.safetensors");
    await Deno.writeFile(digits, file(new Tensor(f64, [2, 1, 28, 28]), new Uint8Array([3, 12])));
    assertOneLineError(
      await runEval(["--data", digits]),
      2,
      /^eval: --data .*digits\.safetensors: label 1 is 12, but DeepConvNet has 10 classes \(0 to 9\)$/,
    );
    assertOneLineError(
      await runEval(["--model", "m.onnx", "--weights", "w.safetensors"]),
      2,
      /^eval: --model and --weights both given: a model file holds its weights$/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
