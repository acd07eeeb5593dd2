/**
 * A network as a list of layers run in order: the only container halfprec needs.
 *
 * @module
 */
import type { Layer } from "./layer.ts";
import type { Storage } from "./storage/storage.ts";
import { argmaxRows, type Tensor } from "./tensor.ts";
import { DataError } from "../data/data_error.ts";
import { quote } from "../data/_quote.ts";
import { drawsRandom, forwardPerImage, roundImages } from "./rounding_streams.ts";
import type { KernelPath, LayerArithmetic } from "./kernel_path.ts";

/** Options of {@linkcode Sequential.forward}. */
export interface ForwardOptions {
  /** Training behaviour (dropout masks) instead of inference. @default {false} */
  train?: boolean;
  /** Called after every layer with the layer and its output, e.g. to keep per-layer outputs. */
  trace?: (layer: Layer, output: Tensor) => void;
  /**
   * The index, in the whole run, of the first example of the input. A network holding a
   * stochastically rounding format runs inference one example at a time, restarting its
   * streams per example and layer from this index (see `roundImages`), so that its results
   * do not depend on the batch size or on how a run is split between workers.
   * @default {0}
   */
  firstImage?: number;
}

/** Options of the {@linkcode Sequential} constructor. */
export interface SequentialOptions {
  /**
   * A name for each layer, in order (an imported model's node names); distinct and non-empty.
   * @default {kind and position among its kind: `conv1`, `relu3`}
   */
  names?: readonly string[];
  /** The shape of one input example, without the batch dimension (`[1, 28, 28]`), when known. */
  inputShape?: readonly number[];
  /**
   * A format the network rounds every input's values to before its first layer, the input
   * keeping its storage: what a seed-mode network does (see `withPrecision`), so that its
   * input cannot be left unrounded. A stochastic format rounds each image from its own stream,
   * as `roundImages` does. @default {none: the input is used as given}
   */
  inputFormat?: Storage;
}

/** Where a network parameter lives: layer and local key. */
interface ParamSlot {
  readonly layer: Layer;
  readonly key: string;
}

/**
 * Layers run in order. Layers are named by kind and position among their kind (`conv1`,
 * `relu3`, `softmax1`) unless given names; parameters are named like the reference, by local name and the
 * position of their layer among the layers that have parameters (`W1` .. `W8`, `b1` .. `b8`
 * for DeepConvNet).
 *
 * @example A small network of your own
 * ```ts
 * import { Affine, Conv, f16, Pool, Relu, Sequential, Softmax, Tensor } from "@halfprec/halfprec/layers";
 * import assert from "node:assert/strict";
 *
 * const net = new Sequential([
 *   new Conv({ inChannels: 1, outChannels: 30, kernel: 5 }),
 *   new Relu(),
 *   new Pool({ size: 2 }),
 *   new Affine({ inputs: 30 * 12 * 12, outputs: 100 }),
 *   new Relu(),
 *   new Affine({ inputs: 100, outputs: 10 }),
 *   new Softmax(),
 * ]);
 * assert.deepEqual([...net.params().keys()], ["W1", "b1", "W2", "b2", "W3", "b3"]);
 * const half = net.to(f16);
 * const p = half.forward(new Tensor(f16, [2, 1, 28, 28]));
 * assert.deepEqual(p.shape, [2, 10]);
 * assert.equal(p.storage, f16);
 * ```
 */
export class Sequential {
  /** The layers, in order. */
  readonly layers: readonly Layer[];
  /** The shape of one input example, without the batch dimension, when it is known. */
  readonly inputShape?: readonly number[];
  /** The format every input's values are rounded to before the first layer, if any. */
  readonly inputFormat?: Storage;
  readonly #params = new Map<string, ParamSlot>();

  /**
   * A network of `layers`, which it names (see the class description).
   *
   * @throws {RangeError} When `options.names` does not hold one distinct, non-empty name per layer.
   */
  constructor(layers: readonly Layer[], options?: SequentialOptions) {
    this.layers = [...layers];
    const { names, inputShape, inputFormat } = options ?? {};
    if (
      names &&
      (names.length !== layers.length || new Set(names).size !== names.length ||
        names.includes(""))
    ) {
      throw new RangeError(
        `Cannot make a network of ${layers.length} layers named [${names}]: expected one ` +
          `distinct, non-empty name per layer`,
      );
    }
    if (inputShape) this.inputShape = [...inputShape];
    if (inputFormat) this.inputFormat = inputFormat;
    const perKind = new Map<string, number>();
    let withParams = 0;
    for (const [i, layer] of this.layers.entries()) {
      const count = (perKind.get(layer.kind) ?? 0) + 1;
      perKind.set(layer.kind, count);
      layer.name = names?.[i] ?? `${layer.kind}${count}`;
      const keys = Object.keys(layer.params);
      if (keys.length > 0) withParams++;
      for (const key of keys) this.#params.set(`${key}${withParams}`, { layer, key });
    }
  }

  /**
   * The layer called `name`.
   *
   * @throws {RangeError} When there is none; the message lists the layer names.
   */
  layer(name: string): Layer {
    const layer = this.layers.find((l) => l.name === name);
    if (!layer) {
      const names = this.layers.map((l) => l.name).join(", ");
      throw new RangeError(`Unknown layer "${name}": expected one of ${names}`);
    }
    return layer;
  }

  /** Runs every layer in order and returns the last output. */
  forward(x: Tensor, options?: ForwardOptions): Tensor {
    return this.#run(this.layers, x, options ?? {});
  }

  /**
   * The output before a trailing softmax (all layers when there is none). Classes are taken
   * from here: softmax is monotonic, and probabilities rounded to a narrow format can tie.
   */
  logits(x: Tensor, options?: ForwardOptions): Tensor {
    return this.#run(this.logitsLayers, x, options ?? {});
  }

  /** The layers {@linkcode Sequential.logits} runs: all but a trailing softmax. */
  get logitsLayers(): readonly Layer[] {
    const last = this.layers.at(-1);
    return last?.kind === "softmax" ? this.layers.slice(0, -1) : this.layers;
  }

  /**
   * The predicted class of every example: the index of its largest logit (the first one on a
   * tie, as numpy's argmax), -1 when its logits hold a NaN (no class). `firstImage` as in
   * {@linkcode ForwardOptions}.
   */
  classify(x: Tensor, firstImage = 0): Int32Array {
    return argmaxRows(this.logits(x, { firstImage }));
  }

  /** Backpropagates `dout` through every layer (after a forward pass); fills each layer's grads. */
  backward(dout: Tensor): Tensor {
    let d = dout;
    for (let i = this.layers.length - 1; i >= 0; i--) d = this.layers[i].backward(d);
    return d;
  }

  /** Every parameter by network name (`W1`, `b1`, ...), in layer order. */
  params(): Map<string, Tensor> {
    return new Map([...this.#params].map(([name, { layer, key }]) => [name, layer.params[key]]));
  }

  /** Every gradient by the name of its parameter, filled by the last `backward`. */
  grads(): Map<string, Tensor> {
    return new Map([...this.#params].map(([name, { layer, key }]) => [name, layer.grads[key]]));
  }

  /**
   * Copies `tensors` into the parameters of the same name, rounding each value to the
   * parameter's format.
   *
   * A NaN or an infinity in a tensor is refused: every result computed from it would be NaN
   * or meaningless, yet look like a number. `options.allowNonFinite` loads it anyway, for a
   * study of overflow; metrics that then cannot be computed say so.
   *
   * @param source Where the tensors come from (a file name), for error messages.
   * @param options `allowNonFinite`: load NaN and infinities too.
   * @throws {TypeError} When a parameter is missing, a tensor has no parameter of its name, or a
   * shape differs; nothing is changed then.
   * @throws {DataError} When a tensor holds a NaN or an infinity (and `allowNonFinite` is not
   * set), naming the tensor, how many and the first index; nothing is changed then.
   *
   * @example A NaN in a weight is refused
   * ```ts
   * import { DataError, deepConvNet } from "@halfprec/halfprec";
   * import assert from "node:assert/strict";
   * const net = deepConvNet({ seed: 1 });
   * const params = net.params();
   * params.get("W2")!.set(params.get("W2")!.toFloat64().fill(NaN, 5, 7));
   * assert.throws(() => deepConvNet().loadParams(params, "w.safetensors"), (e) => {
   *   assert(e instanceof DataError);
   *   assert.equal(e.found, "2 non-finite values (NaN or infinity), the first at index 5");
   *   return true;
   * });
   * deepConvNet().loadParams(params, "w.safetensors", { allowNonFinite: true });
   * ```
   */
  loadParams(
    tensors: ReadonlyMap<string, Tensor>,
    source = "the given tensors",
    options: { allowNonFinite?: boolean } = {},
  ): void {
    const problems: string[] = [];
    for (const [name, { layer, key }] of this.#params) {
      const t = tensors.get(name);
      const expected = layer.params[key].shape;
      if (!t) problems.push(`tensor ${quote(name)} is missing (expected shape [${expected}])`);
      else if (t.shape.join() !== expected.join()) {
        problems.push(
          `tensor ${quote(name)} field "shape": expected [${expected}] (${layer.name}), ` +
            `found [${t.shape}]`,
        );
      }
    }
    for (const name of tensors.keys()) {
      if (!this.#params.has(name)) {
        problems.push(`tensor ${quote(name)} is not a parameter of this network`);
      }
    }
    if (problems.length > 0) {
      const shown = problems.length > 4 ? [...problems.slice(0, 4), "..."] : problems;
      throw new TypeError(`Cannot load parameters from ${source}: ${shown.join("; ")}`);
    }
    const values = new Map([...this.#params.keys()].map((n) => [n, tensors.get(n)!.toFloat64()]));
    if (!options.allowNonFinite) {
      for (const [name, v] of values) {
        const first = v.findIndex((x) => !Number.isFinite(x));
        if (first < 0) continue;
        const count = v.reduce((n, x) => Number.isFinite(x) ? n : n + 1, 0);
        throw new DataError(source, {
          field: `tensor ${quote(name)}`,
          expected: "finite values",
          found: `${count} non-finite value${count === 1 ? "" : "s"} (NaN or infinity), ` +
            `the first at index ${first}`,
        });
      }
    }
    for (const [name, { layer, key }] of this.#params) layer.params[key].set(values.get(name)!);
  }

  /**
   * The same network stored in another format, parameters rounded to it: one format for
   * every layer, or a format chosen per layer; likewise the format conv and affine layers
   * round their partial sums to (`accumulator`; by default they keep their own). To put a
   * float64 network in one format for an experiment, use `withPrecision` (analysis), whose
   * `store` mode is this with a stochastic format's stream restarted first and whose `seed`
   * mode rounds the weights and input only; per-layer formats from a configuration file are
   * `applyLayerConfig`.
   *
   * @example Keep the first convolution in f32, store the rest in f16
   * ```ts
   * import { deepConvNet, f16, f32 } from "@halfprec/halfprec";
   * import assert from "node:assert/strict";
   * const mixed = deepConvNet().to((layer) => layer.name === "conv1" ? f32 : f16);
   * assert.equal(mixed.layer("conv1").storage, f32);
   * assert.equal(mixed.layer("conv2").storage, f16);
   * ```
   */
  to(
    storage: Storage | ((layer: Layer) => Storage),
    accumulator?: Storage | ((layer: Layer) => Storage | undefined),
  ): Sequential {
    const pick = typeof storage === "function" ? storage : () => storage;
    const sums = typeof accumulator === "function" ? accumulator : () => accumulator;
    return new Sequential(
      this.layers.map((layer) => layer.to(pick(layer), sums(layer))),
      this.#options(),
    );
  }

  /**
   * The same network (parameters copied) with every layer on kernel path `path`.
   *
   * @example The TypeScript reference, whatever the runtime offers
   * ```ts
   * import { deepConvNet } from "@halfprec/halfprec";
   * import assert from "node:assert/strict";
   * const reference = deepConvNet().withKernels("typescript");
   * assert.ok(reference.layers.every((layer) => layer.kernels === "typescript"));
   * ```
   */
  withKernels(path: KernelPath): Sequential {
    return new Sequential(
      this.layers.map((layer) => layer.withKernels?.(path) ?? layer.to(layer.storage)),
      this.#options(),
    );
  }

  /**
   * For every layer in order, the code its forward pass runs and how its sums are accumulated,
   * when the network's input is stored in `input` (each later layer's input is stored in the
   * format of the layer before it).
   *
   * @example
   * ```ts
   * import { deepConvNet, f16 } from "@halfprec/halfprec";
   * import assert from "node:assert/strict";
   * const [conv1] = deepConvNet().to(f16).withKernels("typescript").arithmetic(f16);
   * assert.deepEqual(conv1, { layer: "conv1", path: "typescript", accumulation: "float64" });
   * ```
   */
  arithmetic(input: Storage): LayerArithmetic[] {
    let storage = input;
    return this.layers.map((layer) => {
      const { path, accumulation } = layer.arithmetic?.(storage) ??
        { path: "typescript", accumulation: "float64" };
      storage = layer.storage;
      return { layer: layer.name, path, accumulation };
    });
  }

  /** The output shape of every layer for an input of `inputShape`. */
  shapes(inputShape: readonly number[]): number[][] {
    const shapes: number[][] = [];
    let shape = inputShape;
    for (const layer of this.layers) shapes.push(shape = layer.outputShape(shape));
    return shapes;
  }

  /** The names, input shape and input format, for a copy of this network. */
  #options(): SequentialOptions {
    const { inputShape, inputFormat } = this;
    return { names: this.layers.map((l) => l.name), inputShape, inputFormat };
  }

  #run(layers: readonly Layer[], input: Tensor, options: ForwardOptions): Tensor {
    const x = this.inputFormat
      ? roundImages(input, this.inputFormat, input.storage, options.firstImage ?? 0)
      : input;
    if (!options.train && drawsRandom(layers)) {
      return forwardPerImage(layers, x, options.firstImage ?? 0, options.trace);
    }
    let y = x;
    for (let i = 0; i < layers.length; i++) {
      const layer = layers[i];
      // Inference runs a layer and the next ones in one pass where it can (see forwardWith).
      const { trace } = options;
      const following = layers.slice(i + 1);
      const fused = options.train ? undefined : layer.forwardWith?.(y, following, !!trace);
      if (fused) {
        if (trace) fused.outputs.forEach((output, j) => trace(layers[i + j], output));
        y = fused.outputs[fused.outputs.length - 1];
        i += fused.fused;
        continue;
      }
      y = layer.forward(y, options.train);
      options.trace?.(layer, y);
    }
    return y;
  }
}
