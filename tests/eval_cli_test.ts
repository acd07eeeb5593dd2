/**
 * `deno task eval` end to end, as a subprocess: the table, the JSON contract, and every kind
 * of bad input giving a one-line error and a non-zero exit code.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { f64, serializeSafetensors, Tensor } from "../mod.ts";
import { assertOneLineError, type CommandOutput, runEval } from "./_eval_cli.ts";
import { dataTest, sharedPath } from "./_data.ts";

const MNIST = sharedPath("HALFPREC_MNIST", "../shared/mnist");
const WEIGHTS = sharedPath("HALFPREC_WEIGHTS", "../shared/weights/deepconvnet-book.safetensors");
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
    assertOneLineError(await runEval(args, { HALFPREC_WEIGHTS: "unused" }), 2, pattern);
  }
});

dataTest("eval uses the repository's own weights when none are given", [MNIST], async ([mnist]) => {
  for (const env of [{}, { HALFPREC_WEIGHTS: "" }] as Record<string, string>[]) {
    const out = await runEvalWithout("HALFPREC_WEIGHTS", { HALFPREC_MNIST: mnist, ...env }, [
      "--limit",
      "50",
      "--formats",
      "f16",
      "--mode",
      "store",
    ]);
    assert.equal(out.code, 0, out.stderr);
    assert.match(
      out.stdout,
      /^DeepConvNet on 50 MNIST test images \(.*data\/deepconvnet-halfprec\.safetensors\)/,
    );
  }
  const missing = await runEval(["--weights", "nowhere.safetensors"], { HALFPREC_MNIST: "unused" });
  assertOneLineError(missing, 1, /^eval: .*nowhere\.safetensors/);
});

dataTest(
  "eval without local MNIST files fails offline with how to point at them",
  [WEIGHTS],
  async ([weights]) => {
    const cache = await Deno.makeTempDir();
    try {
      const out = await runEvalWithout("HALFPREC_MNIST", {
        HALFPREC_WEIGHTS: weights,
        HALFPREC_CACHE: cache,
        HALFPREC_MNIST_MIRROR: NO_MIRROR,
      });
      assertOneLineError(
        out,
        2,
        /^eval: Cannot find the MNIST test files .* not in .*mnist and downloading them failed .*--data DIR or HALFPREC_MNIST=DIR$/,
      );
    } finally {
      await Deno.remove(cache, { recursive: true });
    }
  },
);

dataTest("eval reports corrupt MNIST files by name", [WEIGHTS], async ([weights]) => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(join(dir, "t10k-images-idx3-ubyte.gz"), new Uint8Array([1, 2, 3]));
    await Deno.writeFile(join(dir, "t10k-labels-idx1-ubyte.gz"), new Uint8Array([1, 2, 3]));
    const out = await runEval(["--data", dir], { HALFPREC_WEIGHTS: weights });
    assertOneLineError(out, 1, /^eval: Cannot read .*t10k-images-idx3-ubyte\.gz/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

dataTest("eval rejects weights made for another network", [MNIST], async ([mnist]) => {
  const dir = await Deno.makeTempDir();
  try {
    const other = join(dir, "other.safetensors");
    await Deno.writeFile(
      other,
      serializeSafetensors({ W1: new Tensor(f64, [30, 1, 5, 5]), b1: new Tensor(f64, [30]) }),
    );
    const out = await runEval(["--weights", other, "--data", mnist, "--limit", "10"]);
    assertOneLineError(
      out,
      1,
      /^eval: Cannot load parameters from .*other\.safetensors: tensor "W1" field "shape": expected \[16,1,3,3\] \(conv1\), found \[30,1,5,5\]/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

dataTest("eval prints the comparison table", [MNIST, WEIGHTS], async ([mnist, weights]) => {
  const out = await runEval([
    "--data",
    mnist,
    "--weights",
    weights,
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

dataTest(
  "eval --json follows the documented contract",
  [MNIST, WEIGHTS],
  async ([mnist, weights]) => {
    const out = await runEval([
      "--data",
      mnist,
      "--weights",
      weights,
      "--limit",
      "100",
      "--formats",
      "f32,f16",
      "--mode",
      "store",
      "--json",
    ]);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stderr, /^DeepConvNet on 100 MNIST test images/, "the table goes to stderr");
    const report = JSON.parse(out.stdout);
    assert.deepEqual(Object.keys(report), ["weights", "data", "images", "results"]);
    assert.equal(report.weights, weights);
    assert.equal(report.data, mnist);
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
      ]);
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
  },
);

/** Runs eval with the variable `name` removed from the environment the test runs in. */
async function runEvalWithout(
  name: string,
  env: Record<string, string> = {},
  args: string[] = [],
): Promise<CommandOutput> {
  const saved = Deno.env.get(name);
  Deno.env.delete(name);
  try {
    return await runEval(args, env);
  } finally {
    if (saved !== undefined) Deno.env.set(name, saved);
  }
}
