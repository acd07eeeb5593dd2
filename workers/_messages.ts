/**
 * The messages between {@linkcode WorkerPool} and its workers.
 *
 * @module
 */
import type { NetworkSpec, TensorSpec } from "../layers/spec.ts";
import type { LayerReportOptions } from "../analysis/layer_errors.ts";
import type { LayerPass } from "../analysis/layer_pass.ts";

/** What the pool can ask a worker. */
export type Question =
  | { type: "load"; spec: NetworkSpec }
  | {
    type: "logits";
    input: TensorSpec;
    /** The index of the slice's first example in the run (see `ForwardOptions.firstImage`). */
    firstImage: number;
  }
  | {
    type: "gradients";
    /** The current parameters, by network name. */
    params: Record<string, TensorSpec>;
    input: TensorSpec;
    labels: Uint8Array | Int32Array;
    lossScale: number;
    /** Seed of this slice's dropout masks. */
    seed: number;
    /** Delayed scaling: the amax each product layer scales its input by (`PassScales.amax`). */
    amax?: Readonly<Record<string, number>>;
  }
  | {
    type: "layerPass";
    /** The float64 network, and this worker's share of the candidates (see `layerPass`). */
    reference: NetworkSpec;
    candidates: NetworkSpec[];
    /** The images' values and shape: this worker's own copy, handed over, not cloned. */
    images: Float64Array;
    shape: number[];
    options?: LayerReportOptions;
  };

/** A question as sent, with the id its reply will carry. */
export type Request = Question & { id: number };

/** A worker's answer to the request with the same id. */
export interface Reply {
  id: number;
  /** The logits, for "logits". */
  output?: TensorSpec;
  /** The slice's mean loss and the gradients by parameter name, for "gradients". */
  loss?: number;
  grads?: Record<string, TensorSpec>;
  /** With `amax` asked: the amax of every product layer's input in the slice. */
  seen?: Record<string, number>;
  /** What `layerPass` found, for "layerPass". */
  pass?: LayerPass;
  error?: string;
}
