/**
 * Delayed scaling: the amax of a step follows its rule over the history; a step scales the
 * product layers' inputs by it and records what they were; a short run in a delayed-scaled fp8
 * format on MNIST images trains, is deterministic, resumes from a checkpoint as if never
 * stopped, and runs on workers.
 *
 * @module
 */
import assert from "node:assert/strict";
import { Adam, Affine, lossAndGradients, Sequential, Softmax, tensor } from "../layers/mod.ts";
import { storageByName } from "../layers/storage/mod.ts";
import { firstImages } from "../data/mod.ts";
import { WorkerPool } from "../workers/worker_pool.ts";
import {
  type Checkpoint,
  DelayedScaling,
  delayedScaling,
  restoreCheckpoint,
  trainEpochs,
} from "../training/mod.ts";
import { readMnistDir } from "../data/files.ts";
import { MNIST } from "./_data.ts";
import { smallNet } from "./_small_net.ts";

Deno.test("delayed scaling takes the max or the latest of the last HISTORY amax, times 2^margin", () => {
  const maxima = [0.5, 4, 1, 2, 3, 0.25];
  const expect = (history: number, rule: "max" | "most-recent", margin: number, step: number) => {
    const window = maxima.slice(Math.max(0, step - history), step);
    const amax = rule === "max" ? Math.max(...window) : window[window.length - 1];
    return amax * 2 ** margin;
  };
  for (const history of [1, 3, 16]) {
    for (const rule of ["max", "most-recent"] as const) {
      for (const margin of [0, 2, -1]) {
        const scaling = new DelayedScaling({ history, rule, margin });
        assert.equal(scaling.amax("conv1"), undefined);
        maxima.forEach((amax, i) => {
          scaling.record({ conv1: amax, conv2: 2 * amax });
          assert.equal(scaling.amax("conv1"), expect(history, rule, margin, i + 1));
          assert.equal(scaling.amax("conv2"), 2 * expect(history, rule, margin, i + 1));
        });
        const next = scaling.nextStep();
        assert.deepEqual(next.amax, { conv1: scaling.amax("conv1"), conv2: scaling.amax("conv2") });
        assert.deepEqual(next.seen, {});
      }
    }
  }
});

Deno.test("delayedScaling() reads every spelling of its name and refuses others", () => {
  assert.equal(delayedScaling("delayed")!.name, "delayed:16:max:0");
  assert.equal(delayedScaling("delayed:4")!.name, "delayed:4:max:0");
  assert.equal(delayedScaling("delayed:1:most-recent:-2")!.name, "delayed:1:most-recent:-2");
  for (const bad of ["delayed:0", "delayed:4:min", "delayed:x", "dynamic", "delayed:4:max:1.5"]) {
    assert.equal(delayedScaling(bad), undefined, bad);
  }
  assert.throws(() => new DelayedScaling({ history: 0 }), RangeError);
});

Deno.test("a step scales a layer's input by the amax it is given and records the input's amax", () => {
  // One int8 affine layer, input 1, weights 1 and -1: dynamically the input is its own amax
  // and stays 1; over an amax of 4 it becomes round(127 / 4) = 32 steps of 4 / 127. The loss
  // of class 0 is log(1 + e^(-2 · input)).
  const int8 = storageByName("int8");
  const net = new Sequential([
    new Affine({ inputs: 1, outputs: 2, storage: int8 }),
    new Softmax({ storage: int8 }),
  ]);
  net.params().get("W1")!.set([1, -1]);
  const loss = (amax: Record<string, number>) => {
    const scales = { amax, seen: {} };
    const value = lossAndGradients(net, tensor([1, 1], [1]), [0], { scales });
    assert.deepEqual(scales.seen, { affine1: 1 });
    return value;
  };
  const expected = (input: number) => Math.log(1 + Math.exp(-2 * input));
  assert.ok(Math.abs(loss({}) - expected(1)) < 1e-6);
  assert.ok(Math.abs(loss({ affine1: 4 }) - expected(32 * Math.fround(4 / 127))) < 1e-6);
  assert.equal((net.layers[0] as Affine).options.activationAmax, undefined); // its own is kept
});

const data = firstImages(await readMnistDir(MNIST, "test"), 200);

/** The values of every parameter of `net`. */
function weights(net: Sequential): number[][] {
  return [...net.params().values()].map((t) => [...t.toFloat64()]);
}

/** A delayed-scaled e4m3-tensor run on 200 MNIST test images: 3 epochs of 10 steps. */
function run(scaling = new DelayedScaling({ history: 4 })) {
  const net = smallNet(storageByName("e4m3-tensor"));
  return {
    net,
    options: { optimizer: new Adam({ lr: 0.005 }), batch: 20, seed: 5, epochs: 3, scaling },
  };
}

Deno.test("a delayed-scaled e4m3-tensor run trains, the same twice, and keeps each layer's history", async () => {
  const first = run();
  const result = await trainEpochs(first.net, data, first.options);
  const losses = result.epochs.map((e) => e.loss);
  assert.ok(losses[2] < 0.8 * losses[0], `losses ${losses}`);
  const history = first.options.scaling.state();
  assert.deepEqual([...history.keys()], ["conv1", "affine1"]);
  assert.equal(history.get("conv1")!.length, 4);
  assert.ok(history.get("conv1")!.every((amax) => amax === 1)); // the brightest pixel, 255 / 255
  assert.ok(history.get("affine1")!.every((amax) => amax > 0));

  const second = run();
  await trainEpochs(second.net, data, second.options);
  assert.deepEqual(
    weights(second.net),
    weights(first.net),
  );
  assert.deepEqual(second.options.scaling.state(), history);

  // Delayed scaling changes the run: the same run with dynamic scales ends elsewhere.
  const dynamic = run();
  await trainEpochs(dynamic.net, data, { ...dynamic.options, scaling: undefined });
  assert.notDeepEqual(
    weights(dynamic.net),
    weights(first.net),
  );
});

Deno.test("a delayed-scaled run resumed from its checkpoint ends as an uninterrupted one", async () => {
  const whole = run();
  await trainEpochs(whole.net, data, whole.options);

  const part = run();
  let saved: Checkpoint | undefined;
  await trainEpochs(part.net, data, {
    ...part.options,
    epochs: 1,
    checkpoint: (c) => Promise.resolve(void (saved = c)),
  });
  assert.equal(saved!.metadata.scaling, "delayed:4:max:0");
  assert.equal(saved!.tensors.get("scaling.conv1")!.size, 4);

  const resumed = run();
  const start = restoreCheckpoint(resumed.net, data, resumed.options, saved!, "in memory");
  await trainEpochs(resumed.net, data, { ...resumed.options, start });
  assert.deepEqual(
    weights(resumed.net),
    weights(whole.net),
  );
  assert.deepEqual(resumed.options.scaling.state(), whole.options.scaling.state());

  const other = run(new DelayedScaling({ history: 4, rule: "most-recent" }));
  assert.throws(
    () => restoreCheckpoint(other.net, data, other.options, saved!, "in memory"),
    /metadata "scaling".*delayed:4:most-recent:0/,
  );
  const none = run();
  assert.throws(
    () =>
      restoreCheckpoint(
        none.net,
        data,
        { ...none.options, scaling: undefined },
        saved!,
        "in memory",
      ),
    /metadata "scaling"/,
  );
});

Deno.test("on workers, a delayed-scaled run records each step's amax over the whole batch", async () => {
  using pool = new WorkerPool({ size: 2 });
  const started = () => {
    const scaling = new DelayedScaling({ history: 4 });
    scaling.record({ conv1: 1, affine1: 8 });
    return run(scaling);
  };
  const onWorkers = started();
  await trainEpochs(onWorkers.net, data, { ...onWorkers.options, epochs: 1, pool });
  const here = started();
  await trainEpochs(here.net, data, { ...here.options, epochs: 1 });
  // The same steps (the small net has no dropout; a history to start from, so that no step
  // scales dynamically, by a slice's amax): the sums differ in order only.
  const expected = here.options.scaling.state().get("affine1")!;
  const got = onWorkers.options.scaling.state().get("affine1")!;
  assert.equal(got.length, 4);
  got.forEach((amax, i) =>
    assert.ok(Math.abs(amax / expected[i] - 1) < 1e-4, `${amax} ${expected[i]}`)
  );
});
