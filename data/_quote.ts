/**
 * Text from a file, made safe to print: a tensor name, a configuration key or a log line can
 * hold escape sequences that would recolour or retitle the terminal, or be megabytes long.
 *
 * @module
 */

/** Characters shown as escapes: C0 and C1 controls, DEL, and line and paragraph separators. */
// deno-lint-ignore no-control-regex
const UNSAFE = /[\x00-\x1f\x7f-\x9f\u2028\u2029]/g;

/**
 * `text` with every control character shown as an escape (`\x1b`, `\n`, `\u2028`), cut to
 * `max` characters with `...` when longer.
 */
export function escapeText(text: string, max = 80): string {
  const cut = text.length > max ? `${text.slice(0, max)}...` : text;
  return cut.replace(UNSAFE, (c) => {
    const code = c.charCodeAt(0);
    if (c === "\n") return "\\n";
    if (c === "\t") return "\\t";
    if (c === "\r") return "\\r";
    return code <= 0xff
      ? `\\x${code.toString(16).padStart(2, "0")}`
      : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}

/** `text` in double quotes, escaped and bounded as {@linkcode escapeText} does. */
export function quote(text: string, max = 80): string {
  return `"${escapeText(text, max).replaceAll('"', '\\"')}"`;
}
