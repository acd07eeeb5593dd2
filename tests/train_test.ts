/**
 * Training: the loss falls in every format, an SGD step equals a numerical-gradient step, saved
 * weights round-trip bit for bit, and a resumed run ends where an uninterrupted one does.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Adam, f16, f64, Sgd, tensor } from "../mod.ts";
import { STORAGES } from "../layers/storage/mod.ts";
import { lossAndGradients, LossScale } from "../layers/mod.ts";
import { trainEpoch } from "../training/mod.ts";
import { readSafetensorsFile, writeSafetensorsFile } from "../data/files.ts";
import { randomValues } from "./_gradcheck.ts";
import { trainingSlice } from "./_data.ts";
import { BARS, smallNet } from "./_small_net.ts";

Deno.test("training lowers the loss on a fixed batch in every storage format", async () => {
  for (const storage of STORAGES) {
    const net = smallNet(storage);
    const optimizer = new Adam({ lr: 0.01 });
    const lossScale = storage.name.startsWith("f16") ? new LossScale({ initial: 256 }) : undefined;
    const first = await trainEpoch(net, BARS, 0, { optimizer, batch: 30, seed: 1, lossScale });
    let last = first;
    for (let epoch = 1; epoch < 8; epoch++) {
      last = await trainEpoch(net, BARS, epoch, { optimizer, batch: 30, seed: 1, lossScale });
    }
    assert.ok(last.loss < 0.5 * first.loss, `${storage.name}: loss ${first.loss} -> ${last.loss}`);
  }
});

Deno.test("an SGD step in f64 equals a step along the numerical gradient", () => {
  const net = smallNet(f64);
  const x = tensor([3, 1, 28, 28], randomValues(3 * 784, 5).map(Math.abs));
  const labels = [2, 7, 4];
  const before = new Map([...net.params()].map(([k, t]) => [k, t.toFloat64()]));
  const lr = 0.1;
  const h = 1e-6;
  const expected = new Map<string, Float64Array>();
  for (const [name, t] of net.params()) {
    const w = t.toFloat64();
    expected.set(
      name,
      w.map((value, i) => {
        const probe = Float64Array.from(w);
        probe[i] = value + h;
        t.set(probe);
        const up = lossAndGradients(net, x, labels);
        probe[i] = value - h;
        t.set(probe);
        const down = lossAndGradients(net, x, labels);
        t.set(w);
        return value - lr * (up - down) / (2 * h);
      }),
    );
  }
  lossAndGradients(net, x, labels);
  new Sgd({ lr }).step(net);
  for (const [name, t] of net.params()) {
    const got = t.toFloat64(), want = expected.get(name)!, was = before.get(name)!;
    got.forEach((v, i) => {
      const step = Math.abs(want[i] - was[i]);
      assert.ok(
        Math.abs(v - want[i]) <= 1e-7 * Math.max(step, 1e-3),
        `${name}[${i}]: ${v} vs ${want[i]}`,
      );
    });
  }
});

Deno.test("weights saved and loaded again are bit-identical in every format", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const storage of STORAGES) {
      const net = smallNet(storage);
      const path = join(dir, `${storage.name}.safetensors`);
      await writeSafetensorsFile(path, net.params(), { format: storage.name });
      const { tensors, metadata } = await readSafetensorsFile(path);
      assert.equal(metadata.format, storage.name);
      for (const [name, t] of net.params()) {
        const back = tensors.get(name)!;
        assert.deepEqual(
          new Uint8Array(back.data.buffer, back.data.byteOffset, back.data.byteLength),
          new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength),
          `${storage.name} ${name}`,
        );
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an epoch stopped and resumed mid-way ends with the same weights", async () => {
  const run = async (stopAfter?: number) => {
    let net = smallNet(f16);
    let optimizer = new Adam({ lr: 0.01, master: f64 });
    const lossScale = new LossScale({ initial: 64, growthInterval: 2 });
    const options = { batch: 5, seed: 3, lossScale };
    let steps = 0;
    let restoredScale: LossScale | undefined;
    const partial = await trainEpoch(net, BARS, 0, {
      ...options,
      optimizer,
      shouldStop: () => ++steps === stopAfter,
    });
    if (stopAfter !== undefined) {
      // What a checkpoint holds: parameters, optimizer state, the loss scale and the position.
      const { value, skipped, cleanSteps } = lossScale;
      const params = new Map([...net.params()].map(([k, t]) => [k, t.to(t.storage)]));
      const state = new Map([...optimizer.state()].map(([k, v]) => [k, Float64Array.from(v)]));
      net = smallNet(f16);
      net.loadParams(params);
      optimizer = new Adam({ lr: 0.01, master: f64 });
      optimizer.restore(state);
      restoredScale = Object.assign(new LossScale({ growthInterval: 2 }), {
        value,
        skipped,
        cleanSteps,
      });
      await trainEpoch(net, BARS, 0, {
        ...options,
        lossScale: restoredScale,
        optimizer,
        startStep: partial.nextStep,
      });
    }
    const scale = restoredScale ?? lossScale;
    return {
      scale: [scale.value, scale.skipped],
      weights: [...net.params().values()].map((t) => [...t.toFloat64()]),
    };
  };
  const whole = await run();
  assert.deepEqual(await run(3), whole);
});

Deno.test("deno task train --resume continues a run exactly", async () => {
  const dir = await Deno.makeTempDir();
  const data = await trainingSlice(200);
  const train = async (out: string, extra: string[]) => {
    const command = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("../cli/train.ts", import.meta.url).pathname,
        "--data",
        data,
        "--out",
        out,
        "--limit",
        "200",
        "--test-limit",
        "100",
        "--workers",
        "2",
        ...extra,
      ],
      stdout: "piped",
      stderr: "piped",
    });
    const { code, stderr } = await command.output();
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    return (await readSafetensorsFile(out)).tensors;
  };
  try {
    const whole = await train(join(dir, "whole.safetensors"), ["--epochs", "2"]);
    const halves = join(dir, "halves.safetensors");
    await train(halves, ["--epochs", "1"]);
    const resumed = await train(halves, ["--epochs", "2", "--resume"]);
    for (const [name, t] of whole) {
      assert.deepEqual(resumed.get(name)!.toFloat64(), t.toFloat64(), name);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(data, { recursive: true });
  }
});
