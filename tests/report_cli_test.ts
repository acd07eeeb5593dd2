import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { dataTest, sharedPath } from "./_data.ts";

const MNIST = sharedPath("HALFPREC_MNIST", "../shared/mnist");
const WEIGHTS = sharedPath("HALFPREC_WEIGHTS", "../shared/weights/deepconvnet-book.safetensors");

/** Runs `deno task <command>` as the task does (same permissions), with `args`. */
async function run(command: "eval" | "analyze", args: string[]) {
  const script = fileURLToPath(new URL(`../cli/${command}.ts`, import.meta.url));
  const permissions = [
    "--allow-read",
    "--allow-write",
    "--allow-env",
    "--allow-net",
    "--allow-run",
  ];
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...permissions, script, ...args],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return { code, stdout: text.decode(stdout), stderr: text.decode(stderr) };
}

/** The `data-chart` names of a page's charts. */
function charts(html: string): string[] {
  return [...html.matchAll(/data-chart="([^"]+)"/g)].map((m) => m[1]);
}

/** Runs `command` with `args` and `--report` into a fresh folder; the output and the page. */
async function report(command: "eval" | "analyze", args: string[]) {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/report.html`;
    const out = await run(command, [...args, "--report", path]);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stderr, new RegExp(`Report written to ${path} \\(\\d+\\.\\d\\d MB\\)`));
    return await Deno.readTextFile(path);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

dataTest("eval --report writes a page with the accuracy chart and the re-run", [
  MNIST,
  WEIGHTS,
], async ([mnist, weights]) => {
  const html = await report("eval", [
    ...["--data", mnist, "--weights", weights],
    ...["--limit", "40", "--formats", "f16", "--mode", "store"],
  ]);
  assert.deepEqual(charts(html), ["accuracy"]);
  const data = JSON.parse(html.match(/id="halfprec-rerun">(.*?)<\/script>/s)![1]);
  assert.deepEqual(data.runs.map((r: { config: { label: string } }) => r.config.label), [
    "f64",
    "f16 store",
  ]);
  assert.equal(data.images.length, 16);
});

dataTest("analyze --report adds the per-layer and range charts", [
  MNIST,
  WEIGHTS,
], async ([mnist, weights]) => {
  const html = await report("analyze", [
    ...["--data", mnist, "--weights", weights],
    ...["--images", "5", "--formats", "f16,e4m3"],
  ]);
  assert.deepEqual(charts(html), ["accuracy", "layer-errors", "range-f16", "range-e4m3"]);
});

Deno.test("--report into a missing folder fails in one line before any work", async () => {
  for (const command of ["eval", "analyze"] as const) {
    const out = await run(command, ["--report", "/no/such/folder/report.html"]);
    assert.equal(out.code, 1);
    assert.equal(
      out.stderr.trim(),
      `${command}: Cannot write the report to /no/such/folder/report.html: folder /no/such/folder does not exist`,
    );
  }
});
