import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import {
  comparePrecisions,
  deepConvNet,
  f32,
  f64,
  type LabeledImages,
  parseSafetensors,
  storageByName,
} from "../mod.ts";
import { evalReport } from "../report/eval_report.ts";
import { flipImages } from "../report/flip_images.ts";
import { magnitudeHistogram } from "../report/magnitude_histogram.ts";
import { renderReport } from "../report/render_report.ts";
import type { ReportData } from "../report/report_data.ts";
import { classifyAs, configure, rerunNetwork, rerunSection } from "../report/rerun.ts";
import { bundlePageScript, writeReport } from "../report/write_report.ts";
import { importOnnx } from "../onnx/import_onnx.ts";
import { withActivationAmax } from "../analysis/mod.ts";
import { readMnistDir } from "../data/files.ts";
import { firstImages } from "../data/mod.ts";
import { MNIST } from "./_data.ts";

/** Images with some structure (a bright square moving around), so that classes differ. */
function images(count: number): LabeledImages {
  const pixels = new Uint8Array(count * 784);
  for (let i = 0; i < count; i++) {
    for (let p = 0; p < 784; p++) {
      const [y, x] = [Math.floor(p / 28), p % 28];
      const inside = Math.abs(y - 6 - (i * 5) % 16) < 5 && Math.abs(x - 6 - (i * 3) % 16) < 4;
      pixels[i * 784 + p] = inside ? 255 : (p * 31 + i * 7) % 64;
    }
  }
  const labels = Uint8Array.from({ length: count }, (_, i) => i % 10);
  return { images: pixels, shape: [count, 1, 28, 28], labels, classes: 10 };
}

function everySection(): ReportData {
  const pixels = Uint8Array.from(images(1).images);
  return {
    title: "A <test> report",
    notes: ["weights <somewhere>"],
    accuracy: [
      { format: "f64", mode: "reference", accuracy: 0.99, flipsToRight: 0, flipsToWrong: 0 },
      { format: "f16", mode: "seed", accuracy: 0.99, flipsToRight: 1, flipsToWrong: 1 },
      { format: "f16", mode: "store", accuracy: 0.98, flipsToRight: 0, flipsToWrong: 1 },
    ],
    layerErrors: [{
      format: "f16",
      layers: [
        { layer: "conv1", propagatedDb: 70, isolatedDb: 71 },
        { layer: "relu1", propagatedDb: Infinity, isolatedDb: Infinity },
        { layer: "conv2", propagatedDb: 65, isolatedDb: 69 },
      ],
    }],
    ranges: {
      histograms: [magnitudeHistogram("weights", [new Float64Array([1e-5, 0.01, 0.3, 2])])],
      formats: [
        { name: "f16", minSubnormal: 2 ** -24, minNormal: 2 ** -14, maxFinite: 65504 },
        { name: "e4m3", minSubnormal: 2 ** -9, minNormal: 2 ** -6, maxFinite: 448 },
      ],
    },
    frontier: [
      { label: "f64", bytes: 1.6e6, accuracy: 0.99, onFrontier: true },
      { label: "f16", bytes: 0.4e6, accuracy: 0.99, onFrontier: true, chosen: true },
      { label: "bad", bytes: 0.8e6, accuracy: 0.9, onFrontier: false },
    ],
    flips: [{
      index: 3,
      label: 4,
      picture: { width: 28, height: 28, channels: 1, pixels },
      reference: 4,
      changes: [{ run: "f16 store", prediction: 9 }],
    }],
  };
}

Deno.test("renderReport() draws every section as inline SVG and fetches nothing", () => {
  const html = renderReport(everySection());
  const charts = [...html.matchAll(/<figure class="chart" data-chart="([^"]+)"><svg/g)]
    .map((m) => m[1]);
  assert.deepEqual(charts, ["accuracy", "layer-errors", "range-f16", "range-e4m3", "frontier"]);
  for (const heading of ["Accuracy", "Error per layer", "Value ranges", "Bytes moved", "changed"]) {
    assert.match(html, new RegExp(`<h2>[^<]*${heading}`));
  }
  // The only URLs are the SVG namespaces, which are names, not fetched.
  const urls = [...html.matchAll(/https?:\/\/[^"' )]+/g)].map((m) => m[0]);
  assert.deepEqual([...new Set(urls)].sort(), [
    "http://www.w3.org/1999/xlink",
    "http://www.w3.org/2000/svg",
  ]);
  assert.doesNotMatch(html, /<link|<script[^>]*src=|@import/);
  assert.match(html, /<title>A &#60;test&#62; report<\/title>/);
  assert.match(html, /weights &#60;somewhere&#62;/);
  assert.doesNotMatch(html, /Re-run in this browser/, "no re-run without a page script");
});

Deno.test("renderReport() marks the layer where a format's first infinity or NaN appeared", () => {
  const data = everySection();
  const first = { layer: "conv2", count: 3, image: 7, inputNonFinite: false };
  const plain = renderReport(data);
  data.layerErrors!.push({ ...data.layerErrors![0], format: "e3m4", firstNonFinite: first });
  data.layerErrors![0].firstNonFinite = null;
  const html = renderReport(data);
  assert.doesNotMatch(plain, /first Inf\/NaN|First infinity/);
  assert.match(html, /<li>f16: none<\/li>/);
  assert.match(
    html,
    /<li>e3m4: conv2 \(3 values; first on image 7, whose input to conv2 was finite\)<\/li>/,
  );
  // The dotted line's label, drawn in the chart at conv2.
  assert.match(html, /e3m4: first Inf\/NaN/);
});

Deno.test("an eval report with several flip probabilities draws accuracy against p", async () => {
  const net = deepConvNet({ seed: 1 });
  const set = images(2);
  const formats = ["f16+flip0-s2", "f16+flip0.001-s2", "e4m3+flip0.001-s2"].map(storageByName);
  const results = await comparePrecisions(net, set, { formats, modes: ["store"] });
  const data = await evalReport({
    net,
    set,
    results,
    kernelPath: "typescript",
    notes: [],
    subject: "t",
  });
  // e4m3 has one probability: no curve. p = 0 stays in the data, off the logarithmic axis.
  assert.deepEqual(data.faults, [{
    label: "f16 store",
    flips: "any bit, weights and activations, seed 2",
    points: [0, 0.001].map((p, i) => ({ probability: p, accuracy: results[i + 1].accuracy })),
  }]);
  const html = renderReport(data);
  assert.match(html, /<figure class="chart" data-chart="faults"><svg/);
  assert.match(html, /Bits flipped: any bit, weights and activations, seed 2/);
  assert.doesNotMatch(renderReport({ ...data, faults: undefined }), /data-chart="faults"/);
});

Deno.test("renderReport() says so when no image changed class", () => {
  const html = renderReport({ title: "t", flips: [] });
  assert.match(html, /No image changed class in any run/);
  assert.doesNotMatch(html, /<figure class="chart"/);
});

Deno.test("a flip thumbnail is a PNG holding the image's pixels", async () => {
  const data = everySection();
  const url = renderReport(data).match(
    /class="flip"><img[^>]*src="data:image\/png;base64,([^"]+)"/,
  )!;
  const png = Uint8Array.from(atob(url[1]), (c) => c.charCodeAt(0));
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const view = new DataView(png.buffer);
  assert.deepEqual([view.getUint32(16), view.getUint32(20), png[24], png[25]], [28, 28, 8, 0]);
  const idatLength = view.getUint32(33);
  assert.equal(String.fromCharCode(...png.subarray(37, 41)), "IDAT");
  const idat = png.slice(41, 41 + idatLength);
  const raw = new Uint8Array(
    await new Response(new Blob([idat]).stream().pipeThrough(new DecompressionStream("deflate")))
      .arrayBuffer(),
  );
  assert.equal(raw.length, 28 * 29);
  for (let y = 0; y < 28; y++) {
    assert.equal(raw[y * 29], 0, "filter type none");
    assert.deepEqual(
      raw.subarray(y * 29 + 1, y * 29 + 29),
      data.flips![0].picture.pixels.subarray(y * 28, y * 28 + 28),
    );
  }
});

Deno.test("renderReport() keeps the embedded script and data inside their elements", async () => {
  const net = deepConvNet({ seed: 1 });
  const rerun = await rerunSection(net, images(2), {
    indices: [1, 0],
    configs: [{ label: "</script><b>", mode: "store", formats: "f16" }],
    kernelPath: "typescript",
  });
  const html = renderReport({ title: "t", rerun }, { pageScript: 'console.log("</script>")' });
  assert.equal(html.match(/<\/script>/g)!.length, 2, "only the two elements' own end tags");
  const json = html.match(/<script type="application\/json" id="halfprec-rerun">(.*?)<\/script>/s)!;
  assert.equal(JSON.parse(json[1]).runs[0].config.label, "</script><b>");
  assert.match(html, /<script type="module">console.log\("<\\\/script>"\)<\/script>/);
});

Deno.test("magnitudeHistogram() bins by power of two, subnormals included, zeros apart", () => {
  const h = magnitudeHistogram("x", [
    new Float64Array([Number.MIN_VALUE, 0, -0, NaN, Infinity]),
    new Float64Array([2 ** -1073 * 1.5]),
  ]);
  assert.deepEqual(h, { name: "x", minExponent: -1074, counts: [1, 1], zeros: 2 });
  assert.deepEqual(magnitudeHistogram("none", [new Float64Array([0])]).counts, []);
});

Deno.test("configure() applies formats by layer, and refuses them in seed mode", () => {
  const net = deepConvNet({ seed: 1 });
  const mixed = configure(net, {
    label: "m",
    mode: "store",
    formats: { conv1: "f32", affine2: "bf16" },
    otherwise: "f16",
    accumulator: "f32",
  });
  assert.deepEqual(
    [mixed.layer("conv1"), mixed.layer("relu1"), mixed.layer("affine2")].map((l) => l.storage.name),
    ["f32", "f16", "bf16"],
  );
  assert.equal(
    (mixed.layer("conv2") as unknown as { accumulator: { name: string } }).accumulator.name,
    "f32",
  );
  assert.throws(
    () => configure(net, { label: "s", mode: "seed", formats: { conv1: "f16" } }),
    (e: Error) => e instanceof RangeError && /"s".*store.*seed/.test(e.message),
  );
  assert.throws(() => configure(net, { label: "x", mode: "store", formats: "f17" }), RangeError);
});

Deno.test("rerunSection() embeds weights in the narrowest exact format and rebuilds them", async () => {
  const wide = deepConvNet({ seed: 4 });
  const narrow = wide.to(f32).to(f64);
  for (const [net, dtype] of [[wide, "F64"], [narrow, "F32"]] as const) {
    const section = await rerunSection(net, images(1), {
      indices: [0],
      configs: [],
      kernelPath: "wasm",
    });
    const tensors = parseSafetensors(section.weights!, "section").tensors;
    // Biases start at zero, which f16 holds exactly: only the kernels show the width.
    const kernels = [...tensors].filter(([name]) => name.startsWith("W"));
    assert.deepEqual(new Set(kernels.map(([, t]) => t.storage.dtype)), new Set([dtype]));
    assert.equal(tensors.get("b1")!.storage.dtype, "F16");
    const copy = rerunNetwork(section);
    for (const [name, t] of net.params()) {
      assert.deepEqual(copy.params().get(name)!.toFloat64(), t.toFloat64(), name);
    }
  }
});

Deno.test("rerunSection() carries an imported model's static activation scales to the page", async () => {
  const model = await Deno.readFile(
    fileURLToPath(new URL("fixtures/small-cnn.onnx", import.meta.url)),
  );
  const imported = importOnnx(model, { source: "small-cnn.onnx", storage: f64 });
  const convs = imported.layers.filter((layer) => layer.kind === "conv").map((l) => l.name);
  // Scales far below the inputs' amax: int4 clamps most values, so classes change.
  const amax = { [convs[0]]: 0.05, [convs[1]]: 0.1 };
  const calibrated = withActivationAmax(imported, amax);
  const set = firstImages(await readMnistDir(MNIST, "test"), 20);
  const config = { label: "int4", mode: "store" as const, formats: "int4" };
  const section = await rerunSection(calibrated, set, {
    indices: [...Array(20).keys()],
    configs: [config],
    kernelPath: "wasm",
    onnx: model,
  });
  assert.deepEqual(section.activationAmax, amax);
  const again = await classifyAs(rerunNetwork(section), set, config);
  assert.deepEqual([...again], section.runs[0].predictions);
  const dynamic = await classifyAs(imported, set, config);
  assert.notDeepEqual([...dynamic], section.runs[0].predictions, "the scales change classes");
});

Deno.test("flipImages() lists the images whose class changed, with each run's class", async () => {
  const net = deepConvNet({ seed: 5 });
  const set = images(30);
  const configs = [
    { label: "f64", mode: "store", formats: "f64" },
    { label: "e2m1", mode: "store", formats: "e2m1" },
    { label: "f64 again", mode: "store", formats: "f64" },
  ] as const;
  const indices = Array.from({ length: 30 }, (_, i) => i);
  const reference = await classifyAs(net, set, configs[0]);
  const coarse = await classifyAs(net, set, configs[1]);
  const changed = indices.filter((i) => reference[i] !== coarse[i]);
  assert.ok(changed.length > 0, "e2m1 changes some class");
  const flips = await flipImages(net, set, indices, configs);
  assert.deepEqual(flips.map((f) => f.index), changed);
  for (const f of flips) {
    assert.equal(f.reference, reference[f.index]);
    assert.deepEqual(f.changes, [{ run: "e2m1", prediction: coarse[f.index] }]);
    assert.equal(f.label, set.labels[f.index]);
  }
});

Deno.test("the page script and all of mod.ts bundle for the browser without any Deno API", async () => {
  const script = await bundlePageScript();
  assert.ok(script.length > 10_000, `the page script has ${script.length} characters`);
  assert.doesNotMatch(script, /\bDeno\./);
  const mod = fileURLToPath(new URL("../mod.ts", import.meta.url));
  const { code, stdout } = await new Deno.Command(Deno.execPath(), {
    args: ["bundle", "--quiet", "--platform", "browser", mod],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assert.equal(code, 0);
  const library = new TextDecoder().decode(stdout);
  assert.match(library, /function networkFromSpec/);
  assert.doesNotMatch(library, /\bDeno\./);
});

Deno.test("writeReport() replaces the file whole and leaves nothing else behind", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/report.html`;
    await Deno.writeTextFile(path, "old");
    const bytes = await writeReport(path, everySection());
    const html = await Deno.readTextFile(path);
    assert.equal(new TextEncoder().encode(html).length, bytes);
    assert.match(html, /^<!doctype html>/);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["report.html"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
