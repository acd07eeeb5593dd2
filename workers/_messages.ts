/**
 * The messages between {@linkcode WorkerPool} and its workers.
 *
 * @module
 */
import type { NetworkSpec, TensorSpec } from "../layers/spec.ts";

/** What the pool can ask a worker. */
export type Question =
  | { type: "load"; spec: NetworkSpec }
  | { type: "logits"; input: TensorSpec };

/** A question as sent, with the id its reply will carry. */
export type Request = Question & { id: number };

/** A worker's answer to the request with the same id. */
export interface Reply {
  id: number;
  output?: TensorSpec;
  error?: string;
}
