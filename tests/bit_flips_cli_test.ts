/**
 * `deno task eval --flip-bits`: the flips recorded in the JSON, the same results whatever the
 * batch and the workers, and one-line errors for bad flip flags.
 *
 * @module
 */
import assert from "node:assert/strict";
import { assertOneLineError, runEval } from "./_eval_cli.ts";
import { MNIST, WEIGHTS } from "./_data.ts";

const COMMON = ["--data", MNIST, "--weights", WEIGHTS, "--formats", "f16", "--mode", "store"];

Deno.test("eval --flip-bits: recorded, and independent of batch and workers", async () => {
  const flags = ["--flip-bits", "1e-5", "--flip-seed", "3", "--limit", "30", "--show-flips"];
  const [one, two] = await Promise.all([
    runEval([...COMMON, ...flags, "--json", "--workers", "1"]),
    runEval([...COMMON, ...flags, "--json", "--workers", "2", "--batch", "7"]),
  ]);
  assert.equal(one.code, 0, one.stderr);
  assert.equal(two.code, 0, two.stderr);
  const result = (out: { stdout: string }) => {
    const { seconds: _, bytesPerImage: __, ...r } = JSON.parse(out.stdout).results[1];
    return r;
  };
  const flipped = result(one);
  assert.equal(flipped.format, "f16+flip0.00001-s3");
  assert.deepEqual(flipped.bitFlips, { probability: 1e-5, field: "any", target: "both", seed: 3 });
  assert.ok(flipped.flipsToWrong > 0, "flips this frequent should cost some image its class");
  assert.ok(flipped.correct > 0, "but not every image");
  assert.ok(flipped.layers.every((l: { path: string }) => l.path === "typescript"));
  assert.deepEqual(result(two), flipped);
});

Deno.test("eval --flip-*: bad values are one-line usage errors", async () => {
  const cases: [string[], RegExp][] = [
    [
      ["--flip-bits", "0.1,1.5"],
      /^eval: --flip-bits is "0.1,1.5", expected probabilities from 0 to 1$/,
    ],
    [["--flip-bits", "0.1", "--flip-in", "cache"], /^eval: --flip-in is "cache", expected weights/],
    [["--flip-bits", "0.1", "--flip-field", "sign"], /^eval: --flip-field is "sign", expected/],
    [["--flip-bits", "0.1", "--flip-seed", "1.5"], /^eval: --flip-seed is "1.5", expected a whole/],
    [["--flip-bits", "0.1", "--formats", "mxfp4"], /^eval: --flip-bits: Cannot flip bits of mxfp4/],
  ];
  for (const [args, pattern] of cases) {
    assertOneLineError(await runEval([...COMMON, ...args]), 2, pattern);
  }
});
