/**
 * Running `cli/eval.ts` (and the other commands) as a subprocess, the way a user runs
 * `deno task eval`, and checking how a failed run reports its error.
 *
 * @module
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

/** What a finished command left behind. */
export interface CommandOutput {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the eval command with `args` and extra environment variables `env`. */
export function runEval(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<CommandOutput> {
  return runCli("eval", args, env);
}

/** Runs `cli/{name}.ts` with `args` and extra environment variables `env`. */
export async function runCli(
  name: string,
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<CommandOutput> {
  const script = fileURLToPath(new URL(`../cli/${name}.ts`, import.meta.url));
  const command = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-net",
      script,
      ...args,
    ],
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  });
  const { code, stdout, stderr } = await command.output();
  const text = new TextDecoder();
  return { code, stdout: text.decode(stdout), stderr: text.decode(stderr) };
}

/** Asserts a failed run printed its problem on one line (plus the --help hint), no stack. */
export function assertOneLineError(out: CommandOutput, code: number, pattern: RegExp): void {
  assert.equal(out.code, code, `exit code; stderr: ${out.stderr}`);
  const lines = out.stderr.trim().split("\n");
  assert.match(lines[0], pattern);
  assert.ok(lines.length <= 2, `more than the error and the hint:\n${out.stderr}`);
  assert.doesNotMatch(out.stderr, /^\s+at /m, "a stack trace was printed");
}
