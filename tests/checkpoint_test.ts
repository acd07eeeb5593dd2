/**
 * `restoreCheckpoint` refuses, with a DataError naming the file and the field, whatever would not
 * continue the same run: a file that is not a checkpoint, one saved with other settings, a
 * position or loss scale out of range, missing tensors; and it loads nothing then.
 *
 * @module
 */
import assert from "node:assert/strict";
import { Adam, f16, f32, f64, restoreCheckpoint, Sgd, Tensor } from "../mod.ts";
import { LossScale } from "../layers/mod.ts";
import { type Checkpoint, CHECKPOINT_MARKER, checkpointOf } from "../training/mod.ts";
import { assertDataError } from "./_assert_data_error.ts";
import { BARS, smallNet } from "./_small_net.ts";

/** The options of a run on BARS; `changes` replaces some. */
function options(changes = {}) {
  return {
    optimizer: new Adam({ lr: 0.01 }),
    batch: 10,
    seed: 1,
    settings: { data: "bars" },
    ...changes,
  };
}

/** A checkpoint of a run with {@linkcode options} before epoch 2, step 1, with `metadata` changed. */
function saved(metadata: Record<string, string | undefined> = {}): Checkpoint {
  const checkpoint = checkpointOf(smallNet(f32), BARS, options(), { epoch: 1, step: 1 });
  const changed = { ...checkpoint.metadata, ...metadata };
  for (const [key, value] of Object.entries(changed)) if (value === undefined) delete changed[key];
  return { tensors: checkpoint.tensors, metadata: changed as Record<string, string> };
}

/** Asserts that restoring `checkpoint` into a run with `changes` is refused on `field`. */
function assertRefused(
  checkpoint: Checkpoint,
  changes: object,
  want: { field: string; expected: string; found: string },
) {
  const net = smallNet(f32);
  const before = [...net.params().values()].map((t) => [...t.toFloat64()]);
  for (const t of net.params().values()) t.set(t.toFloat64().map((v) => v + 1));
  const changed = [...net.params().values()].map((t) => [...t.toFloat64()]);
  assert.throws(
    () => restoreCheckpoint(net, BARS, options(changes), checkpoint, "run.checkpoint"),
    (error) => assertDataError(error, { source: "run.checkpoint", ...want }),
  );
  assert.notDeepEqual(changed, before);
  assert.deepEqual([...net.params().values()].map((t) => [...t.toFloat64()]), changed);
}

Deno.test("a weights file is not a checkpoint", () => {
  const weights = { tensors: smallNet(f32).params(), metadata: { format: "f32" } };
  assertRefused(weights, {}, {
    field: `metadata "${CHECKPOINT_MARKER}"`,
    expected: '"1" (a halfprec training checkpoint; this file is not one)',
    found: "nothing",
  });
  assertRefused(saved({ [CHECKPOINT_MARKER]: "2" }), {}, {
    field: `metadata "${CHECKPOINT_MARKER}"`,
    expected: '"1" (a halfprec training checkpoint)',
    found: '"2"',
  });
});

Deno.test("a checkpoint of a run with other settings is refused, naming the setting", () => {
  const cases: [object, string, string, string][] = [
    [{ batch: 5 }, "batch", "5", "10"],
    [{ seed: 2 }, "seed", "2", "1"],
    [{ limit: 20 }, "images", "20", "30"],
    [{ optimizer: new Sgd({ lr: 0.01 }) }, "optimizer", "Sgd", "Adam"],
    [{ lossScale: new LossScale() }, "lossScale", "dynamic", "off"],
    [{ optimizer: new Adam({ lr: 0.1 }) }, "lr", "0.1", "0.01"],
    [{ optimizer: new Adam({ lr: 0.01, master: f32 }) }, "master", "f32", "none"],
    [{ settings: { data: "other" } }, "data", "other", "bars"],
  ];
  for (const [changes, key, ours, theirs] of cases) {
    assertRefused(saved(), changes, {
      field: `metadata "${key}"`,
      expected: `${ours}, as in this run`,
      found: `"${theirs}"`,
    });
  }
  const net = smallNet(f16);
  assert.throws(
    () => restoreCheckpoint(net, BARS, options(), saved(), "run.checkpoint"),
    (error) =>
      assertDataError(error, {
        source: "run.checkpoint",
        field: 'metadata "formats"',
        expected: "f16, as in this run",
        found: '"f32"',
      }),
  );
});

Deno.test("a position or loss scale out of range is refused", () => {
  assertRefused(saved({ nextStep: "3" }), {}, {
    field: 'metadata "nextStep"',
    expected: "below 3, the steps of an epoch",
    found: '"3"',
  });
  assertRefused(saved({ nextEpoch: "NaN" }), {}, {
    field: 'metadata "nextEpoch"',
    expected: "a whole number",
    found: '"NaN"',
  });
  assertRefused(saved({ nextStep: undefined }), {}, {
    field: 'metadata "nextStep"',
    expected: "a whole number",
    found: "nothing",
  });
  assertRefused(saved({ lossScaleValue: "-1" }), {}, {
    field: 'metadata "lossScaleValue"',
    expected: "a positive number",
    found: '"-1"',
  });
});

Deno.test("a checkpoint missing a parameter is refused", () => {
  const checkpoint = saved();
  checkpoint.tensors.delete("W2");
  assertRefused(checkpoint, {}, {
    field: "tensors",
    expected: "the parameters of this network",
    found: 'tensor "W2" is missing (expected shape [576,10])',
  });
});

Deno.test("an optimizer state of the wrong size or not finite is refused", () => {
  const net = smallNet(f32);
  const optimizer = new Adam({ lr: 0.01, master: f32 });
  optimizer.step(net);
  const checkpoint = checkpointOf(net, BARS, options({ optimizer }), { epoch: 0, step: 1 });
  const moment = checkpoint.tensors.get("optimizer.m.b2")!;
  checkpoint.tensors.set("optimizer.m.b2", Tensor.from(f64, [3], [0, 0, 0]));
  assertRefused(checkpoint, { optimizer: new Adam({ lr: 0.01, master: f32 }) }, {
    field: 'tensor "optimizer.m.b2"',
    expected: "10 values, as the parameter",
    found: "3",
  });
  checkpoint.tensors.set("optimizer.m.b2", moment);
  checkpoint.tensors.set("optimizer.master.W1", Tensor.from(f64, [100], new Array(100).fill(NaN)));
  assertRefused(checkpoint, { optimizer: new Adam({ lr: 0.01, master: f32 }) }, {
    field: 'tensor "optimizer.master.W1"',
    expected: "finite values",
    found: "NaN at index 0",
  });
});

Deno.test("a checkpoint of the same run restores its position, weights and loss scale", () => {
  const net = smallNet(f16);
  const lossScale = new LossScale({ initial: 64 });
  Object.assign(lossScale, { value: 16, skipped: 2, cleanSteps: 5 });
  for (const t of net.params().values()) t.set(t.toFloat64().map((v) => v / 2));
  const checkpoint = checkpointOf(net, BARS, options({ lossScale }), { epoch: 4, step: 2 });
  const fresh = smallNet(f16);
  const restored = new LossScale();
  const start = restoreCheckpoint(fresh, BARS, options({ lossScale: restored }), checkpoint, "x");
  assert.deepEqual(start, { epoch: 4, step: 2 });
  assert.deepEqual([restored.value, restored.skipped, restored.cleanSteps], [16, 2, 5]);
  for (const [name, t] of net.params()) {
    assert.deepEqual(fresh.params().get(name)!.toFloat64(), t.toFloat64(), name);
  }
});
