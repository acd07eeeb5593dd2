/**
 * Per-layer configurations: parsing JSON and JSONC, every kind of mistake giving an error that
 * names the file and the field, and applying one to a network.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  applyLayerConfig,
  bf16,
  deepConvNet,
  e4m3,
  f16,
  f32,
  f64,
  type LayerConfig,
  parseLayerConfig,
  type Storage,
  Tensor,
} from "../mod.ts";
import { compactLayerConfig, layerFormats } from "../analysis/mod.ts";

Deno.test("parseLayerConfig() reads JSONC: comments, trailing commas, both entry shapes", () => {
  const text = `{
    // most layers narrow
    "default": "e4m3", /* but not the first convolution */
    "conv1": "f32",
    "affine2": { "storage": "f16", "accumulator": "f16" },
    "affine1": { "storage": "e5m2-rz" },
  }`;
  assert.deepEqual(parseLayerConfig(text, "mixed.jsonc"), {
    default: "e4m3",
    conv1: "f32",
    affine2: { storage: "f16", accumulator: "f16" },
    affine1: { storage: "e5m2-rz" },
  });
  assert.deepEqual(parseLayerConfig("{}", "empty.json"), {});
});

Deno.test("parseLayerConfig() names the file, the field and what was expected", () => {
  const cases: [string, RegExp][] = [
    ['{ "conv1": "f16" ', /^SyntaxError: c.json: line 1, column 18: close brace expected$/],
    ['{\n  "conv1" "f16"\n}', /^SyntaxError: c.json: line 2, column 11: colon expected$/],
    ["", /^SyntaxError: c.json: line 1, column 1: value expected$/],
    ['["f16"]', /^TypeError: c.json: expected an object of layer formats, found array$/],
    ['"f16"', /^TypeError: c.json: expected an object of layer formats, found string$/],
    [
      '{ "conv1": 16 }',
      /^TypeError: c.json: field "conv1": expected a format name or \{ "storage": NAME, "accumulator": NAME \}, found 16$/,
    ],
    ['{ "conv1": null }', /^TypeError: c.json: field "conv1": expected a format name .* null$/],
    ['{ "conv1": ["f16"] }', /^TypeError: c.json: field "conv1": expected a format name/],
    [
      '{ "conv1": { "storage": "f16", "rounding": "rz" } }',
      /^TypeError: c.json: field "conv1": unknown key "rounding"; expected storage, accumulator, kernels$/,
    ],
    [
      '{ "conv1": { "accumulator": "f16" } }',
      /^TypeError: c.json: field "conv1.storage": expected a format name, found undefined$/,
    ],
    [
      '{ "conv1": { "storage": "f16", "accumulator": 32 } }',
      /^TypeError: c.json: field "conv1.accumulator": expected a format name, found 32$/,
    ],
    [
      '{ "conv1": "f8" }',
      /^RangeError: c.json: field "conv1": Unknown storage format "f8": expected one of f64, f32, f16, f16-polyfill, bf16, e4m3, e5m2, or a minifloat named e\{E\}m\{M\}/,
    ],
    [
      '{ "default": { "storage": "half" } }',
      /^RangeError: c.json: field "default.storage": Unknown storage format "half"/,
    ],
    [
      '{ "affine1": { "storage": "f16", "accumulator": "mxfp4" } }',
      /^RangeError: c.json: field "affine1.accumulator": mxfp4 is a scaled format, whose scale comes from a block or a tensor, not from one sum; expected f16, bf16, f32, f64 or a minifloat$/,
    ],
    [
      '{ "conv1": { "storage": "f16", "accumulator": "e4m3-fn" } }',
      /^RangeError: c.json: field "conv1.accumulator": Cannot find storage format "e4m3-fn": the format it spells is named "e4m3"$/,
    ],
    ['{ "conv1": "f16", "conv1": "f32" }', /^TypeError: c.json: field "conv1": given twice$/],
    [
      '{ "default": "e4m3-b999" }',
      /^RangeError: c.json: field "default": e4m3-b999 has normal numbers from 3\.73e-301 to 1\.07e-296, expected a range holding 1 /,
    ],
    [
      '{ "conv1": { "storage": "f16", "accumulator": "e1m1" } }',
      /^RangeError: c.json: field "conv1.accumulator": e1m1 has no normal numbers/,
    ],
  ];
  for (const [text, pattern] of cases) {
    assert.throws(() => parseLayerConfig(text, "c.json"), (error: Error) => {
      assert.match(`${error.name}: ${error.message}`, pattern, text);
      return true;
    });
  }
});

Deno.test("parseLayerConfig() takes a byte order mark, refuses deep nesting, escapes keys", () => {
  assert.deepEqual(parseLayerConfig('\uFEFF{ "default": "f16" }', "bom.json"), { default: "f16" });
  // 100,000 levels overflowed the parser's stack: refused at the first level too many.
  const deep = "[".repeat(100_000) + "]".repeat(100_000);
  assert.throws(
    () => parseLayerConfig(`{ "conv1": ${deep} }`, "deep.json"),
    /^SyntaxError: deep.json: line 1, column 27: nested deeper than 16 levels, expected an object/,
  );
  // Brackets inside strings and comments are not nesting.
  const quoted = `{ /* ${"[".repeat(40)} */ "default": "f16", "x${"{".repeat(40)}": 1 }`;
  assert.throws(() => parseLayerConfig(quoted, "q.json"), /field "x\{+": expected a format name/);
  assert.throws(
    () => parseLayerConfig('{ "conv1\\u001b[31m": "f16", "conv1\\u001b[31m": "f8" }', "e.json"),
    (error: Error) => error.message === 'e.json: field "conv1\\x1b[31m": given twice',
  );
});

Deno.test("layerFormats() rejects unknown layers and accumulators where nothing is summed", () => {
  const net = deepConvNet();
  assert.throws(
    () => layerFormats(net, { conv9: "f16" }, "config.json"),
    (error: Error) => {
      assert.ok(error instanceof RangeError);
      assert.equal(
        error.message,
        'config.json: field "conv9": unknown layer; expected one of default, conv1, relu1, ' +
          "conv2, relu2, pool1, conv3, relu3, conv4, relu4, pool2, conv5, relu5, conv6, relu6, " +
          "pool3, affine1, relu7, dropout1, affine2, dropout2, softmax1",
      );
      return true;
    },
  );
  assert.throws(
    () => layerFormats(net, { relu1: { storage: "f16", accumulator: "f16" } }, "config.json"),
    /^TypeError: config.json: field "relu1": relu1 sums no products, so it takes no accumulator; give it a format name$/,
  );
  assert.throws(
    () => layerFormats(net, { default: { storage: "f16", accumulator: "f16" } }, "c.json"),
    /^TypeError: c.json: field "default": relu1 sums no products, .* give it a format name of its own$/,
  );
  assert.throws(
    () => layerFormats(net, parseLayerConfig('{ "__proto__": "f16" }', "p.json"), "p.json"),
    /^RangeError: p.json: field "__proto__": unknown layer/,
  );
  // A config made in code is checked as strictly as a file.
  assert.throws(() => layerFormats(net, { conv1: "f8" }), /field "conv1": Unknown storage format/);
  assert.throws(
    () => layerFormats(net, { conv1: "e5m2-b99" }),
    /^RangeError: configuration: field "conv1": e5m2-b99 has normal numbers from .* expected a range holding 1 /,
  );
  assert.throws(
    () => layerFormats(net, { conv1: 3 } as unknown as LayerConfig),
    /^TypeError: configuration: field "conv1": expected a format name/,
  );
});

Deno.test("applyLayerConfig() gives every layer its format, default and accumulator", () => {
  const net = deepConvNet({ seed: 3 });
  const mixed = applyLayerConfig(net, {
    default: "f16",
    conv1: "f32",
    relu1: "f32",
    conv2: { storage: "bf16", accumulator: "f16" },
    affine2: "e4m3",
  });
  const storages: Record<string, Storage> = {};
  for (const layer of mixed.layers) storages[layer.name] = layer.storage;
  assert.equal(storages.conv1, f32);
  assert.equal(storages.relu1, f32);
  assert.equal(storages.conv2, bf16);
  assert.equal(storages.affine2, e4m3);
  assert.equal(storages.softmax1, f16);
  assert.equal((mixed.layer("conv2") as { accumulator?: Storage }).accumulator, f16);
  assert.equal((mixed.layer("conv3") as { accumulator?: Storage }).accumulator, undefined);
  // Parameters are rounded to their layer's format; the original is untouched.
  const w = net.params().get("W8")!.toFloat64();
  assert.deepEqual([...mixed.params().get("W8")!.toFloat64()], [...w].map((v) => e4m3.round(v)));
  assert.equal(net.layer("conv1").storage, f64);
  // Without a default, unnamed layers keep their format.
  assert.equal(applyLayerConfig(net, { conv1: "f16" }).layer("conv2").storage, f64);
  // The mixed network runs, and converts at every boundary.
  const x = Tensor.from(f32, [2, 1, 28, 28], Array.from({ length: 2 * 784 }, (_, i) => i % 5));
  const logits = mixed.logits(x);
  assert.equal(logits.storage, f16); // dropout2's format
  assert.ok(logits.toFloat64().every(Number.isFinite));
});

Deno.test("compactLayerConfig() lists only what differs from the most common format", () => {
  const net = deepConvNet();
  const names = net.layers.map((l) => l.name);
  const formats = names.map((n) => (n === "conv1" || n === "relu1" ? "f32" : "e4m3"));
  const config = compactLayerConfig(names, formats);
  assert.deepEqual(config, { default: "e4m3", conv1: "f32", relu1: "f32" });
  const applied = applyLayerConfig(net, config);
  assert.deepEqual(applied.layers.map((l) => l.storage.name), formats);
});
