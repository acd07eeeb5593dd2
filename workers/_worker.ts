/**
 * The worker side of {@linkcode WorkerPool}: holds one network, runs forward passes (and
 * forward-backward passes) on the slices of batches it is sent.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import {
  f64,
  lossAndGradients,
  networkFromSpec,
  reseedDropout,
  type Sequential,
  Tensor,
  tensorFromSpec,
  tensorSpec,
} from "../layers/mod.ts";
import { layerPass } from "../analysis/layer_pass.ts";
import type { Reply, Request } from "./_messages.ts";

let net: Sequential | undefined;

self.onmessage = (event: MessageEvent<Request>) => {
  const request = event.data;
  let reply: Reply;
  try {
    if (request.type === "load") {
      net = networkFromSpec(request.spec);
      reply = { id: request.id };
    } else if (request.type === "layerPass") {
      const { reference, candidates, images, shape, options } = request;
      const pass = layerPass(
        networkFromSpec(reference),
        candidates.map(networkFromSpec),
        new Tensor(f64, shape, images),
        options,
      );
      reply = { id: request.id, pass };
    } else if (!net) {
      throw new Error("Cannot run a forward pass: no network was loaded");
    } else if (request.type === "logits") {
      const logits = net.logits(tensorFromSpec(request.input), { firstImage: request.firstImage });
      reply = { id: request.id, output: tensorSpec(logits) };
    } else {
      const params = net.params();
      for (const [name, spec] of Object.entries(request.params)) {
        params.get(name)!.set(tensorFromSpec(spec).toFloat64());
      }
      reseedDropout(net, request.seed);
      const scales = request.amax && { amax: request.amax, seen: {} };
      const loss = lossAndGradients(net, tensorFromSpec(request.input), request.labels, {
        lossScale: request.lossScale,
        scales,
      });
      const grads = Object.fromEntries([...net.grads()].map(([name, g]) => [name, tensorSpec(g)]));
      reply = { id: request.id, loss, grads, seen: scales?.seen };
    }
  } catch (error) {
    reply = { id: request.id, error: error instanceof Error ? error.message : String(error) };
  }
  self.postMessage(reply);
};
