/**
 * Networks as plain data: layer kinds, options, formats and parameter bytes. A spec can cross a
 * worker boundary (structured clone) or be stored, and rebuilds the same network.
 *
 * @module
 */
import type { Layer } from "./layer.ts";
import { Affine } from "./affine.ts";
import { Conv } from "./conv.ts";
import { Dropout } from "./dropout.ts";
import { Pool } from "./pool.ts";
import { Relu } from "./relu.ts";
import { Sequential } from "./sequential.ts";
import { Softmax } from "./softmax.ts";
import { Scale } from "./scale.ts";
import { Flatten } from "./flatten.ts";
import { ZeroPad } from "./zero_pad.ts";
import { AvgPool } from "./avg_pool.ts";
import { BatchNorm } from "./batch_norm.ts";
import { storageByName } from "./storage/formats.ts";
import type { Storage } from "./storage/storage.ts";
import { Tensor } from "./tensor.ts";
import { type KernelPath, kernelPath } from "./kernel_path.ts";

/**
 * One layer as data.
 *
 * @example
 * ```ts
 * import type { LayerSpec } from "@halfprec/halfprec/layers";
 * const relu: LayerSpec = { kind: "relu", storage: "f16", options: {} };
 * ```
 */
export interface LayerSpec {
  /** `"conv"`, `"relu"`, ... */
  kind: string;
  /** Storage format name. */
  storage: string;
  /** The layer's constructor options, but the storage. */
  options: Record<string, number>;
  /** Format name of the partial sums of conv and affine layers that round them. */
  accumulator?: string;
  /** The layer's kernel path (`"wasm"`, `"typescript"`). @default {defaultKernelPath()} */
  kernels?: string;
}

/**
 * A tensor as data: its format, shape and raw little-endian bytes.
 *
 * @example
 * ```ts
 * import type { TensorSpec } from "@halfprec/halfprec/layers";
 * const one: TensorSpec = { storage: "f32", shape: [1], bytes: new Uint8Array([0, 0, 0x80, 0x3f]) };
 * ```
 */
export interface TensorSpec {
  /** Storage format name. */
  storage: string;
  /** The tensor's shape. */
  shape: number[];
  /** The stored elements' bytes, as in memory on a little-endian machine. */
  bytes: Uint8Array;
}

/**
 * A whole network as data; see {@linkcode networkSpec}.
 *
 * @example
 * ```ts
 * import { type NetworkSpec, networkSpec, Relu, Sequential } from "@halfprec/halfprec/layers";
 * import assert from "node:assert/strict";
 * const spec: NetworkSpec = networkSpec(new Sequential([new Relu({ kernels: "typescript" })]));
 * assert.deepEqual(spec.layers, [{ kind: "relu", storage: "f64", options: {}, kernels: "typescript" }]);
 * assert.deepEqual(spec.names, ["relu1"]);
 * ```
 */
export interface NetworkSpec {
  /** The layers, in order. */
  layers: LayerSpec[];
  /** The layers' names, in order. @default {kind and position, as `Sequential` names them} */
  names?: string[];
  /** The shape of one input example, when the network knows it. */
  inputShape?: number[];
  /** The name of the format the network rounds its input to, when it has one. */
  inputFormat?: string;
  /** Parameters by network name (`W1`). */
  params: Record<string, TensorSpec>;
}

/** What every layer's constructor takes besides its numeric options. */
interface Common {
  storage: Storage;
  accumulator?: Storage;
  kernels: KernelPath;
}

/** The constructors of the built-in layers by kind; a spec names one of these. */
const LAYERS: Record<string, (options: Record<string, number>, common: Common) => Layer> = {
  conv: (o, common) =>
    new Conv({
      inChannels: o.inChannels,
      outChannels: o.outChannels,
      kernel: o.kernel,
      stride: o.stride,
      pad: o.pad,
      kernelWidth: o.kernelWidth,
      strideWidth: o.strideWidth,
      padWidth: o.padWidth,
      activationAmax: o.activationAmax,
      ...common,
    }),
  relu: (_, { storage, kernels }) => new Relu({ storage, kernels }),
  pool: (o, { storage, kernels }) =>
    new Pool({
      size: o.size,
      stride: o.stride,
      pad: o.pad,
      kernelWidth: o.kernelWidth,
      strideWidth: o.strideWidth,
      padWidth: o.padWidth,
      padBottom: o.padBottom,
      padRight: o.padRight,
      storage,
      kernels,
    }),
  dropout: (o, { storage }) => new Dropout({ ratio: o.ratio, seed: o.seed, storage }),
  affine: (o, common) =>
    new Affine({
      inputs: o.inputs,
      outputs: o.outputs,
      activationAmax: o.activationAmax,
      ...common,
    }),
  softmax: (_, { storage }) => new Softmax({ storage }),
  scale: (o, { storage, kernels }) =>
    new Scale({ factor: o.factor, divisor: o.divisor, storage, kernels }),
  flatten: (_, { storage }) => new Flatten({ storage }),
  avgpool: (o, { storage, kernels }) =>
    new AvgPool({ ...o, kernelHeight: o.kernelHeight, storage, kernels }),
  batchnorm: (o, { storage, kernels }) => new BatchNorm({ channels: o.channels, storage, kernels }),
  zeropad: (o, { storage, kernels }) => new ZeroPad({ ...o, storage, kernels }),
};

/**
 * `net` as data (parameters copied).
 *
 * @example A network survives the trip through its spec
 * ```ts
 * import { deepConvNet, f16, networkFromSpec, networkSpec } from "@halfprec/halfprec/layers";
 * import assert from "node:assert/strict";
 * const net = deepConvNet({ seed: 2 }).to(f16);
 * const copy = networkFromSpec(structuredClone(networkSpec(net)));
 * assert.deepEqual(copy.params().get("W5")!.toFloat64(), net.params().get("W5")!.toFloat64());
 * assert.equal(copy.layer("relu3").storage, f16);
 * ```
 */
export function networkSpec(net: Sequential): NetworkSpec {
  const layers = net.layers.map((layer) => {
    const { accumulator } = layer as { accumulator?: Storage };
    return {
      kind: layer.kind,
      storage: layer.storage.name,
      options: { ...layer.options },
      ...(accumulator && { accumulator: accumulator.name }),
      kernels: layer.kernels,
    };
  });
  const params = Object.fromEntries([...net.params()].map(([name, t]) => [name, tensorSpec(t)]));
  const names = net.layers.map((layer) => layer.name);
  return {
    layers,
    names,
    ...(net.inputShape && { inputShape: [...net.inputShape] }),
    ...(net.inputFormat && { inputFormat: net.inputFormat.name }),
    params,
  };
}

/**
 * Rebuilds the network `spec` describes.
 *
 * @throws {RangeError} When a layer kind or storage format is unknown.
 */
export function networkFromSpec(spec: NetworkSpec): Sequential {
  const net = new Sequential(spec.layers.map(layerFromSpec), {
    names: spec.names,
    inputShape: spec.inputShape,
    inputFormat: spec.inputFormat === undefined ? undefined : storageByName(spec.inputFormat),
  });
  const params = net.params();
  for (const [name, t] of Object.entries(spec.params)) {
    const target = params.get(name);
    if (!target) throw new RangeError(`Cannot rebuild the network: no parameter "${name}"`);
    target.set(tensorFromSpec(t).toFloat64());
  }
  return net;
}

/**
 * The layer `spec` describes, its parameters zero.
 *
 * @throws {RangeError} When the layer kind or storage format is unknown, or the options do not
 * make a layer.
 *
 * @example
 * ```ts
 * import { layerFromSpec } from "@halfprec/halfprec/layers";
 * import assert from "node:assert/strict";
 * const pool = layerFromSpec({ kind: "pool", storage: "f16", options: { size: 2 } });
 * assert.deepEqual(pool.outputShape([1, 3, 8, 8]), [1, 3, 4, 4]);
 * ```
 */
export function layerFromSpec(spec: LayerSpec): Layer {
  const make = LAYERS[spec.kind];
  if (!make) {
    throw new RangeError(
      `Unknown layer kind "${spec.kind}": expected one of ${Object.keys(LAYERS).join(", ")}`,
    );
  }
  const accumulator = spec.accumulator === undefined ? undefined : storageByName(spec.accumulator);
  const kernels = kernelPath(spec.kernels);
  return make(spec.options, { storage: storageByName(spec.storage), accumulator, kernels });
}

/**
 * `t` as data, its bytes copied.
 *
 * @example
 * ```ts
 * import { bf16, Tensor, tensorFromSpec, tensorSpec } from "@halfprec/halfprec/layers";
 * import assert from "node:assert/strict";
 * const spec = tensorSpec(Tensor.from(bf16, [2], [1, -2]));
 * assert.deepEqual([...spec.bytes], [0x80, 0x3f, 0x00, 0xc0]);
 * assert.deepEqual([...tensorFromSpec(spec).toFloat64()], [1, -2]);
 * ```
 */
export function tensorSpec(t: Tensor): TensorSpec {
  return { storage: t.storage.name, shape: [...t.shape], bytes: rawBytes(t).slice() };
}

/**
 * The tensor `spec` describes.
 *
 * @example
 * ```ts
 * import { f16, tensorFromSpec } from "@halfprec/halfprec/layers";
 * import assert from "node:assert/strict";
 * const t = tensorFromSpec({ storage: "f16", shape: [1], bytes: new Uint8Array([0x00, 0x3c]) });
 * assert.equal(t.storage, f16);
 * assert.equal(t.toFloat64()[0], 1);
 * ```
 */
export function tensorFromSpec(spec: TensorSpec): Tensor {
  const t = new Tensor(storageByName(spec.storage), spec.shape);
  rawBytes(t).set(spec.bytes);
  return t;
}

/** The bytes under a tensor's elements (a view, not a copy). */
function rawBytes(t: Tensor): Uint8Array {
  return new Uint8Array(t.data.buffer as ArrayBuffer, t.data.byteOffset, t.data.byteLength);
}
