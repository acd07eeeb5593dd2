/**
 * A worker of `fmaPeakOnWorkers` (bench/_fma_peak.ts): says it is ready, then times the FMA peak
 * when told to and replies with it.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { fmaPeak } from "./_fma_peak.ts";

self.onmessage = () => self.postMessage(fmaPeak());
self.postMessage(0);
