/**
 * The HTML report in a real browser: a report written from real MNIST images and weights is
 * opened in headless Chromium, which must show it without a console error, draw every chart,
 * and re-run the network with the bundled library to the same classes as Deno.
 *
 * Without Chromium (`apt-get install chromium`, or `HALFPREC_CHROMIUM` naming a binary) the
 * test is skipped with a warning; with `CI=true` it fails. `HALFPREC_SCREENSHOT=docs/report.png`
 * also saves the screenshot the README shows.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  comparePrecisions,
  deepConvNet,
  f16,
  f64,
  imageBatch,
  type LabeledImages,
  layerReports,
  type Sequential,
  storageByName,
} from "../mod.ts";
import { readMnistDir, readSafetensorsFile } from "../data/files.ts";
import { evalReport } from "../report/eval_report.ts";
import { rangeSection } from "../report/magnitude_histogram.ts";
import type { FrontierPoint, ReportData } from "../report/report_data.ts";
import { writeReport } from "../report/write_report.ts";

import { MNIST, WEIGHTS } from "./_data.ts";
import { Browser, findChromium } from "./_chromium.ts";

const CHROMIUM = findChromium();
const IN_CI = Deno.env.get("CI") === "true";
const NAME = "a report opens in headless Chromium: no console error, every chart drawn, " +
  "the browser re-run gives Deno's classes";

/** Images classified; e3m2 changes the class of some of the first 300 (6 with the book's weights). */
const IMAGES = 300;
/** A format coarse enough to flip images, so that the page has thumbnails to show. */
const COARSE = "e3m2";

if (CHROMIUM === undefined) {
  console.warn(
    `%cNo Chromium found: "${NAME}" is ${IN_CI ? "FAILING (CI=true)" : "SKIPPED"}. ` +
      `Install it (apt-get install -y chromium) or set HALFPREC_CHROMIUM to its binary.`,
    "color: red; font-weight: bold",
  );
  Deno.test({
    name: NAME,
    ignore: !IN_CI,
    fn() {
      throw new Error("Cannot run the browser test: no Chromium, and CI=true requires it");
    },
  });
} else {
  Deno.test(NAME, async () => {
    const net = deepConvNet();
    net.loadParams((await readSafetensorsFile(WEIGHTS)).tensors, WEIGHTS);
    const set = await readMnistDir(MNIST, "test");
    const data = await reportOfEverySection(net, set);
    assert.ok(data.flips!.length > 0, `expected ${COARSE} to change the class of some image`);

    const dir = await Deno.makeTempDir({ prefix: "halfprec-report-" });
    const browser = await Browser.launch(CHROMIUM);
    try {
      const path = `${dir}/report.html`;
      const bytes = await writeReport(path, data);
      console.log(`report: ${(bytes / 1e6).toFixed(2)} MB`);
      await browser.open(new URL(`file://${path}`).href);
      await browser.loaded;
      await browser.waitFor("globalThis.halfprecRerun", 120);

      const charts = await browser.evaluate<{ name: string; shapes: number }[]>(
        `[...document.querySelectorAll("figure.chart")].map((f) => ({
          name: f.dataset.chart,
          shapes: f.querySelectorAll("svg path, svg rect, svg circle").length,
        }))`,
      );
      const expected = ["accuracy", "layer-errors", "frontier"].concat(
        data.ranges!.formats.map((f) => `range-${f.name}`),
      );
      assert.deepEqual(charts.map((c) => c.name).sort(), expected.sort());
      for (const chart of charts) {
        assert.ok(chart.shapes > 10, `chart ${chart.name} draws ${chart.shapes} shapes`);
      }

      const thumbnails = await browser.evaluate<number[]>(
        `[...document.querySelectorAll(".flip img")].map((img) => img.naturalWidth)`,
      );
      assert.deepEqual(thumbnails, data.flips!.map(() => 28), "every flip thumbnail decodes");

      const outcome = await browser.evaluate<
        { runs: { label: string; predictions: number[] }[]; error?: string }
      >("globalThis.halfprecRerun");
      assert.equal(outcome.error, undefined);
      assert.deepEqual(
        outcome.runs.map(({ label, predictions }) => ({ label, predictions })),
        data.rerun!.runs.map((r) => ({ label: r.config.label, predictions: r.predictions })),
      );

      // A chosen configuration, run again from the page's controls.
      const last = data.rerun!.runs.length - 1;
      await browser.evaluate(`document.getElementById("rerun-config").value = "${last}"`);
      await browser.evaluate(`document.getElementById("rerun-button").click()`);
      await browser.waitFor(
        `document.getElementById("rerun-status").textContent.startsWith(${
          JSON.stringify(data.rerun!.runs[last].config.label)
        })`,
        60,
      );
      const status = await browser.evaluate<string>(
        `document.getElementById("rerun-status").textContent`,
      );
      assert.match(status, /every class equals Deno's/);

      const png = await browser.screenshot(1000, 1500);
      assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47]);
      const keep = Deno.env.get("HALFPREC_SCREENSHOT");
      if (keep) await Deno.writeFile(keep, png);
      assert.deepEqual(browser.errors, []);
    } finally {
      await browser.close();
      await Deno.remove(dir, { recursive: true });
    }
  });
}

/**
 * A report with every section, from real runs: eval's accuracy, flips and re-run on the first
 * images; per-layer errors and ranges on a few of them; and a frontier of the runs' bytes and
 * accuracy (standing in for the search's candidates).
 */
async function reportOfEverySection(loaded: Sequential, set: LabeledImages): Promise<ReportData> {
  const net = loaded.withKernels("wasm");
  const formats = [f16, storageByName("bf16"), storageByName(COARSE)];
  const results = await comparePrecisions(net, set, {
    formats,
    modes: ["seed", "store"],
    limit: IMAGES,
  });
  const subject = "DeepConvNet on MNIST test images";
  const notes = ["browser test"];
  const data = await evalReport({ net, set, results, kernelPath: "wasm", notes, subject });
  const x = imageBatch(set, 0, 8, f64);
  const layerErrors = formats.map((format) => ({
    format: format.name,
    layers: layerReports(net, net.to(format), x).map((l) => ({
      layer: l.layer,
      propagatedDb: l.propagated.sqnrDb,
      isolatedDb: l.isolated.sqnrDb,
    })),
  }));
  const points = results.map((r) => ({
    label: `${r.format} ${r.mode}`,
    bytes: r.bytesPerImage,
    accuracy: r.accuracy,
  }));
  const frontier: FrontierPoint[] = points.map((p) => ({
    ...p,
    onFrontier: !points.some((q) =>
      q !== p && q.bytes <= p.bytes && q.accuracy >= p.accuracy &&
      (q.bytes < p.bytes || q.accuracy > p.accuracy)
    ),
  }));
  const chosen = frontier.filter((p) => p.onFrontier).sort((a, b) => a.bytes - b.bytes)
    .find((p) => p.accuracy >= results[0].accuracy - 0.005);
  if (chosen) chosen.chosen = true;
  return { ...data, layerErrors, ranges: rangeSection(net, x, formats), frontier };
}
