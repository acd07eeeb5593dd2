/**
 * `trainEpochs`: a run interrupted through its signal and resumed from the checkpoint file it
 * saved ends exactly as an uninterrupted run; a loss or weight that stops being a number stops
 * the run at that step and is never saved; runs that would train nothing are refused.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  Adam,
  f16,
  f64,
  restoreCheckpoint,
  Sgd,
  trainEpochs,
  TrainingDivergedError,
} from "../mod.ts";
import { LossScale, type Optimizer } from "../layers/mod.ts";
import type { Checkpoint, TrainEpochsOptions, TrainingResult } from "../training/mod.ts";
import { readSafetensorsFile, writeSafetensorsFile } from "../data/files.ts";
import { BARS, smallNet } from "./_small_net.ts";

/** A fresh f16 mixed-precision run on BARS: 3 epochs of 6 steps. */
function run() {
  const net = smallNet(f16);
  const options = {
    optimizer: new Adam({ lr: 0.01, master: f64 }),
    lossScale: new LossScale({ initial: 64, growthInterval: 2 }),
    batch: 5,
    seed: 3,
    epochs: 3,
  };
  return { net, options };
}

/** Everything the end of a run holds: weights, optimizer state and loss scale, as numbers. */
function endState(r: ReturnType<typeof run>) {
  const { value, skipped, cleanSteps } = r.options.lossScale;
  return {
    weights: [...r.net.params()].map(([name, t]) => [name, [...t.toFloat64()]]),
    // Sorted: a restored optimizer lists its state in the checkpoint's order.
    optimizer: [...r.options.optimizer.state()].map(([name, v]) => [name, [...v]]).sort(),
    scale: [value, skipped, cleanSteps],
  };
}

for (const stopAfter of [4, 6, 13]) {
  Deno.test(`a run stopped after step ${stopAfter} and resumed from its file ends exactly as one run`, async () => {
    const whole = run();
    const result = await trainEpochs(whole.net, BARS, whole.options);
    assert.deepEqual(result.next, { epoch: 3, step: 0 });
    assert.equal(result.stopped, false);

    const dir = await Deno.makeTempDir();
    try {
      const path = join(dir, "run.checkpoint");
      const first = run();
      const stop = new AbortController();
      let steps = 0;
      const stopped = await trainEpochs(first.net, BARS, {
        ...first.options,
        signal: stop.signal,
        onStep: () => ++steps === stopAfter && stop.abort(),
        checkpoint: (c) => writeSafetensorsFile(path, c.tensors, c.metadata),
      });
      assert.equal(stopped.stopped, true);
      const position = { epoch: Math.floor(stopAfter / 6), step: stopAfter % 6 };
      assert.deepEqual(stopped.next, position);

      const resumed = run();
      const start = restoreCheckpoint(
        resumed.net,
        BARS,
        resumed.options,
        await readSafetensorsFile(path),
        path,
      );
      assert.deepEqual(start, position);
      const rest = await trainEpochs(resumed.net, BARS, { ...resumed.options, start });
      assert.equal(rest.stopped, false);
      assert.deepEqual(endState(resumed), endState(whole));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

/** Adam that puts a NaN into every parameter after its `poisonAt`-th update (from 1). */
function poisoned(poisonAt: number): Optimizer {
  const adam = new Adam({ lr: 0.01 });
  let updates = 0;
  return {
    step(net, options) {
      adam.step(net, options);
      if (++updates !== poisonAt) return;
      for (const t of net.params().values()) {
        const values = t.toFloat64();
        values[0] = NaN;
        t.set(values);
      }
    },
    state: () => adam.state(),
    restore: (state) => adam.restore(state),
  };
}

/** Trains smallNet on BARS (2 epochs of 3 steps) and collects the checkpoints saved. */
function poisonedRun(poisonAt: number, extra: Partial<TrainEpochsOptions> = {}) {
  const saved: Checkpoint[] = [];
  const promise: Promise<TrainingResult> = trainEpochs(smallNet(f64), BARS, {
    optimizer: poisoned(poisonAt),
    batch: 10,
    seed: 1,
    epochs: 2,
    checkpoint: (c) => Promise.resolve(void saved.push(c)),
    ...extra,
  });
  return { saved, promise };
}

Deno.test("a loss that becomes NaN stops the run at its step and keeps the last good checkpoint", async () => {
  // The 4th update (epoch 2, step 1) poisons the weights: the loss of the next step is NaN.
  const { saved, promise } = poisonedRun(4);
  await assert.rejects(promise, (error) => {
    assert(error instanceof TrainingDivergedError);
    assert.deepEqual([error.epoch, error.step], [1, 1]);
    assert.match(error.message, /the loss is NaN at epoch 2, step 2/);
    return true;
  });
  assert.deepEqual(saved.map((c) => c.metadata.nextEpoch), ["1"]);
  for (const t of saved[0].tensors.values()) assert.ok(t.toFloat64().every(Number.isFinite));
});

Deno.test("NaN weights are never saved, not even by an interrupted run", async () => {
  const stop = new AbortController();
  const { saved, promise } = poisonedRun(2, {
    signal: stop.signal,
    onStep: ({ step }) => step === 1 && stop.abort(),
  });
  await assert.rejects(promise, (error) => {
    assert(error instanceof TrainingDivergedError);
    assert.deepEqual([error.epoch, error.step], [0, 1]);
    assert.match(error.message, /weight W1\[0\] is NaN at epoch 1, step 2/);
    return true;
  });
  assert.equal(saved.length, 0);
});

Deno.test("a run that would train nothing is refused", async () => {
  const options = { optimizer: new Sgd({ lr: 0.1 }), seed: 1, epochs: 1 };
  await assert.rejects(
    trainEpochs(smallNet(f64), BARS, { ...options, batch: 20, limit: 10 }),
    new RangeError("Cannot train with batches of 20 on 10 images: no step would run"),
  );
  await assert.rejects(
    trainEpochs(smallNet(f64), BARS, { ...options, batch: 10, limit: 31 }),
    new RangeError("Cannot train on 31 images: the data holds 30"),
  );
});
