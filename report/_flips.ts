/**
 * The flips section: a thumbnail of every image that changed class, with what each run made of
 * it.
 *
 * @module
 */
import type { FlipImage } from "./report_data.ts";
import { escapeHtml, thumbnail } from "./_html.ts";

/** Thumbnails of `flips`, or a sentence saying that none changed. */
export function flipsSection(flips: readonly FlipImage[]): string {
  if (flips.length === 0) return `<p>No image changed class in any run.</p>`;
  const cards = flips.map((f) =>
    `<figure class="flip">${thumbnail(f.picture, `test image ${f.index}`)}<figcaption>` +
    `#${f.index}, a ${f.label}<br>f64: ${f.reference}<br>${
      f.changes.map((c) => `${escapeHtml(c.run)}: <strong>${c.prediction}</strong>`).join("<br>")
    }</figcaption></figure>`
  );
  return `<div class="flips">${cards.join("")}</div>`;
}
