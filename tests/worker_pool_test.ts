/**
 * A WorkerPool whose worker dies: every request it held is rejected, later ones too, and the
 * process goes on.
 *
 * @module
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import {
  deepConvNet,
  f32,
  imageBatch,
  storageByName,
  Tensor,
  withPrecision,
  WorkerPool,
} from "../mod.ts";
import { readMnistDir } from "../data/files.ts";
import { MNIST } from "./_data.ts";

const DYING = new URL("./_dying_worker.ts", import.meta.url);

/** A pool of `size` whose worker number `dying` (from 0) runs tests/_dying_worker.ts. */
function poolWithDyingWorker(size: number, dying: number): WorkerPool {
  const Real = globalThis.Worker;
  let made = 0;
  globalThis.Worker = class extends Real {
    constructor(url: string | URL, options?: WorkerOptions) {
      super(made++ === dying ? DYING : url, options);
    }
  };
  try {
    return new WorkerPool({ size });
  } finally {
    globalThis.Worker = Real;
  }
}

Deno.test("a worker that dies rejects the requests in flight and closes the pool", async () => {
  using pool = poolWithDyingWorker(3, 1);
  const net = deepConvNet({ seed: 1 }).to(f32);
  await pool.load(net);
  const x = new Tensor(f32, [6, 1, 28, 28]);
  const inFlight = [pool.classify(x), pool.logits(x)];
  for (const request of inFlight) {
    await assert.rejects(request, { message: /^Worker 2 of 3 stopped: .*killed by the test/ });
  }
  await assert.rejects(pool.classify(x), {
    message: /^Cannot use the worker pool: Worker 2 of 3 stopped/,
  });
  await assert.rejects(pool.load(net), /Cannot use the worker pool/);
});

Deno.test("a closed pool rejects requests instead of waiting forever", async () => {
  const pool = new WorkerPool({ size: 1 });
  const net = deepConvNet({ seed: 1 }).to(f32);
  await pool.load(net);
  const pending = pool.classify(new Tensor(f32, [2, 1, 28, 28]));
  pool.close();
  await assert.rejects(pending, { message: "The worker pool was closed" });
  await assert.rejects(
    pool.load(net),
    /^Error: Cannot use the worker pool: The worker pool was closed/,
  );
});

Deno.test("workers that cannot load their module reject load() and the process goes on", async () => {
  const script = fileURLToPath(new URL("./_pool_without_read.ts", import.meta.url));
  const { code, stdout } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", script],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const lines = new TextDecoder().decode(stdout).trim().split("\n");
  assert.equal(code, 0, lines.join("\n"));
  assert.match(lines[0], /^rejected: Worker \d of 2 stopped: Requires read access to/);
  assert.equal(lines[1], "still running");
});

Deno.test("a network that scales activations from its batch gets each batch whole: the pool's numbers are one thread's", async () => {
  const int8 = storageByName("int8");
  const net = withPrecision(deepConvNet({ seed: 1 }), int8, "store");
  const x = imageBatch(await readMnistDir(MNIST, "test"), 0, 8, int8);
  const expected = net.logits(x).toFloat64();
  // Half the batch alone takes other scales: split across the workers, the numbers would differ.
  const half = imageBatch(await readMnistDir(MNIST, "test"), 0, 4, int8);
  assert.notDeepEqual(net.logits(half).toFloat64(), expected.subarray(0, 40));
  using pool = new WorkerPool({ size: 2 });
  await pool.load(net);
  const [first, second] = await Promise.all([pool.logits(x), pool.logits(x)]);
  assert.deepEqual(first.toFloat64(), expected);
  assert.deepEqual(second.toFloat64(), expected);
});
