/**
 * The re-run section: the embedded images with Deno's prediction for each configuration, cells
 * the page's script fills with the browser's predictions, and the data that script reads.
 *
 * @module
 */
import type { RerunSection } from "./report_data.ts";
import { toBase64 } from "./_base64.ts";
import { escapeHtml, scriptJson, scriptSource, table, thumbnail } from "./_html.ts";
import { imagesJson } from "./_images_json.ts";
import { picture } from "./_picture.ts";

/** The id of the `<script>` element holding the section's data. */
export const RERUN_DATA_ID = "halfprec-rerun";

/** The section's HTML, `script` (the bundled page script) included. */
export function rerunHtml(section: RerunSection, script: string): string {
  const { runs, images, indices } = section;
  const options = runs.map((r, i) => `<option value="${i}">${escapeHtml(r.config.label)}</option>`);
  const header = ["image", "label", ...runs.map((r) => `${r.config.label}: Deno / browser`)];
  const rows = indices.map((index, j) => [
    thumbnail(picture(images, j), `test image ${index}`, 1) + `#${index}`,
    String(images.labels[j]),
    ...runs.map((r, i) =>
      `${r.predictions[j]} / <span class="browser" data-run="${i}" data-image="${j}">…</span>`
    ),
  ]);
  const data = {
    layers: section.layers,
    weights: section.weights && toBase64(section.weights),
    onnx: section.onnx && toBase64(section.onnx),
    activationAmax: section.activationAmax,
    kernelPath: section.kernelPath,
    indices,
    images: imagesJson(images),
    runs: section.runs,
  };
  const network = section.onnx ? "model" : "weights";
  const size = (section.onnx ?? section.weights)?.length ?? 0;
  return `<p>This page holds the network's ${network} (${
    (size / 1e3).toFixed(0)
  } kB), ${indices.length} test images and the halfprec library. When it opens, it classifies ` +
    `the images in every configuration below in this browser (${section.kernelPath} kernels) and ` +
    `compares each class with the one Deno computed when the report was written.</p>` +
    `<p><select id="rerun-config">${options.join("")}</select> ` +
    `<button id="rerun-button" type="button">Run again in this browser</button> ` +
    `<span id="rerun-status">Running…</span></p>` +
    table(header, rows) +
    `<script type="application/json" id="${RERUN_DATA_ID}">${scriptJson(data)}</script>` +
    `<script type="module">${scriptSource(script)}</script>`;
}
