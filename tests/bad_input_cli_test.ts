/**
 * The commands given bad input: each refuses in one line naming what was wrong, before any
 * work, with no stack trace.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { assertOneLineError, runCli } from "./_eval_cli.ts";

const THIS_FILE = fileURLToPath(import.meta.url);
const MAX = 4 * navigator.hardwareConcurrency;

Deno.test("eval and search cap --workers at 4 per core", async () => {
  for (const command of ["eval", "search"]) {
    const out = await runCli(command, ["--workers", String(MAX + 1)]);
    assertOneLineError(
      out,
      2,
      new RegExp(`^${command}: --workers is ${MAX + 1}, expected at most ${MAX} \\(4 per core`),
    );
  }
});

Deno.test("analyze --images past the data is refused, as eval --limit is", async () => {
  const out = await runCli("analyze", ["--images", "20000", "--formats", "f16"]);
  assertOneLineError(out, 2, /^analyze: --images is 20000, but the data has 10000 images$/);
});

Deno.test("--weights naming a device, a folder or nothing says so about that path", async () => {
  const cases: [string, string][] = [
    ["/dev/zero", "not a regular file \\(a device, FIFO or socket\\)"],
    ["/tmp", "a folder"],
    ["/nope/none.safetensors", "no such file"],
  ];
  for (const [path, found] of cases) {
    const out = await runCli("eval", ["--weights", path, "--limit", "5"]);
    assertOneLineError(
      out,
      1,
      new RegExp(`^eval: Cannot read ${path}: file: expected a safetensors file, found ${found}$`),
    );
  }
});

Deno.test("--data naming a file says it expected a folder", async () => {
  const out = await runCli("eval", ["--data", THIS_FILE, "--limit", "5", "--formats", "f16"]);
  assertOneLineError(
    out,
    1,
    new RegExp(`^eval: Cannot read ${THIS_FILE}: path: expected a folder holding the MNIST test`),
  );
});

Deno.test("formats out of range, repeated formats and a list for one format are refused", async () => {
  const cases: [string, string[], RegExp][] = [
    [
      "eval",
      ["--formats", "f16,e4m3-b999"],
      /^eval: --formats: e4m3-b999 has normal numbers from 3\.73e-301 to 1\.07e-296, expected a range holding 1/,
    ],
    ["eval", ["--formats", "e1m1"], /^eval: --formats: e1m1 has no normal numbers/],
    ["search", ["--formats", "f16,bf16,f16"], /^search: --formats: f16 is given twice/],
    [
      "analyze",
      ["--formats", "f16", "--accumulator", "f16,bf16"],
      /^analyze: --accumulator is "f16,bf16", expected one format$/,
    ],
    [
      "analyze",
      ["--formats", "f16", "--accumulator", "int8"],
      /^analyze: --accumulator: int8 is a scaled format, whose scale comes from a block or a tensor, not from one sum; expected f16, bf16, f32, f64 or a minifloat$/,
    ],
  ];
  for (const [command, args, pattern] of cases) {
    assertOneLineError(await runCli(command, args), 2, pattern);
  }
});
