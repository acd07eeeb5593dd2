/**
 * The search's sensitivity against the per-layer comparison it shortens.
 *
 * @module
 */
import assert from "node:assert/strict";
import { deepConvNet, f16, f64, Tensor } from "../mod.ts";
import { bf16, e4m3 } from "../layers/storage/mod.ts";
import { layerReportsOf } from "../analysis/layer_errors.ts";
import { isolatedNoise } from "../analysis/_isolated_noise.ts";

Deno.test("isolatedNoise() is layerReportsOf's isolated relative noise power, batch by batch", async () => {
  const net = deepConvNet({ seed: 1 });
  const x = Tensor.from(
    f64,
    [3, 1, 28, 28],
    Array.from({ length: 3 * 784 }, (_, i) => (i % 11) / 11),
  );
  const candidates = [net.to(f16), net.to(bf16), net.to(e4m3)];
  const done: number[] = [];
  const noise = await isolatedNoise(net, candidates, x, {
    batch: 2,
    onProgress: (d) => done.push(d),
  });
  const reports = layerReportsOf(net, candidates, x, { batch: 2 });
  assert.deepEqual(
    noise,
    reports.map((r) => new Map(r.map((l) => [l.layer, l.isolated.relL2 ** 2]))),
  );
  assert.ok(noise.every((byLayer) => [...byLayer.values()].some((n) => n > 0)));
  assert.deepEqual(done, [1, 2, 3]);
});
