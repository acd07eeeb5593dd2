/**
 * `deno task perf:memory`: the peak memory (resident set, the kernel's high-water mark) of
 * `deno task analyze` at a few image counts, to check that it is bounded by the batch and not
 * by the images: the peak at each count, the growth per image between the first and the last,
 * and whether every peak is under the bound. Linux only (it reads `/proc/<pid>/status`).
 *
 * Options: `--images LIST` image counts (default 100,1000), `--formats LIST` (default
 * f16,bf16,e4m3), `--bound MB` (default 1000), `--timeout S` stops a run after S seconds and
 * reports the peak it had reached (marked "stopped"): a 10,000-image run takes hours on a
 * small machine, and the peak is reached in its first batches.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { formatTable, parseFlags, positiveInteger, runCommand, UsageError } from "../cli/_cli.ts";

const ANALYZE = fileURLToPath(new URL("../cli/analyze.ts", import.meta.url));

/** The permissions `deno task analyze` grants, read from its task in deno.json. */
async function analyzePermissions(): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
  return (config.tasks.analyze as string).split(/\s+/).filter((w) => w.startsWith("--allow-"));
}

/** One run's peak, in bytes, and whether it was stopped before it finished. */
interface Peak {
  images: number;
  bytes: number;
  seconds: number;
  stopped: boolean;
}

/**
 * Runs analyze on `images` images and polls its high-water mark (VmHWM, which only grows, so
 * the last reading before it exits is its peak up to then) until it ends or `timeout` seconds.
 */
async function peakOf(images: number, formats: string, timeout: number): Promise<Peak> {
  const permissions = await analyzePermissions();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      ...permissions,
      ANALYZE,
      "--images",
      String(images),
      "--formats",
      formats,
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const started = performance.now();
  let bytes = 0;
  let stopped = false;
  let running = true;
  const finished = child.status.finally(() => running = false);
  while (running) {
    // Gone once it has exited; any other failure (Deno grants another process's /proc files
    // only with --allow-all) must not pass as a peak of 0.
    const status = await Deno.readTextFile(`/proc/${child.pid}/status`).catch((error) => {
      if (error instanceof Deno.errors.NotFound) return "";
      child.kill();
      throw error;
    });
    const kb = Number(status.match(/^VmHWM:\s+(\d+) kB/m)?.[1] ?? 0);
    bytes = Math.max(bytes, kb * 1024);
    if ((performance.now() - started) / 1000 > timeout) {
      stopped = true;
      child.kill();
    }
    await Promise.race([finished, new Promise((done) => setTimeout(done, 100))]);
  }
  const { code } = await finished;
  const stderr = new TextDecoder().decode(await new Response(child.stderr).arrayBuffer());
  if (code !== 0 && !stopped) {
    throw new Error(`analyze --images ${images} failed: ${stderr.trim().split("\n").at(-1)}`);
  }
  return { images, bytes, seconds: (performance.now() - started) / 1000, stopped };
}

async function main(): Promise<void> {
  const values = parseFlags(Deno.args, {
    images: { type: "string", default: "100,1000" },
    formats: { type: "string", default: "f16,bf16,e4m3" },
    bound: { type: "string", default: "1000" },
    timeout: { type: "string", default: "86400" },
  });
  if (Deno.build.os !== "linux") throw new UsageError("perf:memory reads /proc: Linux only");
  const counts = values.images.split(",").map((n) => positiveInteger("images", n));
  const bound = positiveInteger("bound", values.bound) * 1e6;
  const timeout = positiveInteger("timeout", values.timeout);
  const peaks: Peak[] = [];
  for (const images of counts) peaks.push(await peakOf(images, values.formats, timeout));
  console.log(`deno task analyze --formats ${values.formats}: peak resident memory`);
  console.log(formatTable(
    ["images", "peak", "time", "run"],
    peaks.map((p) => [
      String(p.images),
      `${(p.bytes / 1e6).toFixed(0)} MB`,
      `${p.seconds.toFixed(0)} s`,
      p.stopped ? "stopped" : "finished",
    ]),
  ));
  const [first, last] = [peaks[0], peaks.at(-1)!];
  if (last.images > first.images) {
    const perImage = (last.bytes - first.bytes) / (last.images - first.images);
    console.log(`growth: ${(perImage / 1e3).toFixed(1)} kB an image`);
  }
  const over = peaks.filter((p) => p.bytes > bound);
  console.log(
    over.length === 0
      ? `every peak under ${bound / 1e6} MB`
      : `OVER ${bound / 1e6} MB at ${over.map((p) => p.images).join(", ")} images`,
  );
  if (over.length > 0) Deno.exitCode = 1;
}

if (import.meta.main) await runCommand("perf:memory", main);
