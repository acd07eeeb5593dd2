/**
 * `deno task train` refuses what would waste or falsify a run, before training: a `--limit`
 * below `--batch`, a single-format flag given twice or as a list, an `--out` that cannot be
 * written, a `--resume` file that is not a checkpoint; a run whose loss becomes NaN exits 1 at
 * that step without saving; SIGINT and SIGTERM save a checkpoint and exit non-zero.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CHECKPOINT_MARKER } from "../training/mod.ts";
import { readSafetensorsFile } from "../data/files.ts";
import { trainingSlice, WEIGHTS } from "./_data.ts";
import { assertOneLineError, runCli } from "./_eval_cli.ts";

/** The flags of a small, fast run on the training slice `data`, writing `out`. */
function small(data: string, out: string): string[] {
  const flags = { data, out, limit: "100", batch: "50", "test-limit": "50", workers: "1" };
  return Object.entries(flags).flatMap(([flag, value]) => [`--${flag}`, value]);
}

/** Whether `path` exists. */
function exists(path: string): Promise<boolean> {
  return Deno.stat(path).then(() => true, () => false);
}

Deno.test("train refuses bad flags before any work, in one line, exit 2", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const cases: [string[], RegExp][] = [
      [["--limit", "50", "--batch", "100"], /^train: --limit is 50, below --batch 100: /],
      [
        ["--format", "f16", "--format", "bf16"],
        /^train: --format is given 2 times \("f16", "bf16"\), expected one format$/,
      ],
      [["--format", "f16,bf16"], /^train: --format is "f16,bf16", expected one format$/],
      [["--master", "f32", "--master", "f16"], /^train: --master is given 2 times/],
      [["--out", dir], /^train: --out .*: is a folder, expected a file name$/],
      [["--out", "/proc/halfprec.safetensors"], /^train: --out \/proc\/halfprec.safetensors: /],
      [["--scaling", "delayed:0"], /^train: --scaling is "delayed:0", expected dynamic or delayed/],
      [["--scaling", "delayed"], /^train: --scaling delayed needs a format .*, not f32$/],
      [["--format", "mxfp4", "--scaling", "delayed:4"], /, not mxfp4$/],
    ];
    for (const [args, pattern] of cases) {
      assertOneLineError(await runCli("train", args), 2, pattern);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("train --resume refuses a weights file named as the checkpoint", async () => {
  const data = await trainingSlice(100);
  try {
    const out = join(data, "run.safetensors");
    await Deno.copyFile(WEIGHTS, `${out}.checkpoint`);
    const result = await runCli("train", [...small(data, out), "--resume"]);
    assertOneLineError(
      result,
      1,
      new RegExp(
        `^train: Cannot read ${out}.checkpoint: metadata "${CHECKPOINT_MARKER}": expected .*` +
          "this file is not one\\), found nothing$",
      ),
    );
    assert.equal(await exists(out), false, "the output was written");
  } finally {
    await Deno.remove(data, { recursive: true });
  }
});

Deno.test("train whose loss becomes NaN exits 1 naming the step, and saves nothing", async () => {
  const data = await trainingSlice(100);
  try {
    const out = join(data, "run.safetensors");
    const result = await runCli("train", [...small(data, out), "--lr", "1e308"]);
    assertOneLineError(
      result,
      1,
      /^train: Training diverged: the loss is NaN at epoch 1, step 2; .*no checkpoint was saved$/,
    );
    assert.equal(await exists(out), false, "the weights were saved");
    assert.equal(await exists(`${out}.checkpoint`), false, "a checkpoint was saved");
  } finally {
    await Deno.remove(data, { recursive: true });
  }
});

for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
  Deno.test(`train on ${signal} saves a checkpoint and exits ${code}`, async () => {
    const data = await trainingSlice(100);
    try {
      const out = join(data, "run.safetensors");
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--quiet",
          "-A",
          fileURLToPath(new URL("../cli/train.ts", import.meta.url)),
          ...small(data, out),
          "--epochs",
          "50",
        ],
        env: { NO_COLOR: "1" },
        stdout: "null",
        stderr: "piped",
      }).spawn();
      // Once the first epoch is logged the run is training the second: interrupt it there.
      let stderr = "";
      const decoder = new TextDecoder();
      let killed = false;
      for await (const chunk of child.stderr) {
        stderr += decoder.decode(chunk);
        if (!killed && /^epoch 1\/50: loss/m.test(stderr)) {
          child.kill(signal);
          killed = true;
        }
      }
      const { code: exit } = await child.status;
      assert.equal(exit, code, stderr);
      assert.match(stderr, new RegExp(`Interrupted by ${signal}: saved ${out}.checkpoint;`));
      const { metadata } = await readSafetensorsFile(`${out}.checkpoint`);
      assert.equal(metadata[CHECKPOINT_MARKER], "1");
      // Interrupted in the second epoch, or at its end when the signal came in late.
      assert.ok(["1", "2"].includes(metadata.nextEpoch), metadata.nextEpoch);
      assert.equal(await exists(out), false, "the weights of an unfinished run were saved");
    } finally {
      await Deno.remove(data, { recursive: true });
    }
  });
}
