/**
 * The pieces of HTML every section uses, and the page around them.
 *
 * @module
 */
import { pngDataUrl } from "./_png.ts";
import type { Picture } from "./report_data.ts";

/** `text` with the characters HTML gives a meaning to escaped. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A table of `rows` (cells already HTML) under `header` (plain text). */
export function table(header: readonly string[], rows: readonly string[][]): string {
  return `<table><thead><tr>${
    header.map((h) => `<th>${escapeHtml(h)}</th>`).join("")
  }</tr></thead>` +
    `<tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join("")}</tr>`).join("")}` +
    `</tbody></table>`;
}

/** An input image as an inline PNG, drawn `scale` times its size. */
export function thumbnail(image: Picture, alt: string, scale = 2): string {
  const { width, height, channels, pixels } = image;
  return `<img class="digit" width="${width * scale}" height="${height * scale}" alt="${
    escapeHtml(alt)
  }" src="${pngDataUrl(pixels, width, height, channels)}">`;
}

/**
 * `value` as JSON that can sit inside a `<script>` element: "<" is escaped so that no
 * `</script>` in a string ends the element.
 */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c");
}

/** JavaScript source that can sit inside a `<script>` element. */
export function scriptSource(source: string): string {
  return source.replace(/<\/(script)/gi, "<\\/$1");
}

/** A whole page: `title`, then `body` (HTML), styled for reading and printing. */
export function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
body { font: 15px/1.5 system-ui, sans-serif; color: #222; max-width: 1000px; margin: 2em auto; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ddd; }
.notes { color: #555; margin: 0; padding-left: 1.2em; overflow-wrap: anywhere; }
figure { margin: 0.5em 0; }
figure.chart svg { max-width: 100%; height: auto; }
.grid { display: flex; flex-wrap: wrap; gap: 0 1em; }
.grid figure.chart { flex: 1 1 440px; }
table { border-collapse: collapse; margin: 0.8em 0; font-variant-numeric: tabular-nums; }
th, td { padding: 0.2em 0.7em; border-bottom: 1px solid #e5e5e5; text-align: left; }
th { background: #f5f5f5; }
.note { color: #666; font-size: 0.9em; }
.flips { display: flex; flex-wrap: wrap; gap: 0.8em; }
.flip { width: 130px; font-size: 0.85em; }
img.digit { image-rendering: pixelated; border: 1px solid #ccc; display: block; }
td img.digit { display: inline-block; vertical-align: middle; margin-right: 0.4em; }
.differs { background: #fdd; font-weight: bold; }
.equal { color: #2a7a2a; }
#rerun-status { font-weight: bold; }
button, select { font: inherit; }
</style>
</head>
<body>
${body}
</body>
</html>
`;
}
