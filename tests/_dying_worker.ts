/**
 * A worker for worker_pool_test.ts: answers "load" as the real one does, then dies of an
 * uncaught error on the next request.
 *
 * @module
 */
/// <reference lib="deno.worker" />
self.onmessage = (event: MessageEvent<{ id: number; type: string }>) => {
  if (event.data.type === "load") self.postMessage({ id: event.data.id });
  else {setTimeout(() => {
      throw new Error("killed by the test");
    });}
};
