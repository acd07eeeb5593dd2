/**
 * The script of a report page, bundled for the browser with the library: it rebuilds the
 * embedded network, classifies the embedded images in every configuration, and shows each
 * class next to the one Deno computed. The outcome is also left in `globalThis.halfprecRerun`
 * for tests.
 *
 * @module
 */
import { type KernelPath, kernelPath } from "../layers/mod.ts";
import { classifyAs, rerunNetwork } from "./rerun.ts";
import type { RerunSection } from "./report_data.ts";
import { fromBase64 } from "./_base64.ts";
import { RERUN_DATA_ID } from "./_rerun_section.ts";
import { imagesFromJson } from "./_images_json.ts";

/** The few DOM features used, typed here because the project type-checks against Deno's lib. */
interface Element {
  textContent: string | null;
  className: string;
  value: string;
  addEventListener(type: string, listener: () => void): void;
}
interface Document {
  getElementById(id: string): Element | null;
  querySelector(selector: string): Element | null;
}
const { document } = globalThis as unknown as { document: Document };

/** What the page found: the browser's classes per configuration, and whether all agree. */
interface Outcome {
  runs: { label: string; predictions: number[]; seconds: number }[];
  differing: number;
  error?: string;
}

const state = globalThis as unknown as { halfprecRerun?: Outcome };
const status = document.getElementById("rerun-status")!;

try {
  const raw = JSON.parse(document.getElementById(RERUN_DATA_ID)!.textContent!);
  const section: RerunSection = {
    ...raw,
    weights: raw.weights && fromBase64(raw.weights),
    onnx: raw.onnx && fromBase64(raw.onnx),
    images: imagesFromJson(raw.images),
  };
  // A browser without WebAssembly SIMD still re-runs, on the TypeScript kernels (their float64
  // sums may, rarely, change a class that the wasm float32 sums gave).
  const path = available(section.kernelPath);
  const kernels = path !== section.kernelPath
    ? " on the TypeScript kernels: no WebAssembly SIMD here"
    : "";
  const net = rerunNetwork(section, path);
  const set = section.images;
  const outcome: Outcome = { runs: [], differing: 0 };
  const run = async (i: number) => {
    const started = performance.now();
    const predictions = [...await classifyAs(net, set, section.runs[i].config)];
    const seconds = (performance.now() - started) / 1000;
    let differing = 0;
    predictions.forEach((p, j) => {
      const cell = document.querySelector(`.browser[data-run="${i}"][data-image="${j}"]`)!;
      cell.textContent = String(p);
      const same = p === section.runs[i].predictions[j];
      cell.className = `browser ${same ? "equal" : "differs"}`;
      if (!same) differing++;
    });
    return { label: section.runs[i].config.label, predictions, seconds, differing };
  };
  for (let i = 0; i < section.runs.length; i++) {
    const { differing, ...r } = await run(i);
    outcome.runs.push(r);
    outcome.differing += differing;
  }
  const seconds = outcome.runs.reduce((sum, r) => sum + r.seconds, 0);
  const total = section.runs.length * section.indices.length;
  status.textContent = outcome.differing === 0
    ? `All ${total} classes equal Deno's (${seconds.toFixed(2)} s in this browser${kernels}).`
    : `${outcome.differing} of ${total} classes differ from Deno's${kernels}.`;
  state.halfprecRerun = outcome;
  const select = document.getElementById("rerun-config")!;
  document.getElementById("rerun-button")!.addEventListener("click", async () => {
    status.textContent = "Running…";
    const r = await run(Number(select.value));
    status.textContent = `${r.label}: ${
      r.differing === 0 ? "every class equals Deno's" : `${r.differing} classes differ`
    } (${r.seconds.toFixed(2)} s in this browser).`;
  });
} catch (error) {
  status.textContent = `The re-run failed: ${error instanceof Error ? error.message : error}`;
  state.halfprecRerun = { runs: [], differing: 0, error: String(error) };
  console.error(error);
}

/** `path`, or the TypeScript path when the runtime lacks what `path` needs. */
function available(path: KernelPath): KernelPath {
  try {
    return kernelPath(path);
  } catch {
    return "typescript";
  }
}
