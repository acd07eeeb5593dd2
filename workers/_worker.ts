/**
 * The worker side of {@linkcode WorkerPool}: holds one network, runs forward passes on the
 * slices of batches it is sent.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { networkFromSpec, type Sequential, tensorFromSpec, tensorSpec } from "../layers/mod.ts";
import type { Reply, Request } from "./_messages.ts";

let net: Sequential | undefined;

self.onmessage = (event: MessageEvent<Request>) => {
  const request = event.data;
  let reply: Reply;
  try {
    if (request.type === "load") {
      net = networkFromSpec(request.spec);
      reply = { id: request.id };
    } else {
      if (!net) throw new Error("Cannot run a forward pass: no network was loaded");
      reply = { id: request.id, output: tensorSpec(net.logits(tensorFromSpec(request.input))) };
    }
  } catch (error) {
    reply = { id: request.id, error: error instanceof Error ? error.message : String(error) };
  }
  self.postMessage(reply);
};
