/**
 * `deno task bench:report`: runs the benchmarks with `deno bench --json` and writes
 * bench/REPORT.md, a table of layer x format with time per batch, bytes moved, effective GB/s
 * and the ratio to f32.
 *
 * ```sh
 * deno task bench:report [--runs N]
 * ```
 *
 * Each benchmark's time is its fastest iteration in any of `--runs` runs of `deno bench`
 * (default 3): a slow spell of a shared machine can outlast one benchmark, but rarely the same
 * one in every run.
 *
 * @module
 */
import { cpus } from "node:os";
import { fileURLToPath } from "node:url";
import { bytesMoved } from "../mod.ts";
import { parseFlags, positiveInteger } from "../cli/_cli.ts";
import { BASELINE, BATCH, BENCH_FORMATS, loadActivations } from "./_activations.ts";
import { formatBytes } from "./layers_bench.ts";

/** What `deno bench --json` prints, as far as the report reads it. */
interface BenchOutput {
  runtime: string;
  benches: {
    group: string;
    name: string;
    results: { ok?: { min: number; n: number } }[];
  }[];
}

const BENCH = fileURLToPath(new URL("./layers_bench.ts", import.meta.url));
const REPORT = fileURLToPath(new URL("./REPORT.md", import.meta.url));

let runs: number;
try {
  runs = positiveInteger(
    "runs",
    parseFlags(Deno.args, { runs: { type: "string", default: "3" } }).runs,
  );
} catch (error) {
  console.error(`bench:report: ${error instanceof Error ? error.message : error}`);
  Deno.exit(2);
}
const outputs: BenchOutput[] = [];
for (let run = 0; run < runs; run++) {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["bench", "--v8-flags=--no-liftoff", "-P", "--json", BENCH],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (code !== 0) {
    console.error(new TextDecoder().decode(stderr));
    Deno.exit(code);
  }
  outputs.push(JSON.parse(new TextDecoder().decode(stdout)));
}
const benches = outputs.flatMap((output) => output.benches);

/** Bytes moved by each layer (and the whole forward pass) per format, from the shapes. */
const data = await loadActivations();
if (!data) Deno.exit(1);
const bytes = new Map<string, number>();
for (const storage of BENCH_FORMATS) {
  const layers = bytesMoved(data.net.to(storage), data.inputs[0].shape, storage);
  for (const l of layers) bytes.set(`${l.layer} ${storage.name}`, l.read + l.written);
  bytes.set(`forward ${storage.name}`, layers.reduce((sum, l) => sum + l.read + l.written, 0));
}

/** Milliseconds per batch, by "group format". */
const times = new Map<string, number>();
for (const bench of benches) {
  const ok = bench.results[0]?.ok;
  const format = bench.name.slice(bench.group.length + 1).split(" ")[0];
  const key = `${bench.group} ${format}`;
  // The fastest iteration: on a shared machine the mean carries whatever else ran meanwhile.
  if (ok) times.set(key, Math.min(times.get(key) ?? Infinity, ok.min / 1e6));
}

const rows: string[][] = [];
for (const group of new Set(benches.map((b) => b.group))) {
  const base = times.get(`${group} ${BASELINE}`);
  for (const storage of BENCH_FORMATS) {
    const key = `${group} ${storage.name}`;
    const ms = times.get(key);
    if (ms === undefined) continue;
    const moved = bytes.get(key);
    rows.push([
      group,
      storage.name,
      ms.toFixed(2),
      moved === undefined ? "-" : formatBytes(moved),
      moved === undefined ? "-" : (moved / (ms / 1000) / 1e9).toFixed(2),
      base === undefined ? "-" : (ms / base).toFixed(2),
    ]);
  }
}

/**
 * Each layer's share of the sum of the baseline's layer times, largest first: the headline. Not
 * of the forward pass, which runs a convolution with the layers after it in one pass.
 */
const layerTimes = [...times].filter(([key]) =>
  key.endsWith(` ${BASELINE}`) && !/^(forward|train step) /.test(key)
);
const layerSum = layerTimes.reduce((sum, [, ms]) => sum + ms, 0);
const shares = layerTimes.sort((a, b) => b[1] - a[1]).slice(0, 5)
  .map(([key, ms]) => `${key.split(" ")[0]} ${(100 * ms / layerSum).toFixed(0)} %`);

const report = `# Benchmark report

Written by \`deno task bench:report\` (${new Date().toISOString().slice(0, 10)}): ${data.subject},
batch ${BATCH}, on real activations; time per batch, the fastest of \`deno bench\`'s iterations
in ${runs} runs. Bytes moved are counted from the shapes by \`bytesMoved\` (analysis/bytes.ts):
input and parameters read, output written, at each format's element size. GB/s = bytes moved /
time.

- Runtime: ${outputs[0].runtime}
- CPU: ${cpus()[0]?.model ?? "unknown"} (${cpus().length} cores; one used)
- Largest shares of the ${BASELINE} layers' summed time: ${shares.join(", ")}

${markdownTable(["layer", "format", "ms/batch", "bytes moved", "GB/s", `× ${BASELINE}`], rows)}
`;
await Deno.writeTextFile(REPORT, report);
console.log(`Wrote ${REPORT}`);

function markdownTable(header: readonly string[], rows: readonly string[][]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}
