/**
 * Per-layer formats: which storage format (and accumulator) each layer of a network runs in,
 * written as a small JSON or JSONC object such as `{ "default": "f16", "conv1": "f32" }`.
 *
 * Rounding is part of a format's name (`e4m3-sat`, `e5m2-rz`, `e4m3-sr7`), so a layer's
 * entry is a format name, or `{ "storage": NAME, "accumulator": NAME }` for a conv or affine
 * layer that also rounds its partial sums; such an object may also choose the layer's kernel
 * path (`"kernels": "ts"` or `"wasm"`). Layers without an entry take `default`, and keep their
 * current format and path when there is none.
 *
 * @module
 */
import {
  createScanner,
  getNodeValue,
  type ParseError,
  parseTree,
  printParseErrorCode,
} from "jsonc-parser";
import { escapeText, quote } from "../data/_quote.ts";
import type { Layer } from "../layers/layer.ts";
import { Sequential } from "../layers/sequential.ts";
import { type KernelPath, kernelPath } from "../layers/kernel_path.ts";
import { storageByName } from "../layers/storage/formats.ts";
import { accumulatorProblem } from "../layers/_accumulator.ts";
import { usableFormat } from "./usable_format.ts";
import type { Storage } from "../layers/storage/storage.ts";
import { PARAMETERS_KEY } from "../layers/rounding_streams.ts";

/**
 * The format of one layer: a storage format name, or a storage format and the format its
 * partial sums are rounded to (conv and affine layers only), and optionally its kernel path.
 *
 * @example
 * ```ts
 * import type { FormatSpec } from "@halfprec/halfprec/analysis";
 * const narrow: FormatSpec = "e4m3-sat";
 * const halfSums: FormatSpec = { storage: "f16", accumulator: "f16", kernels: "ts" };
 * ```
 */
export type FormatSpec = string | { storage: string; accumulator?: string; kernels?: string };

/**
 * A format per layer name, and `default` for the layers not named.
 *
 * @example
 * ```ts
 * import type { LayerConfig } from "@halfprec/halfprec";
 * const config: LayerConfig = { default: "f16", conv1: "f32", affine2: { storage: "f32" } };
 * ```
 */
export interface LayerConfig {
  /** The format of every layer without its own entry. */
  default?: FormatSpec;
  /** A layer's format, by the layer's name in its network (`conv1`, `relu1`, ...). */
  [layer: string]: FormatSpec | undefined;
}

/** The formats one layer runs in once a configuration is applied. */
export interface LayerFormat {
  /** Format of the layer's parameters and output. */
  storage: Storage;
  /** Format of its partial sums; undefined keeps the layer's own. */
  accumulator?: Storage;
  /** Its kernel path; undefined keeps the layer's own. */
  kernels?: KernelPath;
}

/**
 * Parses a configuration from JSON or JSONC text (comments and trailing commas allowed) and
 * checks its shape and every format name; layer names are checked when it is applied.
 *
 * @param source Where the text comes from (a file name), to begin every error message with.
 * @throws {SyntaxError} When the text is not JSON(C); the message gives line and column.
 * @throws {TypeError} When it is not an object of format names and `{ storage, accumulator }`
 * objects, naming the field.
 * @throws {RangeError} When a format name is unknown, listing the known ones, or names a format
 * a network cannot run in (`usableFormat`).
 *
 * @example
 * ```ts
 * import { parseLayerConfig } from "@halfprec/halfprec";
 * import assert from "node:assert/strict";
 * const config = parseLayerConfig('{ "default": "f16", // the rest\n "conv1": "f32", }', "mixed.jsonc");
 * assert.deepEqual(config, { default: "f16", conv1: "f32" });
 * assert.throws(() => parseLayerConfig('{ "conv1": "f8" }', "bad.json"), /^RangeError: bad.json: field "conv1": Unknown storage format "f8"/);
 * ```
 */
export function parseLayerConfig(text: string, source = "configuration"): LayerConfig {
  // A byte order mark is not JSON, but editors on Windows write one: it means nothing here.
  if (text.startsWith("\uFEFF")) text = text.slice(1);
  checkDepth(text, source);
  const errors: ParseError[] = [];
  const root = parseTree(text, errors, { allowTrailingComma: true });
  if (errors.length > 0) {
    const { error, offset } = errors[0];
    const before = text.slice(0, offset).split("\n");
    const what = printParseErrorCode(error).replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();
    throw new SyntaxError(
      `${source}: line ${before.length}, column ${before.at(-1)!.length + 1}: ${what}`,
    );
  }
  if (root?.type !== "object") {
    throw new TypeError(
      `${source}: expected an object of layer formats, found ${root?.type ?? "nothing"}`,
    );
  }
  const config: LayerConfig = {};
  for (const property of root.children ?? []) {
    const [key, value] = property.children!;
    const field = key.value as string;
    if (Object.hasOwn(config, field)) {
      throw new TypeError(`${source}: field ${quote(field)}: given twice`);
    }
    // Defined, not assigned: a field "__proto__" must stay a field (and be reported unknown).
    Object.defineProperty(config, field, {
      value: formatSpec(getNodeValue(value), { source, field }),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return config;
}

/**
 * The format every layer of `net` gets from `config`, in layer order.
 *
 * @param source Where the configuration comes from, to begin every error message with.
 * @throws {RangeError} When a field names no layer of `net` (the message lists the layers) or a
 * format is unknown.
 * @throws {TypeError} When an entry has the wrong shape, or gives an accumulator to a layer
 * that sums no products.
 *
 * @example
 * ```ts
 * import { deepConvNet, f32 } from "@halfprec/halfprec";
 * import { layerFormats } from "@halfprec/halfprec/analysis";
 * import assert from "node:assert/strict";
 * const formats = layerFormats(deepConvNet(), { default: "f16", conv1: "f32" });
 * assert.equal(formats[0].storage, f32);
 * assert.equal(formats[1].storage.name, "f16");
 * ```
 */
export function layerFormats(
  net: Sequential,
  config: LayerConfig,
  source = "configuration",
): LayerFormat[] {
  const names = net.layers.map((l) => l.name);
  const resolved = new Map<string, LayerFormat>();
  for (const [field, spec] of Object.entries(config)) {
    if (spec === undefined) continue;
    if (field !== "default" && !names.includes(field)) {
      throw new RangeError(
        `${source}: field ${quote(field)}: unknown layer; expected one of default, ${
          names.join(", ")
        }`,
      );
    }
    resolved.set(field, resolve(formatSpec(spec, { source, field })));
  }
  return net.layers.map((layer) => {
    const format = resolved.get(layer.name) ?? resolved.get("default") ??
      { storage: layer.storage };
    if (format.accumulator && !sumsProducts(layer)) {
      const field = resolved.has(layer.name) ? layer.name : "default";
      throw new TypeError(
        `${source}: field "${field}": ${layer.name} sums no products, so it takes no ` +
          `accumulator; give it a format name${field === "default" ? " of its own" : ""}`,
      );
    }
    return format;
  });
}

/**
 * A copy of `net` with every layer in the format `config` gives it, parameters rounded to it;
 * the input should be stored in the first layer's format. Layers change format at their
 * boundaries, where `bytesMoved` counts the conversions.
 *
 * @param source Where the configuration comes from, to begin every error message with.
 * @throws {RangeError} {TypeError} As {@linkcode layerFormats}.
 *
 * @example Keep the first convolution in f32, the rest in fp8
 * ```ts
 * import { applyLayerConfig, deepConvNet, e4m3, f32 } from "@halfprec/halfprec";
 * import assert from "node:assert/strict";
 * const net = applyLayerConfig(deepConvNet(), { default: "e4m3", conv1: "f32", relu1: "f32" });
 * assert.equal(net.layer("relu1").storage, f32);
 * assert.equal(net.layer("conv2").storage, e4m3);
 * assert.throws(() => applyLayerConfig(deepConvNet(), { conv9: "f16" }, "my.json"), /^RangeError: my.json: field "conv9": unknown layer; expected one of default, conv1, relu1/);
 * ```
 */
export function applyLayerConfig(
  net: Sequential,
  config: LayerConfig,
  source = "configuration",
): Sequential {
  const formats = layerFormats(net, config, source);
  // Paths first, then formats: a layer copied after its format is set would store its
  // parameters twice, and a format with bit flips would flip them twice.
  const onPaths = new Sequential(
    net.layers.map((layer, i) => {
      const { kernels } = formats[i];
      return kernels ? layer.withKernels?.(kernels) ?? layer : layer;
    }),
    { names: net.layers.map((l) => l.name), inputShape: net.inputShape },
  );
  // Parameters drawn from their own key, as `withPrecision` does: the same in every run.
  for (const { storage, accumulator } of formats) {
    for (const stream of new Set([storage.stream, accumulator?.stream])) {
      stream?.restart(PARAMETERS_KEY);
    }
  }
  return onPaths.to(
    (layer) => formats[onPaths.layers.indexOf(layer)].storage,
    (layer) => formats[onPaths.layers.indexOf(layer)].accumulator,
  );
}

/**
 * The shortest configuration giving each layer of `layers` its format in `formats`: the most
 * common format becomes `default` (the first of equally common ones), the others are listed
 * by layer.
 *
 * @example
 * ```ts
 * import { compactLayerConfig } from "@halfprec/halfprec/analysis";
 * import assert from "node:assert/strict";
 * assert.deepEqual(
 *   compactLayerConfig(["conv1", "relu1", "conv2"], ["f32", "e4m3", "e4m3"]),
 *   { default: "e4m3", conv1: "f32" },
 * );
 * ```
 */
export function compactLayerConfig(
  layers: readonly string[],
  formats: readonly string[],
): LayerConfig {
  const counts = new Map<string, number>();
  for (const f of formats) counts.set(f, (counts.get(f) ?? 0) + 1);
  const common = [...counts].reduce((best, c) => (c[1] > best[1] ? c : best))[0];
  const config: LayerConfig = { default: common };
  layers.forEach((layer, i) => {
    if (formats[i] !== common) config[layer] = formats[i];
  });
  return config;
}

/** Whether `layer` sums products (conv, affine) and so can round its sums to an accumulator. */
function sumsProducts(layer: Layer): boolean {
  return "accumulator" in layer;
}

/** `value` checked to be a {@linkcode FormatSpec} with known format names. */
function formatSpec(value: unknown, at: { source: string; field: string }): FormatSpec {
  const where = (key?: string) =>
    `${at.source}: field ${quote(key === undefined ? at.field : `${at.field}.${key}`)}`;
  if (typeof value === "string") {
    checkName(value, where());
    return value;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new TypeError(
      `${where()}: expected a format name or { "storage": NAME, "accumulator": NAME }, found ` +
        escapeText(String(JSON.stringify(value))),
    );
  }
  const extra = Object.keys(value).find((k) => !["storage", "accumulator", "kernels"].includes(k));
  if (extra) {
    throw new TypeError(
      `${where()}: unknown key ${quote(extra)}; expected storage, accumulator, kernels`,
    );
  }
  const { storage, accumulator, kernels } = value as Record<string, unknown>;
  const name = (key: string, v: unknown) => {
    if (typeof v !== "string") {
      throw new TypeError(
        `${where(key)}: expected a format name, found ${escapeText(String(JSON.stringify(v)))}`,
      );
    }
    checkName(v, where(key));
    return v;
  };
  if (kernels !== undefined) {
    try {
      kernelPath(kernels as string);
    } catch (error) {
      throw new RangeError(`${where("kernels")}: ${(error as Error).message}`);
    }
  }
  const storageName = name("storage", storage);
  const sums = accumulator === undefined ? undefined : name("accumulator", accumulator);
  const problem = sums && accumulatorProblem(storageByName(sums));
  if (problem) throw new RangeError(`${where("accumulator")}: ${problem}`);
  return {
    storage: storageName,
    ...(sums !== undefined && { accumulator: sums }),
    ...(kernels !== undefined && { kernels: kernels as string }),
  };
}

/** Deeper than any configuration: a field, an object of keys, and room to spare. */
const MAX_DEPTH = 16;

/**
 * jsonc-parser's `SyntaxKind` values of the tokens counted (a `const enum`, which isolated
 * modules cannot read).
 */
const TOKEN = { openBrace: 1, closeBrace: 2, openBracket: 3, closeBracket: 4, end: 17 } as const;

/**
 * Throws a syntax error at the first bracket that opens past {@linkcode MAX_DEPTH} levels:
 * the parser recurses into every level, and 100,000 of them overflow the stack. The scanner
 * reads tokens one by one, strings and comments included, so brackets inside them do not count.
 */
function checkDepth(text: string, source: string): void {
  const scanner = createScanner(text, false);
  let depth = 0;
  for (let token: number = scanner.scan(); token !== TOKEN.end; token = scanner.scan()) {
    if (token === TOKEN.openBrace || token === TOKEN.openBracket) {
      if (++depth > MAX_DEPTH) {
        throw new SyntaxError(
          `${source}: line ${scanner.getTokenStartLine() + 1}, column ` +
            `${scanner.getTokenStartCharacter() + 1}: nested deeper than ${MAX_DEPTH} levels, ` +
            "expected an object of layer formats",
        );
      }
    } else if (token === TOKEN.closeBrace || token === TOKEN.closeBracket) {
      depth--;
    }
  }
}

function checkName(name: string, where: string): void {
  try {
    usableFormat(storageByName(name));
  } catch (error) {
    throw new RangeError(`${where}: ${(error as Error).message}`);
  }
}

function resolve(spec: FormatSpec): LayerFormat {
  if (typeof spec === "string") return { storage: storageByName(spec) };
  const accumulator = spec.accumulator === undefined ? undefined : storageByName(spec.accumulator);
  const kernels = spec.kernels === undefined ? undefined : kernelPath(spec.kernels);
  return { storage: storageByName(spec.storage), accumulator, kernels };
}
