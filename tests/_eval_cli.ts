/**
 * Running `cli/eval.ts` as a subprocess, the way a user runs `deno task eval`.
 *
 * @module
 */
import { fileURLToPath } from "node:url";

const EVAL = fileURLToPath(new URL("../cli/eval.ts", import.meta.url));

/** What a finished command left behind. */
export interface CommandOutput {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the eval command with `args` and extra environment variables `env`. */
export async function runEval(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<CommandOutput> {
  const command = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", "--allow-env", "--allow-net", EVAL, ...args],
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  });
  const { code, stdout, stderr } = await command.output();
  const text = new TextDecoder();
  return { code, stdout: text.decode(stdout), stderr: text.decode(stderr) };
}
