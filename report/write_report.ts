/**
 * Writing a report file from a command: the page script bundled with the library for the
 * browser (by `deno bundle`), the page rendered, and the file replaced atomically.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import type { ReportData } from "./report_data.ts";
import { writeAtomic } from "../data/_write_atomic.ts";

const ENTRY = new URL("./_page_script.ts", import.meta.url);
const CONFIG = new URL("../deno.json", import.meta.url);

/** The bundle, made once per process: the check before a run and the write after it share it. */
let bundled: Promise<string> | undefined;

/**
 * The report page's script and the library, bundled and minified for the browser (once per
 * process).
 *
 * @throws {Error} When `deno bundle` fails (its last line of output quoted).
 *
 * @example
 * ```ts ignore
 * const script = await bundlePageScript();
 * ```
 */
export function bundlePageScript(): Promise<string> {
  bundled ??= bundle();
  return bundled;
}

async function bundle(): Promise<string> {
  if (ENTRY.protocol !== "file:") {
    throw new Error(`Cannot bundle the report's script: ${ENTRY} is not a local file`);
  }
  // "deno" as found on the PATH, not Deno.execPath(): the tasks grant --allow-run=deno, which
  // Deno resolves on the PATH too, where the real path behind a link (/usr/bin/deno) would not
  // match it.
  const { code, stdout, stderr } = await new Deno.Command("deno", {
    args: [
      "bundle",
      "--quiet",
      "--platform",
      "browser",
      "--minify",
      "--config",
      fileURLToPath(CONFIG),
      fileURLToPath(ENTRY),
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  if (code !== 0) {
    const last = text.decode(stderr).trim().split("\n").at(-1);
    throw new Error(`Cannot bundle the report's script: deno bundle says "${last}"`);
  }
  return text.decode(stdout);
}

/**
 * `renderReport` of render_report.ts, whose signature is repeated here so that this module does
 * not import that one: the renderer and ECharts are loaded only when a report is written.
 */
type RenderReport = (data: ReportData, options: { pageScript?: string }) => string;

/**
 * Renders `data` and writes the page to `path` (a new file or one replaced whole: the page is
 * written to a temporary file next to it and renamed); returns its size in bytes.
 *
 * @example
 * ```ts ignore
 * await writeReport("report.html", { title: "f16", accuracy: [] });
 * ```
 */
export async function writeReport(path: string, data: ReportData): Promise<number> {
  // A computed specifier, so that Deno does not load the renderer with the command.
  const { renderReport }: { renderReport: RenderReport } = await import(
    new URL("./render_report.ts", import.meta.url).href
  );
  const pageScript = data.rerun ? await bundlePageScript() : undefined;
  const bytes = new TextEncoder().encode(renderReport(data, { pageScript }));
  try {
    await writeAtomic(path, bytes);
  } catch (error) {
    throw new Error(
      `Cannot write the report to ${path}: ${error instanceof Error ? error.message : error}`,
    );
  }
  return bytes.length;
}
