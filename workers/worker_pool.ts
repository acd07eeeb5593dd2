/**
 * Forward passes split across Web Workers, one slice of each batch per worker, so that every
 * core works. Each worker holds its own copy of the network, sent once by
 * {@linkcode WorkerPool.load}; only input slices and outputs cross per batch. A network that
 * scales activations from the batch (dynamic per-tensor scales) gets each batch whole on one
 * worker, the workers taking turns, so that its results do not depend on the number of workers.
 *
 * @module
 */
import { scalesFromBatch } from "../layers/_scaled_operands.ts";
import type { PassScales } from "../layers/loss.ts";
import type { Sequential } from "../layers/sequential.ts";
import { networkSpec, tensorFromSpec, type TensorSpec, tensorSpec } from "../layers/spec.ts";
import { argmaxRows, type Tensor } from "../layers/tensor.ts";
import { drawsRandom } from "../layers/rounding_streams.ts";
import type { LayerReportOptions } from "../analysis/layer_errors.ts";
import type { LayerPass } from "../analysis/layer_pass.ts";
import type { Question, Reply, Request } from "./_messages.ts";

/** Options of {@linkcode WorkerPool}. */
export interface WorkerPoolOptions {
  /** How many workers. @default {navigator.hardwareConcurrency} */
  size?: number;
}

/**
 * A fixed set of workers running one network.
 *
 * A worker that dies (an uncaught error, a module it cannot load) closes the pool: every
 * request in flight, and every later one, is rejected with an error saying which worker
 * stopped and why, instead of waiting forever or ending the process.
 *
 * @example Classify a batch on every core
 * ```ts
 * import { deepConvNet, f16, Tensor, WorkerPool } from "@halfprec/halfprec";
 * import assert from "node:assert/strict";
 *
 * using pool = new WorkerPool({ size: 2 });
 * const net = deepConvNet({ seed: 1 }).to(f16);
 * await pool.load(net);
 * const x = new Tensor(f16, [5, 1, 28, 28]);
 * assert.deepEqual(await pool.classify(x), net.classify(x));
 * ```
 */
export class WorkerPool {
  readonly #workers: Worker[];
  readonly #pending = new Map<
    number,
    { resolve: (r: Reply) => void; reject: (e: Error) => void }
  >();
  #nextId = 0;
  /** Why the pool no longer runs anything, once it is closed. */
  #closed?: Error;
  /** Whether the loaded network's forward pass needs its batch whole (see the module doc). */
  #wholeBatches = false;
  /** The worker that takes the next whole batch. */
  #turn = 0;

  /** Starts the workers. */
  constructor(options?: WorkerPoolOptions) {
    const size = options?.size ?? navigator.hardwareConcurrency ?? 1;
    if (!(Number.isInteger(size) && size >= 1)) {
      throw new RangeError(
        `Cannot make a worker pool: size is ${size}, expected a positive integer`,
      );
    }
    this.#workers = Array.from({ length: size }, (_, i) => {
      const worker = new Worker(new URL("./_worker.ts", import.meta.url), { type: "module" });
      worker.onmessage = (event: MessageEvent<Reply>) => {
        this.#pending.get(event.data.id)?.resolve(event.data);
        this.#pending.delete(event.data.id);
      };
      // Unhandled, a worker's error ends the whole process, past any try/catch.
      worker.onerror = (event: ErrorEvent) => {
        event.preventDefault();
        this.#shut(new Error(`Worker ${i + 1} of ${size} stopped: ${event.message}`));
      };
      worker.onmessageerror = () => {
        this.#shut(new Error(`Worker ${i + 1} of ${size} sent a message that cannot be read`));
      };
      return worker;
    });
  }

  /** How many workers the pool has. */
  get size(): number {
    return this.#workers.length;
  }

  /**
   * Sends `net` (architecture, formats, kernel paths and parameters) to every worker, so that
   * the workers compute as `net` does.
   */
  async load(net: Sequential): Promise<void> {
    const spec = networkSpec(net);
    const question = { type: "load", spec } as const;
    await Promise.all(this.#workers.map((w) => this.#ask(w, question)));
    this.#wholeBatches = scalesFromBatch(net.layers);
  }

  /**
   * The network's logits for `x`, its batch split into one contiguous slice per worker (or whole
   * on the next worker, for a network that scales activations from the batch); the same numbers
   * as `net.logits(x, { firstImage })` in one thread.
   */
  async logits(x: Tensor, firstImage = 0): Promise<Tensor> {
    const n = x.shape[0];
    const slices = this.#slices(x, this.#wholeBatches ? 1 : this.size);
    const first = this.#turn;
    this.#turn = (this.#turn + slices.length) % this.size;
    const outputs = await Promise.all(
      slices.map((slice, i) =>
        this.#ask(this.#workers[(first + i) % this.size], {
          type: "logits",
          input: slice.input,
          firstImage: firstImage + slice.start,
        })
      ),
    );
    const output = outputs[0].output!;
    const bytes = new Uint8Array(outputs.reduce((sum, o) => sum + o.output!.bytes.length, 0));
    let offset = 0;
    for (const o of outputs) bytes.set(o.output!.bytes, offset), offset += o.output!.bytes.length;
    return tensorFromSpec({ storage: output.storage, shape: [n, ...output.shape.slice(1)], bytes });
  }

  /** The predicted class of every example of `x` (see `Sequential.classify`). */
  async classify(x: Tensor, firstImage = 0): Promise<Int32Array> {
    return argmaxRows(await this.logits(x, firstImage));
  }

  /**
   * A training step's gradients, computed in parallel: every worker runs forward and backward
   * on its slice of `x` with the current parameters of `net` (whose architecture must have been
   * loaded), and the slices' gradients, weighted by their share of the batch, are summed in
   * float64 into `net`'s gradients. Returns the batch's mean loss.
   *
   * Each slice's dropout masks come from `options.seed` and the slice's position, so a run is
   * reproducible for a given pool size (not across pool sizes). `options.scales` (delayed
   * scaling) sets every worker's activation scales for this step and collects the amax of each
   * product layer's input over the whole batch (the largest of the slices').
   */
  async gradients(
    net: Sequential,
    x: Tensor,
    labels: Uint8Array | Int32Array,
    options: { lossScale?: number; seed: number; scales?: PassScales },
  ): Promise<number> {
    const params = Object.fromEntries([...net.params()].map(([name, t]) => [name, tensorSpec(t)]));
    const slices = this.#slices(x, this.size);
    const replies = await Promise.all(slices.map((slice, i) =>
      this.#ask(this.#workers[i], {
        type: "gradients",
        params,
        input: slice.input,
        labels: labels.slice(slice.start, slice.end),
        lossScale: options.lossScale ?? 1,
        seed: options.seed * slices.length + i,
        amax: options.scales?.amax,
      })
    ));
    const seen = options.scales?.seen;
    for (const reply of seen ? replies : []) {
      for (const [name, amax] of Object.entries(reply.seen!)) {
        seen![name] = Math.max(seen![name] ?? 0, amax);
      }
    }
    const share = (i: number) => (slices[i].end - slices[i].start) / x.shape[0];
    for (const [name, grad] of net.grads()) {
      const sum = new Float64Array(grad.size);
      replies.forEach((reply, i) => {
        const part = tensorFromSpec(reply.grads![name]).toFloat64();
        for (let j = 0; j < sum.length; j++) sum[j] += share(i) * part[j];
      });
      grad.set(sum);
    }
    return replies.reduce((loss, reply, i) => loss + share(i) * reply.loss!, 0);
  }

  /**
   * `layerPass` with the candidates shared out among the workers (candidate i to worker
   * i mod size), each running the reference beside its share: the same results as on one
   * thread, whatever the number of workers, in less time.
   *
   * @throws {RangeError} When a candidate draws random numbers: a worker would round from
   * streams of its own, not from the ones this thread's formats hold.
   */
  async layerPass(
    reference: Sequential,
    candidates: readonly Sequential[],
    x: Tensor,
    options?: LayerReportOptions,
  ): Promise<LayerPass> {
    const random = candidates.find((candidate) => drawsRandom(candidate.layers));
    if (random) {
      throw new RangeError(
        `Cannot compare layers on workers: ${random.layers[0].storage.name} draws random numbers`,
      );
    }
    const shares = Math.max(1, Math.min(this.size, candidates.length));
    const spec = networkSpec(reference);
    const replies = await Promise.all(
      Array.from({ length: shares }, (_, w) => {
        // Each worker's own copy of the images, handed over: none stays behind on this thread
        // (for the whole pass, as the reply is awaited), and none is cloned on the way.
        const images = x.toFloat64();
        return this.#ask(this.#workers[w], {
          type: "layerPass",
          reference: spec,
          candidates: candidates.filter((_, i) => i % shares === w).map(networkSpec),
          images,
          shape: [...x.shape],
          options,
        }, [images.buffer as ArrayBuffer]);
      }),
    );
    return {
      reference: replies[0].pass!.reference,
      candidates: candidates.map((_, i) => replies[i % shares].pass!.candidates[(i / shares) | 0]),
    };
  }

  /**
   * Stops the workers; the pool cannot be used afterwards, and requests still in flight are
   * rejected.
   */
  close(): void {
    this.#shut(new Error("The worker pool was closed"));
  }

  /** Stops the workers at the end of a `using` block. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** `x` cut along its first dimension into `count` contiguous slices (fewer if small). */
  #slices(x: Tensor, count: number): { start: number; end: number; input: TensorSpec }[] {
    const n = x.shape[0];
    const whole = tensorSpec(x);
    const bytesPerExample = whole.bytes.length / n;
    const parts = Math.min(count, n);
    return Array.from({ length: parts }, (_, i) => {
      const start = Math.floor((i * n) / parts);
      const end = Math.floor(((i + 1) * n) / parts);
      const bytes = whole.bytes.slice(start * bytesPerExample, end * bytesPerExample);
      return { start, end, input: { ...whole, shape: [end - start, ...x.shape.slice(1)], bytes } };
    });
  }

  /** Stops every worker and rejects every request in flight with `reason`; once is enough. */
  #shut(reason: Error): void {
    if (this.#closed) return;
    this.#closed = reason;
    for (const w of this.#workers) w.terminate();
    for (const { reject } of this.#pending.values()) reject(reason);
    this.#pending.clear();
  }

  /**
   * Sends `question` to `worker` and waits for its reply; a worker's error is rethrown here.
   * The buffers in `transfer` move to the worker instead of being copied.
   */
  #ask(worker: Worker, question: Question, transfer: Transferable[] = []): Promise<Reply> {
    if (this.#closed) {
      return Promise.reject(
        new Error(`Cannot use the worker pool: ${this.#closed.message}`, { cause: this.#closed }),
      );
    }
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, {
        resolve: (reply) =>
          reply.error === undefined ? resolve(reply) : reject(new Error(reply.error)),
        reject,
      });
      worker.postMessage({ ...question, id } satisfies Request, transfer);
    });
  }
}
