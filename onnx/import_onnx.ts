/**
 * ONNX models as halfprec networks: `importOnnx` reads a model's graph, a chain of the operators
 * CNN classifiers are made of, and builds the same network of halfprec layers, every parameter
 * converted exactly from its initializer, every layer named after its node.
 *
 * What the importer does at import rather than at run time: constant shape computations are
 * folded (see `_fold.ts`), `Dropout` and `Identity` disappear (inference), a `BatchNormalization`
 * right after a `Conv` or `Gemm` is folded into its weights and bias in float64, a `MatMul`
 * followed by the `Add` of a constant becomes one affine layer. Everything it cannot represent
 * exactly is refused in one line naming the model and the node, never imported approximately.
 *
 * @module
 */
import type onnxProto from "onnx-proto";
import { DataError } from "../data/data_error.ts";
import type { LayerSpec } from "../layers/spec.ts";
import { layerFromSpec, networkFromSpec } from "../layers/spec.ts";
import { Sequential } from "../layers/sequential.ts";
import { AvgPool, type AvgPoolOptions } from "../layers/avg_pool.ts";
import type { Storage } from "../layers/storage/storage.ts";
import type { Tensor } from "../layers/tensor.ts";
import { Attributes } from "./_attributes.ts";
import { fold, foldable, FOLDED_ATTRIBUTES } from "./_fold.ts";
import {
  type Constant,
  constantOf,
  dataTypeName,
  decodeModel,
  type Dim,
  FLOAT_TYPES,
  int,
} from "./_proto.ts";

type NodeProto = onnxProto.onnx.INodeProto;

/** Options of {@linkcode importOnnx}. */
export interface ImportOnnxOptions {
  /** What error messages call the model: its file name. @default {"the ONNX model"} */
  source?: string;
  /**
   * The format of every layer. Parameters are converted from their initializers once, so that
   * a float32 model imported in f64 holds exactly its float32 values, and folded batch
   * normalisations are rounded once.
   * @default {each layer in the format of its initializers; layers without any in the format
   * of the layer before them, or of the graph's input}
   */
  storage?: Storage;
  /**
   * Values for graph inputs that hold weights rather than data, by input name: ONNX's own test
   * cases give a convolution's weights as a second graph input.
   */
  weights?: ReadonlyMap<string, Tensor>;
}

/** The ONNX operators the importer reads, each with the attributes it understands. */
const ATTRIBUTES: Readonly<Record<string, readonly string[]>> = {
  ...FOLDED_ATTRIBUTES,
  Add: [],
  BatchNormalization: [
    "epsilon",
    "momentum",
    "spatial",
    "is_test",
    "consumed_inputs",
    "training_mode",
  ],
  Conv: ["auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"],
  Div: [],
  Dropout: ["ratio", "seed", "is_test", "consumed_inputs"],
  Flatten: ["axis"],
  Gemm: ["alpha", "beta", "transA", "transB", "broadcast"],
  MatMul: [],
  AveragePool: [
    "auto_pad",
    "ceil_mode",
    "count_include_pad",
    "dilations",
    "kernel_shape",
    "pads",
    "strides",
  ],
  GlobalAveragePool: [],
  MaxPool: [
    "auto_pad",
    "ceil_mode",
    "dilations",
    "kernel_shape",
    "pads",
    "storage_order",
    "strides",
  ],
  Mul: [],
  Pad: ["mode", "pads", "paddings", "value"],
  Relu: [],
  Reshape: ["allowzero"],
  Softmax: ["axis"],
};

/**
 * The ONNX operators {@linkcode importOnnx} reads (the default domain), sorted; everything else
 * is refused.
 *
 * @example
 * ```ts
 * import { ONNX_OPERATORS } from "@halfprec/halfprec/onnx";
 * import assert from "node:assert/strict";
 *
 * assert.ok(ONNX_OPERATORS.includes("Conv"));
 * ```
 */
export const ONNX_OPERATORS: readonly string[] = Object.keys(ATTRIBUTES).sort();

/** The operators a pending Pad of zeros may fold into (a second Pad adds to it). */
const FOLDS_PAD: ReadonlySet<string> = new Set([
  "Conv",
  "MaxPool",
  "AveragePool",
  "GlobalAveragePool",
  "Pad",
]);

/**
 * The opsets of the default domain the importer reads. Each operator is read in its version for
 * the model's opset; what older versions add (`is_test` defaulting to training, `broadcast`,
 * `consumed_inputs`, a `Cast` to a type named by a string) is refused or checked per operator.
 */
const OPSETS = { min: 1, max: 21 };

/** A layer to be made, with its parameters in float64 until then (folds change them). */
interface Planned {
  name: string;
  spec: LayerSpec;
  params?: Record<string, Float64Array>;
  /** The ONNX operator it came from, for folds that depend on it. */
  op: string;
}

/**
 * The network an ONNX model describes.
 *
 * The graph must be a chain: one data input of shape (N, C, H, W) or (N, features), each node
 * reading the output of the one before (and constants), one output. Supported operators, with
 * opsets 1 to 21: Conv (group 1, dilation 1, any kernel and strides; pads that differ
 * per side as a zeropad layer before it), MaxPool (any window, pads per side below its extent,
 * ceil_mode), AveragePool (any
 * window, pads, count_include_pad, ceil_mode), GlobalAveragePool, Relu, Gemm, MatMul (with an
 * Add of a constant), Flatten and Reshape to (N, -1), Softmax over the last axis, Dropout and
 * Identity (nothing at inference), BatchNormalization (folded into a Conv or Gemm before it,
 * else a layer of its own), Mul and Div by a scalar constant, Cast to a float type (rounds to
 * it), Pad of zeros on H and W (folded into the Conv or pool after it where that is exact,
 * else a zeropad layer), and the constant computations Constant, Shape, Gather, Unsqueeze,
 * Squeeze, Concat and Cast.
 *
 * @param bytes The model file's bytes (a serialized ModelProto).
 * @param options See {@linkcode ImportOnnxOptions}.
 * @returns The network, its layers named after the nodes and its `inputShape` that of one
 * example.
 * @throws {DataError} When the bytes are not an ONNX model, or the model has no graph, an
 * operator or attribute the importer does not support (all of them listed), external data, a
 * branch, or an input that is not (N, C, H, W) or (N, features). The message names the model
 * and the node.
 *
 * @example A one-layer model written by hand
 * ```ts
 * import { importOnnx, tensor } from "@halfprec/halfprec";
 * import onnxProto from "onnx-proto";
 * import assert from "node:assert/strict";
 *
 * const { onnx } = onnxProto;
 * const bytes = onnx.ModelProto.encode({
 *   irVersion: 8,
 *   opsetImport: [{ domain: "", version: 13 }],
 *   graph: {
 *     node: [{ name: "fc", opType: "Gemm", input: ["x", "W", "b"], output: ["y"] }],
 *     initializer: [
 *       { name: "W", dims: [2, 1], dataType: 1, floatData: [2, 3] },
 *       { name: "b", dims: [1], dataType: 1, floatData: [1] },
 *     ],
 *     input: [{
 *       name: "x",
 *       type: { tensorType: { elemType: 1, shape: { dim: [{ dimParam: "N" }, { dimValue: 2 }] } } },
 *     }],
 *     output: [{ name: "y" }],
 *   },
 * }).finish();
 * const net = importOnnx(bytes, { source: "fc.onnx" });
 * assert.equal(net.layers[0].name, "fc");
 * assert.deepEqual(net.inputShape, [2]);
 * assert.deepEqual([...net.forward(tensor([1, 2], [10, 100])).toFloat64()], [321]);
 * ```
 */
export function importOnnx(bytes: Uint8Array, options: ImportOnnxOptions = {}): Sequential {
  const source = options.source ?? "the ONNX model";
  const model = decodeModel(bytes, source);
  const graph = model.graph;
  if (!graph || !(graph.node?.length)) {
    throw new DataError(source, {
      field: "graph",
      expected: "a graph of nodes",
      found: graph ? "a graph without nodes" : "none",
    });
  }
  return new Importer(source, opsetOf(model, source), options).run(graph);
}

/** The model's opset of the default domain. */
function opsetOf(model: onnxProto.onnx.ModelProto, source: string): number {
  const entry = model.opsetImport.find((o) => !o.domain || o.domain === "ai.onnx");
  const version = int(entry?.version);
  if (!entry || version < OPSETS.min || version > OPSETS.max) {
    throw new DataError(source, {
      field: "opset_import",
      expected: `an ai.onnx opset from ${OPSETS.min} to ${OPSETS.max}`,
      found: entry ? `${version}` : "none",
    });
  }
  return version;
}

/** The walk along a graph's chain of nodes, planning layers. */
class Importer {
  readonly #source: string;
  readonly #opset: number;
  readonly #options: ImportOnnxOptions;
  readonly #constants = new Map<string, Constant>();
  /** Every data value so far, by name, with its shape (the batch as "N"). */
  readonly #shapes = new Map<string, Dim[]>();
  /** Outputs the importer does not compute (a pool's indices), by name: the node's label. */
  readonly #unsupported = new Map<string, string>();
  /** Who read each data value, by name: the label of the node. */
  readonly #readers = new Map<string, string>();
  readonly #planned: Planned[] = [];
  /** The data value the next node must read, and the format it is stored in. */
  #current = "";
  #format!: Storage;
  /** The batch size the graph's input states, when it states one. */
  #batch?: number;
  /** A Pad of zeros waiting for the conv or pool it folds into. */
  #pad?: PendingPad;

  constructor(source: string, opset: number, options: ImportOnnxOptions) {
    this.#source = source;
    this.#opset = opset;
    this.#options = options;
  }

  run(graph: onnxProto.onnx.IGraphProto): Sequential {
    const nodes = graph.node ?? [];
    this.#refuseUnsupported(nodes);
    for (const init of graph.initializer ?? []) {
      this.#constants.set(
        init.name ?? "",
        constantOf(init, this.#source, `initializer "${init.name}"`),
      );
    }
    const inputShape = this.#input(graph.input ?? []);
    nodes.forEach((node, i) => this.#node(node, i));
    this.#flushPad();
    this.#output(graph.output ?? []);
    return this.#build(inputShape);
  }

  /** One DataError listing every node whose operator is not supported. */
  #refuseUnsupported(nodes: readonly NodeProto[]): void {
    const unsupported = new Map<string, string[]>();
    nodes.forEach((node, i) => {
      const domain = node.domain && node.domain !== "ai.onnx" ? `${node.domain}.` : "";
      const op = `${domain}${node.opType}`;
      if (domain || !((node.opType ?? "") in ATTRIBUTES)) {
        unsupported.set(op, [...unsupported.get(op) ?? [], node.name ? `"${node.name}"` : `${i}`]);
      }
    });
    if (unsupported.size === 0) return;
    const found = [...unsupported].map(([op, names]) => `${op} (node ${names.join(", ")})`);
    throw new DataError(this.#source, {
      field: "operators",
      expected: `only ${ONNX_OPERATORS.join(", ")}`,
      found: found.join("; "),
    });
  }

  /** Binds weight inputs, checks the one data input and returns the shape of one example. */
  #input(inputs: readonly onnxProto.onnx.IValueInfoProto[]): number[] {
    const data = [];
    for (const input of inputs) {
      const name = input.name ?? "";
      const weight = this.#options.weights?.get(name);
      if (weight) this.#constants.set(name, { kind: "float", tensor: weight });
      else if (!this.#constants.has(name)) data.push(input);
    }
    if (data.length !== 1) {
      throw new DataError(this.#source, {
        field: "graph inputs",
        expected: "one data input besides the initializers",
        found: data.length ? data.map((d) => `"${d.name}"`).join(", ") : "none",
      });
    }
    const [input] = data;
    const tensorType = input.type?.tensorType;
    const field = `input "${input.name}"`;
    const storage = FLOAT_TYPES.get(tensorType?.elemType ?? 0);
    if (!storage) {
      throw new DataError(this.#source, {
        field: `${field} type`,
        expected: "a float tensor (FLOAT, DOUBLE, FLOAT16, BFLOAT16)",
        found: tensorType ? dataTypeName(tensorType.elemType ?? 0) : "no tensor type",
      });
    }
    const dims = tensorType?.shape?.dim ?? [];
    const rest = dims.slice(1).map((d) => int(d.dimValue));
    const described = dims.map((d) => d.dimParam || (d.dimValue ? int(d.dimValue) : "?"));
    if (!(dims.length === 2 || dims.length === 4) || rest.some((d) => d <= 0)) {
      throw new DataError(this.#source, {
        field: `${field} shape`,
        expected: "(N, C, H, W) or (N, features), all but N known",
        found: `[${described.join(", ")}]`,
      });
    }
    if (dims[0].dimValue) this.#batch = int(dims[0].dimValue);
    this.#current = input.name ?? "";
    this.#shapes.set(this.#current, ["N", ...rest]);
    this.#format = this.#options.storage ?? storage;
    return rest;
  }

  /** Folds a node of constants, or plans the layer for a node on the chain. */
  #node(node: NodeProto, index: number): void {
    const op = node.opType ?? "";
    const a = new Attributes(node, index, this.#source, ATTRIBUTES[op]);
    const names = node.input ?? [];
    const dataAt: number[] = [];
    const constants = names.map((name, i) => {
      if (name === "") return undefined;
      const constant = this.#constants.get(name);
      if (constant) return constant;
      if (this.#shapes.has(name)) {
        if (op === "Shape") return this.#shapeOf(a, name);
        dataAt.push(i);
        return undefined;
      }
      const producer = this.#unsupported.get(name);
      return a.refuse(
        `input "${name}"`,
        producer ? "an output the importer computes" : "a value made by an earlier node",
        producer ? `an output of ${producer}` : "none",
      );
    });
    const outputs = node.output ?? [];
    if (dataAt.length === 0) {
      if (!foldable(op)) a.refuse("inputs", "a data input", "constants only");
      this.#constants.set(outputs[0], fold(op, a, constants, this.#source, this.#opset));
      this.#markUnsupported(outputs.slice(1), a.label);
      return;
    }
    const readsChain = dataAt.length === 1 && names[dataAt[0]] === this.#current;
    if (!readsChain) {
      const older = dataAt.map((i) => names[i]).find((name) => name !== this.#current);
      a.refuse(
        `input "${older ?? this.#current}"`,
        "a chain of nodes, each reading the output of the one before",
        older
          ? `a branch: "${older}" is also read by ${this.#readers.get(older) ?? "an earlier node"}`
          : `"${this.#current}" read ${dataAt.length} times`,
      );
    }
    this.#readers.set(this.#current, a.label);
    const shape = this.#shapes.get(this.#current)!;
    const name = node.name || `${op}${index}`;
    if (!FOLDS_PAD.has(op)) this.#flushPad();
    const out = this.#layer(op, a, name, shape, dataAt[0], constants) ?? shape;
    this.#current = outputs[0];
    this.#shapes.set(this.#current, out);
    this.#markUnsupported(outputs.slice(1), a.label);
  }

  /** The shape of data value `name`, as a constant (ONNX's `Shape`, with its start and end). */
  #shapeOf(a: Attributes, name: string): Constant {
    const shape = this.#shapes.get(name)!;
    const clamp = (i: number) => Math.min(Math.max(i < 0 ? i + shape.length : i, 0), shape.length);
    const values = shape.slice(clamp(a.int("start", 0)), clamp(a.int("end", shape.length)));
    return { kind: "int", shape: [values.length], values };
  }

  #markUnsupported(names: readonly string[], label: string): void {
    for (const name of names) if (name) this.#unsupported.set(name, label);
  }

  /**
   * Plans the layer node `a` computes from data of `shape` (input `at` of the node) and returns
   * the output's shape; `undefined` when the output is the input (nothing planned).
   */
  #layer(
    op: string,
    a: Attributes,
    name: string,
    shape: Dim[],
    at: number,
    inputs: readonly (Constant | undefined)[],
  ): Dim[] | undefined {
    switch (op) {
      case "Identity":
        return undefined;
      case "Dropout": {
        const training = inputs[2];
        if (training && (training.kind !== "int" || training.values[0] !== 0)) {
          a.refuse('input "training_mode"', "false (inference)", "true");
        }
        this.#inference(a);
        return undefined;
      }
      case "Relu":
        return this.#plan(a, name, op, shape, { kind: "relu", options: {} });
      case "Softmax": {
        const axis = a.int("axis", this.#opset >= 13 ? -1 : 1);
        const last = shape.length - 1;
        a.require("axis", axis, axis === last || axis === -1, `the last axis (${last} or -1)`);
        return this.#plan(a, name, op, shape, { kind: "softmax", options: {} });
      }
      case "Cast": {
        const storage = FLOAT_TYPES.get(a.int("to", 0));
        if (!storage) {
          a.refuse('attribute "to"', "a float type", dataTypeName(a.int("to", 0)));
        }
        this.#format = this.#options.storage ?? storage!;
        return this.#plan(a, name, op, shape, {
          kind: "scale",
          options: { factor: 1, divisor: 1 },
        });
      }
      case "Mul":
      case "Div": {
        const factor = scalar(a, inputs[1 - at], `input ${1 - at}`);
        if (op === "Div" && at !== 0) a.refuse("input 0", "the data (x / c)", "a constant (c / x)");
        const options = op === "Mul" ? { factor, divisor: 1 } : { factor: 1, divisor: factor };
        return this.#plan(a, name, op, shape, { kind: "scale", options });
      }
      case "Flatten": {
        const axis = a.int("axis", 1);
        a.require("axis", axis, axis === 1 || axis === 1 - shape.length, "1 (keep the batch)");
        return this.#flatten(a, name, op, shape);
      }
      case "Reshape":
        return this.#reshape(a, name, op, shape, inputs[1]);
      case "Conv":
        return this.#conv(a, name, shape, inputs);
      case "MaxPool":
        return this.#maxPool(a, name, shape);
      case "AveragePool":
      case "GlobalAveragePool":
        return this.#avgPool(a, name, shape, op === "GlobalAveragePool");
      case "Gemm":
        return this.#gemm(a, name, shape, inputs);
      case "MatMul": {
        this.#rank(a, shape, 2);
        const w = weights(a, inputs[1], "input 1", 2);
        const [k, n] = w.tensor.shape;
        this.#format = this.#options.storage ?? w.tensor.storage;
        const params = { W: w.tensor.toFloat64(), b: new Float64Array(n) };
        return this.#plan(a, name, op, shape, {
          kind: "affine",
          options: { inputs: k, outputs: n },
        }, params);
      }
      case "Add":
        return this.#add(a, inputs[1 - at]);
      case "Pad":
        return this.#padding(a, name, shape, inputs);
      case "BatchNormalization":
        return this.#batchNorm(a, name, shape, inputs);
    }
    return a.refuse("inputs", "constants only", "a data input");
  }

  /** Adds planned layer `spec` in the current format; returns its output shape. */
  #plan(
    a: Attributes,
    name: string,
    op: string,
    shape: Dim[],
    layer: Omit<LayerSpec, "storage">,
    params?: Planned["params"],
  ): Dim[] {
    const spec = { ...layer, storage: this.#format.name };
    let out: number[];
    try {
      out = layerFromSpec(spec).outputShape([1, ...shape.slice(1) as number[]]);
    } catch (error) {
      return a.refuse("input", "an input the layer can take", (error as Error).message);
    }
    const taken = new Set(this.#planned.map((p) => p.name));
    let unique = name;
    for (let k = 2; taken.has(unique); k++) unique = `${name}:${k}`;
    this.#planned.push({ name: unique, spec, params, op });
    return ["N", ...out.slice(1)];
  }

  #rank(a: Attributes, shape: Dim[], rank: number): void {
    if (shape.length !== rank) {
      a.refuse("input", rank === 4 ? "(N, C, H, W)" : "(N, features)", `[${shape}]`);
    }
  }

  #flatten(a: Attributes, name: string, op: string, shape: Dim[]): Dim[] | undefined {
    if (shape.length === 2) return undefined;
    return this.#plan(a, name, op, shape, { kind: "flatten", options: {} });
  }

  #reshape(
    a: Attributes,
    name: string,
    op: string,
    shape: Dim[],
    target?: Constant,
  ): Dim[] | undefined {
    if (!target || target.kind !== "int") return a.refuse("input 1", "a constant shape", "none");
    const size = shape.slice(1).reduce((p: number, d) => p * (d as number), 1);
    const dims = target.values.map((d, i) => d === 0 && a.int("allowzero", 0) === 0 ? shape[i] : d);
    const batch = dims[0] === "N" || (this.#batch !== undefined && dims[0] === this.#batch);
    const rest = dims.slice(1);
    if (batch && rest.length === 1 && (rest[0] === -1 || rest[0] === size)) {
      return this.#flatten(a, name, op, shape);
    }
    const same = batch && rest.length === shape.length - 1 &&
      rest.every((d, i) =>
        d === shape[i + 1] || (d === -1 && rest.filter((e) => e === -1).length === 1)
      );
    if (same) return undefined;
    return a.refuse("input 1", "a shape (N, -1) or the input's own", `[${target.values}]`);
  }

  /**
   * A window's extents, strides and pads (top, left, bottom, right) from the attributes, with
   * `auto_pad` resolved; dilation must be 1.
   */
  #geometry(a: Attributes, shape: Dim[], kernel: readonly number[]): Geometry {
    const dilations = a.ints("dilations", [1, 1])!;
    a.require("dilations", dilations, dilations.every((d) => d === 1), "1 on both axes");
    const kernelShape = a.ints("kernel_shape", kernel)!;
    a.require("kernel_shape", kernelShape, kernelShape.join() === kernel.join(), `[${kernel}]`);
    const strides = a.ints("strides", [1, 1])!;
    a.require("strides", strides, strides.length === 2, "two strides");
    const autoPad = a.string("auto_pad", "NOTSET");
    let pads = a.ints("pads", [0, 0, 0, 0])!;
    if (autoPad === "VALID") pads = [0, 0, 0, 0];
    else if (autoPad === "SAME_UPPER" || autoPad === "SAME_LOWER") {
      const [before, after] = [0, 1].map((axis) => {
        const extent = shape[axis + 2] as number;
        const total = Math.max(
          (Math.ceil(extent / strides[axis]) - 1) * strides[axis] + kernel[axis] - extent,
          0,
        );
        const small = Math.floor(total / 2);
        return autoPad === "SAME_UPPER" ? [small, total - small] : [total - small, small];
      });
      pads = [before[0], after[0], before[1], after[1]];
    } else {
      const known = "NOTSET, VALID, SAME_UPPER or SAME_LOWER";
      a.require("auto_pad", autoPad, autoPad === "NOTSET", known);
    }
    a.require("pads", pads, pads.length === 4, "four pads");
    return { kernel: [kernel[0], kernel[1]], strides: [strides[0], strides[1]], pads };
  }

  /**
   * The window as conv and max pool take it: extents and strides per axis, the same pad above
   * and below, and the same left and right (the layer keeps `kernelWidth`, `strideWidth` and
   * `padWidth` only where they differ from the height's).
   */
  #window(
    a: Attributes,
    name: string,
    g: Geometry,
    shape: Dim[],
    kind: "conv" | "pool",
  ): { window: Record<string, number>; shape: Dim[] } {
    const [size, kernelWidth] = g.kernel;
    const [stride, strideWidth] = g.strides;
    const window = { size, kernelWidth, stride, strideWidth };
    const [top, left, bottom, right] = g.pads;
    if (top === bottom && left === right) {
      return { window: { ...window, pad: top, padWidth: left }, shape };
    }
    // A max pool takes a border of its own on each side; a conv's pads that differ become a
    // zeropad layer before it.
    if (kind === "pool") {
      const inside = g.pads.every((p, i) => p < g.kernel[i % 2]);
      a.require("pads", g.pads, inside, "pads below the window's extent");
      const pads = { pad: top, padWidth: left, padBottom: bottom, padRight: right };
      return { window: { ...window, ...pads }, shape };
    }
    const padded = this.#plan(a, `${name}:pad`, "Pad", shape, {
      kind: "zeropad",
      options: { top, left, bottom, right },
    });
    return { window: { ...window, pad: 0, padWidth: 0 }, shape: padded };
  }

  #conv(
    a: Attributes,
    name: string,
    shape: Dim[],
    inputs: readonly (Constant | undefined)[],
  ): Dim[] {
    this.#rank(a, shape, 4);
    a.require("group", a.int("group", 1), a.int("group", 1) === 1, "1");
    const w = weights(a, inputs[1], "input 1", 4);
    const [outC, inC, kh, kw] = w.tensor.shape;
    const g = this.#folded(this.#geometry(a, shape, [kh, kw]));
    this.#format = this.#options.storage ?? w.tensor.storage;
    const input = this.#window(a, name, g, this.#unpadded(shape), "conv");
    const b = inputs[2]
      ? weights(a, inputs[2], "input 2", 1).tensor.toFloat64()
      : new Float64Array(outC);
    const { size: kernel, ...window } = input.window;
    const options = { inChannels: inC, outChannels: outC, kernel, ...window };
    return this.#plan(a, name, "Conv", input.shape, { kind: "conv", options }, {
      W: w.tensor.toFloat64(),
      b,
    });
  }

  #maxPool(a: Attributes, name: string, shape: Dim[]): Dim[] {
    this.#rank(a, shape, 4);
    // Max pooling pads with -Infinity: a Pad's zeros fold into it only where no value is below
    // them; elsewhere they stay a zeropad layer.
    if (this.#planned.at(-1)?.spec.kind !== "relu") this.#flushPad();
    let g = this.#folded(this.#geometry(a, shape, this.#kernel(a)));
    const unpadded = this.#unpadded(shape);
    if (a.int("ceil_mode", 0) === 1) {
      // The last windows, partly past the input, as windows over more pads below and right.
      const planes = [1, 1, ...unpadded.slice(2) as number[]];
      const out = new AvgPool({ ...avgPoolOptions(g), ceilMode: 1 }).outputShape(planes);
      const extra = [0, 1].map((axis) =>
        Math.max(
          (out[axis + 2] - 1) * g.strides[axis] + g.kernel[axis] -
            (planes[axis + 2] + g.pads[axis] + g.pads[axis + 2]),
          0,
        )
      );
      g = { ...g, pads: g.pads.map((p, i) => i < 2 ? p : p + extra[i - 2]) };
    }
    const input = this.#window(a, name, g, unpadded, "pool");
    return this.#plan(a, name, "MaxPool", input.shape, { kind: "pool", options: input.window });
  }

  /** The two extents of attribute `kernel_shape`. */
  #kernel(a: Attributes): number[] {
    const kernel = a.ints("kernel_shape", undefined);
    if (!kernel || kernel.length !== 2) {
      a.refuse('attribute "kernel_shape"', "two extents", `${kernel ?? "none"}`);
    }
    return kernel!;
  }

  #avgPool(a: Attributes, name: string, shape: Dim[], global: boolean): Dim[] {
    this.#rank(a, shape, 4);
    let countIncludePad = a.int("count_include_pad", 0);
    const ceilMode = a.int("ceil_mode", 0);
    // A Pad's zeros are data, counted in every average: they fold only where the node's own
    // pads are counted too, and no window reaches past them (ceil mode).
    const own = global ? [0] : this.#geometry(a, shape, this.#kernel(a)).pads;
    const counted = countIncludePad === 1 || own.every((p) => p === 0);
    if (!(counted && ceilMode === 0)) this.#flushPad();
    if (this.#pad) countIncludePad = 1;
    const g = this.#folded(
      global
        ? { kernel: shape.slice(2) as number[], strides: [1, 1], pads: [0, 0, 0, 0] }
        : this.#geometry(a, shape, this.#kernel(a)),
    );
    const options = { ...avgPoolOptions(g), countIncludePad, ceilMode };
    return this.#plan(
      a,
      name,
      global ? "GlobalAveragePool" : "AveragePool",
      this.#unpadded(shape),
      { kind: "avgpool", options },
    );
  }

  /**
   * A Pad of zeros (mode "constant", value 0) on the two spatial axes, held until the conv or
   * pool after it takes its pads; returns the padded shape.
   */
  #padding(
    a: Attributes,
    name: string,
    shape: Dim[],
    inputs: readonly (Constant | undefined)[],
  ): Dim[] {
    this.#rank(a, shape, 4);
    const mode = a.string("mode", "constant");
    a.require("mode", mode, mode === "constant", '"constant"');
    let pads: readonly Dim[] | undefined;
    let value = 0;
    if (this.#opset >= 11) {
      const given = inputs[1];
      if (!given || given.kind !== "int") a.refuse("input 1", "constant pads", "none");
      pads = given.values;
      if (inputs[2]) value = scalar(a, inputs[2], "input 2");
      if (inputs[3]) a.refuse("input 3", "no axes (all axes padded)", "axes");
    } else {
      pads = a.ints(this.#opset < 2 ? "paddings" : "pads", undefined);
      value = a.float("value", 0);
    }
    if (value !== 0) a.refuse("value", "0 (zeros)", `${value}`);
    const p = (pads ?? []) as number[];
    const spatial = p.length === 8 && [0, 1, 4, 5].every((i) => p[i] === 0) &&
      p.every((v) => typeof v === "number" && v >= 0);
    if (!spatial) a.refuse("pads", "8 pads, none negative, 0 on N and C", `[${pads}]`);
    const before = this.#pad;
    const sides = [p[2], p[3], p[6], p[7]].map((v, i) => v + (before?.pads[i] ?? 0));
    this.#pad = { pads: sides, shape: before?.shape ?? shape, node: before?.node ?? { a, name } };
    const [c, h, w] = shape.slice(1) as number[];
    return ["N", c, h + p[2] + p[6], w + p[3] + p[7]];
  }

  /** A pending Pad that folds into nothing, as a zeropad layer. */
  #flushPad(): void {
    const pad = this.#pad;
    if (!pad) return;
    this.#pad = undefined;
    const [top, left, bottom, right] = pad.pads;
    this.#plan(pad.node.a, pad.node.name, "Pad", pad.shape, {
      kind: "zeropad",
      options: { top, left, bottom, right },
    });
  }

  /** Window `g` with the pads of a pending Pad added (the Pad is then folded). */
  #folded(g: Geometry): Geometry {
    const pad = this.#pad;
    if (!pad) return g;
    return { ...g, pads: g.pads.map((p, i) => p + pad.pads[i]) };
  }

  /** The shape before a pending Pad, which is folded once the layer is planned. */
  #unpadded(shape: Dim[]): Dim[] {
    const pad = this.#pad;
    this.#pad = undefined;
    return pad?.shape ?? shape;
  }

  #gemm(
    a: Attributes,
    name: string,
    shape: Dim[],
    inputs: readonly (Constant | undefined)[],
  ): Dim[] {
    this.#rank(a, shape, 2);
    a.require("transA", a.int("transA", 0), a.int("transA", 0) === 0, "0 (examples as rows)");
    const w = weights(a, inputs[1], "input 1", 2);
    const transB = a.int("transB", 0) === 1;
    const [rows, columns] = w.tensor.shape;
    const [k, n] = transB ? [columns, rows] : [rows, columns];
    const alpha = a.float("alpha", 1);
    const beta = a.float("beta", 1);
    const values = w.tensor.toFloat64();
    const W = new Float64Array(k * n);
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < n; j++) W[i * n + j] = alpha * values[transB ? j * k + i : i * n + j];
    }
    const b = new Float64Array(n);
    if (inputs[2]) {
      const c = weights(a, inputs[2], "input 2").tensor;
      const perOutput = c.size === n && c.shape.filter((d) => d !== 1).length <= 1;
      if (!(c.size === 1 || perOutput)) {
        a.refuse("input 2", `a bias of ${n} or 1 values`, `[${c.shape}]`);
      }
      const cv = c.toFloat64();
      for (let j = 0; j < n; j++) b[j] = beta * cv[c.size === 1 ? 0 : j];
    }
    this.#format = this.#options.storage ?? w.tensor.storage;
    return this.#plan(a, name, "Gemm", shape, {
      kind: "affine",
      options: { inputs: k, outputs: n },
    }, { W, b });
  }

  /** The Add of a constant bias after a MatMul, folded into it. */
  #add(a: Attributes, bias?: Constant): undefined {
    const last = this.#planned.at(-1);
    if (!(last?.op === "MatMul" && bias)) {
      return a.refuse("input", "the output of a MatMul, plus a constant", "something else");
    }
    const values = weights(a, bias, "bias").tensor.toFloat64();
    const b = last.params!.b;
    if (!(values.length === b.length || values.length === 1)) {
      a.refuse("input", `a bias of ${b.length} values`, `${values.length} values`);
    }
    for (let j = 0; j < b.length; j++) b[j] += values[values.length === 1 ? 0 : j];
    last.op = "MatMul+Add";
    return undefined;
  }

  /**
   * A batch normalisation: folded into the conv or affine layer just before it, in float64, or
   * else a layer of its own with the statistics folded into a scale and shift per channel.
   */
  #batchNorm(
    a: Attributes,
    name: string,
    shape: Dim[],
    inputs: readonly (Constant | undefined)[],
  ): Dim[] | undefined {
    a.require("spatial", a.int("spatial", 1), a.int("spatial", 1) === 1, "1");
    this.#inference(a);
    a.require("training_mode", a.int("training_mode", 0), a.int("training_mode", 0) === 0, "0");
    if (shape.length < 2) a.refuse("input", "(N, C, ...)", `[${shape}]`);
    const channels = shape[1] as number;
    const [gamma, beta, mean, variance] = [1, 2, 3, 4].map((i) => {
      const v = weights(a, inputs[i], `input ${i}`).tensor.toFloat64();
      if (v.length !== channels) a.refuse(`input ${i}`, `${channels} values`, `${v.length}`);
      return v;
    });
    const epsilon = a.float("epsilon", 1e-5);
    const scale = gamma.map((g, c) => g / Math.sqrt(variance[c] + epsilon));
    const shift = beta.map((b, c) => b - mean[c] * scale[c]);
    const producer = this.#planned.at(-1);
    if (!(producer?.spec.kind === "conv" || producer?.spec.kind === "affine")) {
      this.#format = this.#options.storage ?? weights(a, inputs[1], "input 1").tensor.storage;
      const layer = { kind: "batchnorm", options: { channels } };
      return this.#plan(a, name, "BatchNormalization", shape, layer, { scale, shift });
    }
    const { W, b } = producer.params!;
    const perChannel = W.length / channels;
    const affine = producer.spec.kind === "affine";
    for (let c = 0; c < channels; c++) {
      for (let k = 0; k < perChannel; k++) {
        W[affine ? k * channels + c : c * perChannel + k] *= scale[c];
      }
      b[c] = b[c] * scale[c] + shift[c];
    }
    producer.op += "+BatchNormalization";
    return undefined;
  }

  /** Refuses training mode where opsets before 7 set it: `is_test` 0, its default there. */
  #inference(a: Attributes): void {
    const isTest = a.int("is_test", this.#opset < 7 ? 0 : 1);
    a.require("is_test", isTest, isTest === 1, "1 (inference; 0 is the default before opset 7)");
  }

  /** Checks that the one graph output is the end of the chain. */
  #output(outputs: readonly onnxProto.onnx.IValueInfoProto[]): void {
    const names = outputs.map((o) => o.name ?? "");
    if (names.length !== 1 || names[0] !== this.#current) {
      throw new DataError(this.#source, {
        field: "graph outputs",
        expected: `one output, the end of the chain ("${this.#current}")`,
        found: names.map((n) => `"${n}"`).join(", ") || "none",
      });
    }
  }

  /** The network: a flatten right before an affine layer is dropped (affine reads rows). */
  #build(inputShape: number[]): Sequential {
    const planned = this.#planned.filter((p, i) =>
      !(p.spec.kind === "flatten" && this.#planned[i + 1]?.spec.kind === "affine")
    );
    const net = networkFromSpec({
      layers: planned.map((p) => p.spec),
      names: planned.map((p) => p.name),
      inputShape,
      params: {},
    });
    planned.forEach((p, i) => {
      if (!p.params) return;
      for (const [key, values] of Object.entries(p.params)) net.layers[i].params[key].set(values);
    });
    return new Sequential(net.layers, { names: planned.map((p) => p.name), inputShape });
  }
}

/** A Pad of zeros to fold into the next conv or pool. */
interface PendingPad {
  /** Top, left, bottom, right. */
  pads: number[];
  /** The shape of the data before the Pad. */
  shape: Dim[];
  /** The (first) Pad node: its attributes, for errors, and its name. */
  node: { a: Attributes; name: string };
}

/** A window: extents and strides (rows, columns), pads (top, left, bottom, right). */
interface Geometry {
  kernel: number[];
  strides: number[];
  pads: number[];
}

/** The options of an average pool over window `g`. */
function avgPoolOptions(g: Geometry): Required<Omit<AvgPoolOptions, "storage" | "kernels">> {
  const [padTop, padLeft, padBottom, padRight] = g.pads;
  return {
    kernelHeight: g.kernel[0],
    kernelWidth: g.kernel[1],
    strideHeight: g.strides[0],
    strideWidth: g.strides[1],
    padTop,
    padLeft,
    padBottom,
    padRight,
    countIncludePad: 0,
    ceilMode: 0,
  };
}

/** The float tensor `c`, of `rank` dimensions when given. */
function weights(
  a: Attributes,
  c: Constant | undefined,
  what: string,
  rank?: number,
): { tensor: Tensor } {
  if (!c || c.kind !== "float") {
    return a.refuse(what, "a constant float tensor", c ? "integers" : "none (a data input)");
  }
  if (rank !== undefined && c.tensor.shape.length !== rank) {
    a.refuse(what, `${rank} dimensions`, `shape [${c.tensor.shape}]`);
  }
  return c;
}

/** The one value of a constant that must be a scalar. */
function scalar(a: Attributes, c: Constant | undefined, what: string): number {
  if (!c) return a.refuse(what, "a scalar constant", "none");
  const values = c.kind === "float" ? c.tensor.toFloat64() : c.values;
  if (values.length !== 1 || typeof values[0] !== "number") {
    a.refuse(what, "a scalar constant", `${values.length} values`);
  }
  return values[0] as number;
}
