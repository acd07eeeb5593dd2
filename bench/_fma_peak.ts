/**
 * The f32x4 multiply-add peak of this runtime: the kernels' own `fma_peak` loop (12 independent
 * chains, registers only), on this thread or on several workers at once. `perf` sets its floor
 * by the one-thread peak and prints the workers' beside it, which tells whether two threads
 * really get twice one's throughput (two vCPUs on one core's two hyperthreads, or a clock that
 * drops with both cores busy, would not).
 *
 * @module
 */
import { requireKernels } from "../layers/wasm/kernels.ts";

/** Rounds of `fma_peak` per timing: about 2 GFLOP, tens of milliseconds. */
export const PEAK_ROUNDS = 2e7;

/**
 * The peak on this thread in GFLOP/s: the fastest of 5 timings after a warm-up that lets V8
 * optimise the loop.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fmaPeak } from "./_fma_peak.ts";
 * const gflops = fmaPeak();
 * assert.ok(gflops > 0 && gflops < Infinity);
 * ```
 */
export function fmaPeak(): number {
  const { fma_peak } = requireKernels();
  // Chains that stay near 1 (no overflow, no subnormals), from parameters the compiler cannot fold.
  fma_peak(PEAK_ROUNDS / 10, 0.9999999, 1e-7);
  let best = 0;
  for (let i = 0; i < 5; i++) {
    const started = performance.now();
    fma_peak(PEAK_ROUNDS, 0.9999999, 1e-7);
    const seconds = (performance.now() - started) / 1000;
    best = Math.max(best, (96 * PEAK_ROUNDS) / seconds / 1e9);
  }
  return best;
}

/**
 * The peak of each of `count` workers timing {@linkcode fmaPeak} at the same time, GFLOP/s.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fmaPeakOnWorkers } from "./_fma_peak.ts";
 * const peaks = await fmaPeakOnWorkers(2);
 * assert.equal(peaks.length, 2);
 * assert.ok(peaks.every((gflops) => gflops > 0 && gflops < Infinity));
 * ```
 */
export async function fmaPeakOnWorkers(count: number): Promise<number[]> {
  const workers = Array.from(
    { length: count },
    () => new Worker(new URL("./_fma_peak_worker.ts", import.meta.url), { type: "module" }),
  );
  try {
    // Each worker starts when it has loaded, so the timings overlap only if every worker waits
    // for the word to go, sent once all have said they are ready.
    await Promise.all(workers.map((w) => reply(w)));
    return await Promise.all(workers.map((w) => {
      const peak = reply(w);
      w.postMessage("go");
      return peak;
    }));
  } finally {
    for (const w of workers) w.terminate();
  }
}

/** The next message from `worker`, or its error. */
function reply(worker: Worker): Promise<number> {
  return new Promise((resolve, reject) => {
    worker.onmessage = (event: MessageEvent<number>) => resolve(event.data);
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      reject(new Error(`fma_peak worker: ${event.message}`));
    };
  });
}
