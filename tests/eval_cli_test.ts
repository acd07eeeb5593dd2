/**
 * `deno task eval` end to end, as a subprocess: the table, the JSON contract, and every kind
 * of bad input giving a one-line error and a non-zero exit code.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { f64, serializeSafetensors, Tensor } from "../mod.ts";
import { assertOneLineError, type CommandOutput, runCli, runEval } from "./_eval_cli.ts";
import { DATA_DIR } from "../cli/_locate.ts";
import { MNIST_FILES } from "../data/mnist.ts";
import { MNIST, WEIGHTS } from "./_data.ts";

/** An address nothing listens on, so that a download attempt fails fast and offline. */
const NO_MIRROR = "http://127.0.0.1:9/";

Deno.test("eval --help prints the usage and exits 0", async () => {
  const out = await runEval(["--help"]);
  assert.equal(out.code, 0);
  assert.match(out.stdout, /^Usage: deno task eval/);
  assert.match(out.stdout, /--show-flips/);
});

Deno.test("eval rejects bad flags with a one-line usage error", async () => {
  const cases: [string[], RegExp][] = [
    [
      ["--formats", "f16,f8"],
      /^eval: --formats: Unknown storage format "f8": expected one of f64, f32/,
    ],
    [["--mode", "half"], /^eval: --mode is "half", expected seed, store or both$/],
    [["--limit", "ten"], /^eval: --limit is "ten", expected a positive whole number$/],
    [["--limit", "0"], /^eval: --limit is "0", expected a positive whole number$/],
    [["--batch=-5"], /^eval: --batch is "-5", expected a positive whole number$/],
    [["--batch", "-5"], /^eval: Option '--batch' argument is ambiguous\. Did you forget/],
    [["--frobnicate"], /^eval: Unknown option '--frobnicate'/],
  ];
  for (const [args, pattern] of cases) {
    assertOneLineError(await runEval(args), 2, pattern);
  }
});

Deno.test("eval reports a usage error in one line under a fresh, empty Deno cache", async () => {
  // Deno downloads the npm packages into the new cache first: its messages must not matter.
  const denoDir = await Deno.makeTempDir();
  try {
    const out = await runEval(["--mode", "half"], { DENO_DIR: denoDir });
    assertOneLineError(out, 2, /^eval: --mode is "half", expected seed, store or both$/);
  } finally {
    await Deno.remove(denoDir, { recursive: true });
  }
});

Deno.test("eval uses the book's weights and the embedded test set when none are given", async () => {
  const args = ["--limit", "50", "--formats", "f16", "--mode", "store"];
  const out = await runEvalWithout("HALFPREC_MNIST", args);
  assert.equal(out.code, 0, out.stderr);
  assert.match(
    out.stdout,
    /^DeepConvNet on 50 MNIST test images \(.*data\/deepconvnet-book\.safetensors\)/,
  );
  const own = await runEvalWithout("HALFPREC_MNIST", [...args, "--weights", "halfprec", "--json"]);
  assert.equal(own.code, 0, own.stderr);
  const report = JSON.parse(own.stdout);
  assert.match(report.weights, /data\/deepconvnet-halfprec\.safetensors$/);
  assert.equal(report.data, DATA_DIR);
  const missing = await runEval(["--weights", "nowhere.safetensors"]);
  assertOneLineError(missing, 1, /^eval: .*nowhere\.safetensors/);
});

Deno.test("train without a local training set fails offline with how to point at it", async () => {
  const cache = await Deno.makeTempDir();
  try {
    const out = await runCliWithout("HALFPREC_MNIST", "train", [
      "--out",
      join(cache, "x.safetensors"),
    ], {
      HALFPREC_CACHE: cache,
      HALFPREC_MNIST_MIRROR: NO_MIRROR,
    });
    assertOneLineError(
      out,
      2,
      /^train: Cannot find the MNIST train files .* not in .*mnist and downloading them failed .*--data DIR or HALFPREC_MNIST=DIR$/,
    );
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
});

Deno.test("a downloaded training set whose content has the wrong md5 is refused", async () => {
  const cache = await Deno.makeTempDir();
  // A mirror serving the test files under the training set's names: valid gzip, wrong content.
  const names: Record<string, string> = {
    [MNIST_FILES.train.images.name]: MNIST_FILES.test.images.name,
    [MNIST_FILES.train.labels.name]: MNIST_FILES.test.labels.name,
  };
  await using server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (r) => {
    const name = names[new URL(r.url).pathname.slice(1)];
    return name
      ? new Response(await Deno.readFile(join(MNIST, name)))
      : new Response(null, { status: 404 });
  });
  try {
    const out = await runCliWithout("HALFPREC_MNIST", "train", [
      "--out",
      join(cache, "x.safetensors"),
    ], {
      HALFPREC_CACHE: cache,
      HALFPREC_MNIST_MIRROR: `http://127.0.0.1:${server.addr.port}/`,
    });
    assertOneLineError(
      out,
      2,
      new RegExp(
        `^train: .*train-images-idx3-ubyte\\.gz has content md5 ${MNIST_FILES.test.images.md5}, expected ${MNIST_FILES.train.images.md5}`,
      ),
    );
    assert.deepEqual([...Deno.readDirSync(join(cache, "mnist"))], [], "nothing kept in the cache");
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
});

Deno.test("eval reports corrupt MNIST files by name", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(join(dir, "t10k-images-idx3-ubyte.gz"), new Uint8Array([1, 2, 3]));
    await Deno.writeFile(join(dir, "t10k-labels-idx1-ubyte.gz"), new Uint8Array([1, 2, 3]));
    const out = await runEval(["--data", dir]);
    assertOneLineError(out, 1, /^eval: Cannot read .*t10k-images-idx3-ubyte\.gz/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("eval rejects weights made for another network", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const other = join(dir, "other.safetensors");
    await Deno.writeFile(
      other,
      serializeSafetensors({ W1: new Tensor(f64, [30, 1, 5, 5]), b1: new Tensor(f64, [30]) }),
    );
    const out = await runEval(["--weights", other, "--data", MNIST, "--limit", "10"]);
    assertOneLineError(
      out,
      1,
      /^eval: Cannot load parameters from .*other\.safetensors: tensor "W1" field "shape": expected \[16,1,3,3\] \(conv1\), found \[30,1,5,5\]/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("eval prints the comparison table", async () => {
  const out = await runEval([
    "--data",
    MNIST,
    "--weights",
    WEIGHTS,
    "--limit",
    "200",
    "--formats",
    "f16,bf16",
    "--show-flips",
  ]);
  assert.equal(out.code, 0, out.stderr);
  const lines = out.stdout.trim().split("\n");
  assert.match(lines[0], /^DeepConvNet on 200 MNIST test images/);
  assert.match(
    lines[1],
    /^format\s+mode\s+accuracy\s+Δ vs f64\s+flips →right\/→wrong\s+McNemar p\s+time\s+bytes\/image$/,
  );
  assert.match(lines[2], /^f64\s+-\s+\d+\.\d{3} %\s+-/);
  assert.deepEqual(lines.slice(3, 7).map((l) => l.split(/\s+/).slice(0, 2).join(" ")), [
    "f16 seed",
    "f16 store",
    "bf16 seed",
    "bf16 store",
  ]);
  assert.match(lines[7], /^f16 seed: →right \[[\d, ]*\], →wrong \[[\d, ]*\]$/);
});

Deno.test("eval --json follows the documented contract", async () => {
  const out = await runEval([
    "--data",
    MNIST,
    "--weights",
    WEIGHTS,
    "--limit",
    "100",
    "--formats",
    "f32,f16",
    "--mode",
    "store",
    "--json",
  ]);
  assert.equal(out.code, 0, out.stderr);
  assert.match(out.stderr, /^DeepConvNet on 100 MNIST test images/m, "the table goes to stderr");
  const report = JSON.parse(out.stdout);
  assert.deepEqual(Object.keys(report), [
    "model",
    "weights",
    "data",
    "images",
    "activationScales",
    "results",
  ]);
  assert.deepEqual(report.activationScales, { mode: "dynamic" });
  assert.equal(report.model, "DeepConvNet");
  assert.equal(report.weights, WEIGHTS);
  assert.equal(report.data, MNIST);
  assert.equal(report.images, 100);
  assert.deepEqual(
    report.results.map((r: { format: string; mode: string }) => `${r.format} ${r.mode}`),
    [
      "f64 reference",
      "f32 store",
      "f16 store",
    ],
  );
  for (const r of report.results) {
    assert.deepEqual(Object.keys(r), [
      "format",
      "mode",
      "accuracy",
      "correct",
      "total",
      "unclassified",
      "flipsToRight",
      "flipsToWrong",
      "mcnemarP",
      "seconds",
      "bytesPerImage",
      "layers",
    ]);
    assert.equal(r.layers.length, 21);
    const sums = r.format === "f64" ? "float64" : "float32";
    assert.deepEqual(r.layers[0], { layer: "conv1", path: "wasm", accumulation: sums });
    assert.equal(r.total, 100);
    assert.equal(r.accuracy, r.correct / 100);
    assert.ok(r.mcnemarP > 0 && r.mcnemarP <= 1);
    assert.ok(r.seconds > 0);
  }
  // f16 stores every array in 2 bytes, f32 in 4, f64 in 8: bytes per image scale with them.
  const [wide, single, half] = report.results.map((r: { bytesPerImage: number }) =>
    r.bytesPerImage
  );
  assert.equal(wide / single, 2);
  assert.equal(single / half, 2);
});

/** Runs eval with the variable `name` removed from the environment the test runs in. */
function runEvalWithout(name: string, args: string[]): Promise<CommandOutput> {
  return runCliWithout(name, "eval", args);
}

/** Runs `command` with the variable `name` removed from the environment the test runs in. */
async function runCliWithout(
  name: string,
  command: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<CommandOutput> {
  const saved = Deno.env.get(name);
  Deno.env.delete(name);
  try {
    return await runCli(command, args, env);
  } finally {
    if (saved !== undefined) Deno.env.set(name, saved);
  }
}
