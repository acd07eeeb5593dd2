/**
 * `--report FILE` of eval, analyze and search end to end, as subprocesses with the tasks'
 * permissions: which charts each page holds, and a bad path failing before any work.
 *
 * @module
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import type { SearchResult, Trial } from "../analysis/search.ts";
import { configLabel } from "../report/search_report.ts";
import { MNIST, WEIGHTS } from "./_data.ts";
import { assertOneLineError } from "./_eval_cli.ts";

type Command = "eval" | "analyze" | "search";

/** Runs `deno task <command>` as the task does (same permissions), with `args`. */
async function run(command: Command, args: string[]) {
  const script = fileURLToPath(new URL(`../cli/${command}.ts`, import.meta.url));
  const permissions = [
    "--allow-read",
    "--allow-write",
    "--allow-env",
    "--allow-net",
    "--allow-run",
  ];
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...permissions, script, ...args],
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

/**
 * Runs `command` with `args` (given a fresh folder for the files it writes) and `--report` into
 * that folder; its stdout and the page.
 */
async function report(command: Command, args: (dir: string) => string[]) {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/report.html`;
    const out = await run(command, [...args(dir), "--report", path]);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stderr, new RegExp(`Report written to ${path} \\(\\d+\\.\\d\\d MB\\)`));
    return { stdout: out.stdout, html: await Deno.readTextFile(path) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The HTML of the page's section headed `heading`. */
function section(html: string, heading: string): string {
  const start = html.indexOf(`<h2>${heading}</h2>`);
  assert.ok(start >= 0, `no section "${heading}"`);
  return html.slice(start, html.indexOf("</section>", start));
}

/** The cells of every body row of the first table in `html`, tags stripped. */
function tableRows(html: string): string[][] {
  const body = html.slice(html.indexOf("<tbody>"), html.indexOf("</tbody>"));
  return [...body.matchAll(/<tr>(.*?)<\/tr>/g)].map((row) =>
    [...row[1].matchAll(/<td>(.*?)<\/td>/g)].map((cell) => cell[1].replace(/<[^>]+>/g, ""))
  );
}

/** The data of the page's re-run section. */
function rerunData(html: string) {
  return JSON.parse(html.match(/id="halfprec-rerun">(.*?)<\/script>/s)![1]);
}

Deno.test("eval --report writes a page with the accuracy chart and the re-run", async () => {
  const { html } = await report("eval", () => [
    ...["--data", MNIST, "--weights", WEIGHTS],
    ...["--limit", "40", "--formats", "f16", "--mode", "store"],
  ]);
  assert.deepEqual(charts(html), ["accuracy"]);
  const data = rerunData(html);
  assert.deepEqual(data.runs.map((r: { config: { label: string } }) => r.config.label), [
    "f64",
    "f16 store",
  ]);
  assert.equal(data.indices.length, 16);
});

Deno.test("analyze --report adds the per-layer and range charts", async () => {
  const { html } = await report("analyze", () => [
    ...["--data", MNIST, "--weights", WEIGHTS],
    ...["--images", "5", "--formats", "f16,e4m3"],
  ]);
  assert.deepEqual(charts(html), ["accuracy", "layer-errors", "range-f16", "range-e4m3"]);
});

Deno.test("search --report marks the chosen configuration on the frontier", async () => {
  // e2m1 (one significand bit) fails, so that the search bisects and the frontier has points.
  const { stdout, html } = await report("search", (dir) => [
    ...["--data", MNIST, "--weights", WEIGHTS, "--log", `${dir}/search.jsonl`, "--json"],
    ...["--limit", "200", "--search-images", "100", "--sensitivity-images", "5"],
    ...["--formats", "f32,bf16,e2m1", "--max-evaluations", "5"],
  ]);
  const result: SearchResult = JSON.parse(stdout);
  assert.deepEqual(Object.keys(result), [
    ...["model", "weights", "data", "images", "activationScales", "units", "formats"],
    ...["tolerancePp", "minP"],
    "sensitivity",
    ...["sensitivitySeconds", "references", "trials", "frontier", "chosen", "confirmation"],
    ...["evaluations", "resumed", "seconds"],
  ]);
  const { units, chosen, confirmation } = result;
  assert.ok(chosen && confirmation, "the search chose nothing");
  assert.ok(result.frontier.length >= 2);
  assert.deepEqual(charts(html), ["accuracy", "frontier"]);

  // The table under the chart: the frontier, fewest bytes first, the chosen one marked.
  const frontier = section(html, "Bytes moved against accuracy");
  const mb = (bytes: number) => `${(bytes / 1e6).toFixed(3)} MB`;
  const rows = tableRows(frontier);
  const chosenLabel = configLabel(units, chosen.formats);
  // Parsed from JSON, the chosen trial is a copy: it is known by its formats.
  const isChosen = (t: Trial) => t.formats.join() === chosen.formats.join();
  const expected = [...result.frontier, ...(result.frontier.some(isChosen) ? [] : [chosen])];
  assert.deepEqual(
    rows.map((r) => r.slice(0, 3)),
    expected.map((t) => [
      configLabel(units, t.formats) + (isChosen(t) ? " (chosen)" : ""),
      mb(t.bytesPerImage),
      `${(100 * t.accuracy).toFixed(3)} %`,
    ]),
  );
  // The chart: every trial a point, the chosen one labelled beside its marker.
  const svg = frontier.slice(frontier.indexOf("<svg"), frontier.indexOf("</svg>"));
  const texts = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
  assert.deepEqual(texts.filter((t) => t === chosenLabel), [chosenLabel]);
  for (const legend of ["candidates", "frontier", "chosen"]) assert.ok(texts.includes(legend));

  // The held-out confirmation as an accuracy table, and in the notes.
  const percent = (accuracy: number) => `${(100 * accuracy).toFixed(3)} %`;
  assert.deepEqual(tableRows(section(html, "Accuracy per format and mode")).map((r) => r[2]), [
    percent(result.references[1].accuracy),
    percent(confirmation.accuracy),
  ]);
  assert.match(html, /<li>Full evaluations: \d+ on the search split, 1 held-out/);
  assert.match(html, /<li>Chosen: .* On the held-out split: /);

  // The browser re-runs f64 and the chosen configuration, every layer in its unit's format.
  const data = rerunData(html);
  assert.deepEqual(data.runs.map((r: { config: { label: string } }) => r.config.label), [
    "f64",
    `chosen: ${chosenLabel}`,
  ]);
  assert.deepEqual(
    data.runs[1].config.formats,
    Object.fromEntries(units.flatMap((u, i) => u.layers.map((l) => [l, chosen.formats[i]]))),
  );
  assert.equal(data.indices.length, 16);
});

Deno.test("--report into a missing folder fails in one line before any work", async () => {
  for (const command of ["eval", "analyze", "search"] as const) {
    const out = await run(command, ["--report", "/no/such/folder/report.html"]);
    assertOneLineError(
      out,
      2,
      new RegExp(
        `^${command}: --report /no/such/folder/report\\.html: folder /no/such/folder does not exist$`,
      ),
    );
  }
});
