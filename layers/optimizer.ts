/**
 * Optimizers: SGD and Adam, with optional master weights for training in narrow formats.
 *
 * Moments and master weights belong to the optimizer and are float64 (master weights rounded to
 * their format): the experiment is about how weights, activations and gradients are stored, so
 * the update arithmetic is kept exact. Each update is computed in float64 from the widened
 * gradient and written back rounded to the parameter's format.
 *
 * @module
 */
import type { Sequential } from "./sequential.ts";
import type { Storage } from "./storage/storage.ts";

/** What an optimizer needs to know about a step beyond the gradients. */
export interface StepOptions {
  /** The factor the loss was multiplied by before backward; gradients are divided by it. */
  lossScale?: number;
}

/**
 * An update rule over a network's parameters.
 *
 * @example
 * ```ts
 * import { Adam, deepConvNet, f64, lossAndGradients, type Optimizer, Tensor } from "@halfprec/halfprec/layers";
 * const optimizer: Optimizer = new Adam({ lr: 0.001 });
 * const net = deepConvNet({ seed: 1 });
 * lossAndGradients(net, new Tensor(f64, [2, 1, 28, 28]), [0, 1]);
 * optimizer.step(net);
 * ```
 */
export interface Optimizer {
  /** Updates every parameter of `net` from the gradients its last backward left. */
  step(net: Sequential, options?: StepOptions): void;
  /** The optimizer's state (moments, master weights, step count) by name, for checkpoints. */
  state(): Map<string, Float64Array>;
  /** Restores a state saved by {@linkcode Optimizer.state}. */
  restore(state: ReadonlyMap<string, Float64Array>): void;
  /**
   * The settings that define the updates (learning rate, master format...), as strings: a
   * checkpoint records them and a resumed run must have the same.
   */
  settings?(): Record<string, string>;
}

/** Options shared by the optimizers. */
export interface OptimizerOptions {
  /** Learning rate. */
  lr: number;
  /**
   * Keep a copy of every parameter in this format, update it, and round it into the network:
   * the master weights of mixed-precision training (f32 for an f16 network). Without it each
   * update is rounded straight into the parameter's own format, and an update smaller than
   * half the format's spacing at that weight is lost.
   */
  master?: Storage;
}

/** The update applied to one parameter `w` (in place) given its gradient `g`. */
type Rule = (name: string, w: Float64Array, g: Float64Array) => void;

/** Master weights, and the loop over parameters every optimizer runs. */
class Updater {
  readonly #master?: Storage;
  readonly #weights = new Map<string, Float64Array>();

  constructor(master?: Storage) {
    this.#master = master;
  }

  /** The master format's name, `none` without one. */
  get masterName(): string {
    return this.#master?.name ?? "none";
  }

  /** Applies `rule` to every parameter of `net`, with gradients divided by `lossScale`. */
  apply(net: Sequential, lossScale: number, rule: Rule): void {
    const grads = net.grads();
    for (const [name, param] of net.params()) {
      const g = grads.get(name)!.toFloat64();
      if (lossScale !== 1) { for (let i = 0; i < g.length; i++) g[i] /= lossScale; }
      const master = this.#master;
      let w: Float64Array;
      if (master) {
        w = this.#weights.get(name) ?? param.toFloat64().map(master.round);
        this.#weights.set(name, w);
      } else {
        w = param.toFloat64();
      }
      rule(name, w, g);
      if (master) { for (let i = 0; i < w.length; i++) w[i] = master.round(w[i]); }
      param.set(w);
    }
  }

  state(): [string, Float64Array][] {
    return [...this.#weights].map(([name, w]) => [`master.${name}`, w]);
  }

  restore(state: ReadonlyMap<string, Float64Array>): void {
    for (const [key, w] of state) {
      if (key.startsWith("master.")) this.#weights.set(key.slice("master.".length), w);
    }
  }
}

/**
 * Plain stochastic gradient descent: w -= lr * g.
 *
 * @example
 * ```ts
 * import { Affine, lossAndGradients, Sequential, Sgd, Softmax, tensor } from "@halfprec/halfprec/layers";
 * import assert from "node:assert/strict";
 * const net = new Sequential([new Affine({ inputs: 2, outputs: 2 }), new Softmax()]);
 * const x = tensor([1, 2], [1, 1]);
 * const before = lossAndGradients(net, x, [1]);
 * new Sgd({ lr: 0.5 }).step(net);
 * assert.ok(lossAndGradients(net, x, [1]) < before);
 * ```
 */
export class Sgd implements Optimizer {
  readonly #lr: number;
  readonly #updater: Updater;

  /** SGD with learning rate `options.lr`. */
  constructor(options: OptimizerOptions) {
    this.#lr = options.lr;
    this.#updater = new Updater(options.master);
  }

  /** One descent step. */
  step(net: Sequential, options: StepOptions = {}): void {
    const lr = this.#lr;
    this.#updater.apply(net, options.lossScale ?? 1, (_name, w, g) => {
      for (let i = 0; i < w.length; i++) w[i] -= lr * g[i];
    });
  }

  /** The master weights, if any. */
  state(): Map<string, Float64Array> {
    return new Map(this.#updater.state());
  }

  /** Restores the master weights. */
  restore(state: ReadonlyMap<string, Float64Array>): void {
    this.#updater.restore(state);
  }

  /** The learning rate and the master format (`none` without one). */
  settings(): Record<string, string> {
    return { lr: String(this.#lr), master: this.#updater.masterName };
  }
}

/**
 * Adam, as in the reference code ("Deep Learning from Scratch", common/optimizer.py): bias
 * correction folded into the step size, epsilon 1e-7 added to sqrt(v).
 *
 * @example
 * ```ts
 * import { Adam, Affine, lossAndGradients, Sequential, Softmax, tensor } from "@halfprec/halfprec/layers";
 * import assert from "node:assert/strict";
 * const net = new Sequential([new Affine({ inputs: 2, outputs: 2 }), new Softmax()]);
 * const x = tensor([1, 2], [1, 1]);
 * const adam = new Adam({ lr: 0.1 });
 * const before = lossAndGradients(net, x, [1]);
 * adam.step(net);
 * assert.ok(lossAndGradients(net, x, [1]) < before);
 * assert.deepEqual(adam.state().get("step"), new Float64Array([1]));
 * ```
 */
export class Adam implements Optimizer {
  readonly #lr: number;
  readonly #beta1: number;
  readonly #beta2: number;
  readonly #updater: Updater;
  readonly #m = new Map<string, Float64Array>();
  readonly #v = new Map<string, Float64Array>();
  #step = 0;

  /** Adam with learning rate `options.lr` and moment decays beta1 0.9, beta2 0.999. */
  constructor(options: OptimizerOptions & { beta1?: number; beta2?: number }) {
    this.#lr = options.lr;
    this.#beta1 = options.beta1 ?? 0.9;
    this.#beta2 = options.beta2 ?? 0.999;
    this.#updater = new Updater(options.master);
  }

  /** One Adam step. */
  step(net: Sequential, options: StepOptions = {}): void {
    const b1 = this.#beta1, b2 = this.#beta2;
    this.#step++;
    const lr = this.#lr * Math.sqrt(1 - b2 ** this.#step) / (1 - b1 ** this.#step);
    this.#updater.apply(net, options.lossScale ?? 1, (name, w, g) => {
      const m = this.#moment(this.#m, name, w.length);
      const v = this.#moment(this.#v, name, w.length);
      for (let i = 0; i < w.length; i++) {
        m[i] += (1 - b1) * (g[i] - m[i]);
        v[i] += (1 - b2) * (g[i] * g[i] - v[i]);
        w[i] -= lr * m[i] / (Math.sqrt(v[i]) + 1e-7);
      }
    });
  }

  /** Moments `m.<name>`, `v.<name>`, master weights `master.<name>` and `step`. */
  state(): Map<string, Float64Array> {
    return new Map([
      ...[...this.#m].map(([name, m]) => [`m.${name}`, m] as const),
      ...[...this.#v].map(([name, v]) => [`v.${name}`, v] as const),
      ...this.#updater.state(),
      ["step", new Float64Array([this.#step])],
    ]);
  }

  /** The learning rate, the moment decays and the master format (`none` without one). */
  settings(): Record<string, string> {
    return {
      lr: String(this.#lr),
      beta1: String(this.#beta1),
      beta2: String(this.#beta2),
      master: this.#updater.masterName,
    };
  }

  /** Restores moments, master weights and the step count. */
  restore(state: ReadonlyMap<string, Float64Array>): void {
    for (const [key, value] of state) {
      if (key.startsWith("m.")) this.#m.set(key.slice(2), value);
      if (key.startsWith("v.")) this.#v.set(key.slice(2), value);
    }
    this.#step = state.get("step")?.[0] ?? 0;
    this.#updater.restore(state);
  }

  #moment(moments: Map<string, Float64Array>, name: string, length: number): Float64Array {
    let moment = moments.get(name);
    if (!moment) moments.set(name, moment = new Float64Array(length));
    return moment;
  }
}
