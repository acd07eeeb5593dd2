/**
 * Run by worker_pool_test.ts without read permission, so that no worker can load its module:
 * prints what the pool rejected with, and that the process went on.
 *
 * @module
 */
import { deepConvNet, WorkerPool } from "../mod.ts";

try {
  using pool = new WorkerPool({ size: 2 });
  await pool.load(deepConvNet({ seed: 1 }));
  console.log("loaded");
} catch (error) {
  console.log(`rejected: ${(error as Error).message}`);
}
console.log("still running");
