/**
 * A WorkerPool whose worker dies: every request it held is rejected, later ones too, and the
 * process goes on.
 *
 * @module
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { deepConvNet, f32, Tensor, WorkerPool } from "../mod.ts";

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
