/**
 * How a convolution or affine layer in a scaled format computes: its input and weights go
 * through quantize → dequantize into float32, then a float32 twin of the layer multiplies them
 * as f32 does (on the wasm path, quantized by the kernels to the same values and multiplied on
 * the f32 kernels). Backward passes through the quantization unchanged (the straight-through
 * estimator), so a scaled layer trains as quantization-aware training does.
 *
 * @module
 */
import type { Layer } from "./layer.ts";
import { Tensor } from "./tensor.ts";
import { f32 } from "./storage/f32.ts";
import type { ScaledCounts } from "./storage/mx.ts";
import {
  type OperandLayout,
  quantizeOperand,
  type ScaledScheme,
  scalesActivationsPerTensor,
} from "./storage/scaled.ts";
import type { KernelPath } from "./kernel_path.ts";
import { type ProductQuantization, quantizeOperandWasm } from "./wasm/quantize.ts";

/**
 * A product layer's operands as its scaled format reads them.
 *
 * @example
 * ```ts
 * import { Affine, type ScaledOperands, storageByName, tensor } from "@halfprec/halfprec/layers";
 * const fc = new Affine({ inputs: 1, outputs: 1, storage: storageByName("mxfp4") });
 * const operands: ScaledOperands = fc.scaledOperands(tensor([1, 1], [0.3]))!;
 * if (operands.input[0] !== 0.25) throw new Error("unexpected");
 * ```
 */
export interface ScaledOperands {
  /** The input, quantized (activation scales: per block, per tensor or calibrated). */
  readonly input: Float32Array;
  /** The weights, quantized (per block, per tensor or per output channel). */
  readonly weights: Float32Array;
}

/** What {@linkcode quantized} reads besides the values: a static amax, counts, the kernel path. */
export interface QuantizeOptions {
  /** A calibrated activation amax (a static per-tensor scale). */
  amax?: number;
  /** Tallies what quantization did (on the TypeScript code, which counts). */
  counts?: ScaledCounts;
  /** The layer's kernel path: `"wasm"` quantizes on the kernels, to the same values. */
  path: KernelPath;
}

/** The values of `source` (a float32 carrier), quantized as `layout` says, in a new array. */
export function quantized(
  scheme: ScaledScheme,
  source: Tensor,
  layout: OperandLayout,
  role: "weights" | "activations",
  options: QuantizeOptions,
): Float32Array {
  const { amax, counts, path } = options;
  const values = float32Values(source);
  if (path === "wasm" && !counts) return quantizeOperandWasm(scheme, values, layout, role, amax);
  const carrier = values === source.data ? values.slice() : values;
  quantizeOperand(scheme, carrier, layout, role, amax, counts);
  return carrier;
}

/** `source`'s values as float32: its own array when it stores float32 values. */
function float32Values(source: Tensor): Float32Array {
  // A tensor stored as float32 values is read as it is: widening it costs a pass per layer.
  return source.data instanceof Float32Array && source.storage.read === f32.read
    ? source.data
    : new Float32Array(source.toFloat64());
}

/**
 * What a scaled layer's inference pass hands the wasm kernels, which quantize its operands in
 * their memory (layers/wasm/quantize.ts): its input `x` as a float32 tensor, and the
 * quantization of the input and the weights laid out as `layouts`, with the layer's calibrated
 * `activationAmax` if it has one.
 */
export function kernelOperands(
  scheme: ScaledScheme,
  x: Tensor,
  layouts: { input: OperandLayout; weights: OperandLayout },
  options: { activationAmax?: number },
): { input: Tensor; quantization: ProductQuantization } {
  return {
    input: new Tensor(f32, x.shape, float32Values(x)),
    quantization: productQuantization(scheme, layouts, options),
  };
}

/**
 * How the wasm kernels quantize a scaled layer's operands laid out as `layouts`, with the
 * layer's calibrated `activationAmax` if it has one (see {@linkcode kernelOperands}).
 */
export function productQuantization(
  scheme: ScaledScheme,
  layouts: { input: OperandLayout; weights: OperandLayout },
  { activationAmax }: { activationAmax?: number },
): ProductQuantization {
  return { scheme, ...(activationAmax !== undefined && { amax: activationAmax }), ...layouts };
}

/**
 * Whether a forward pass through `layers` depends on which examples share its batch: a layer in
 * a format with a tensor scale for activations (fp8 scaled per tensor or channel, int8, int4,
 * NVFP4) and no calibrated `activationAmax` takes that scale from the batch. MX blocks lie
 * within one example, and other formats have no scales.
 */
export function scalesFromBatch(layers: readonly Layer[]): boolean {
  return layers.some((layer) =>
    scalesActivationsPerTensor(layer.storage) && layer.options.activationAmax === undefined
  );
}

/** A product layer with a float32 twin that computes on the quantized operands. */
export interface TwinLayer extends Layer {
  readonly params: { readonly W: Tensor; readonly b: Tensor };
  readonly grads: { readonly W: Tensor; readonly b: Tensor };
}

/** Runs `twin` on `operands`, the bias copied; the output in `storage`, sharing its memory. */
export function scaledForward(
  twin: TwinLayer,
  operands: ScaledOperands,
  bias: Tensor,
  x: Tensor,
  storage: Tensor["storage"],
): Tensor {
  twin.params.W.set(operands.weights);
  twin.params.b.set(bias.toFloat64());
  const y = twin.forward(new Tensor(f32, x.shape, operands.input));
  return new Tensor(storage, y.shape, y.data);
}

/**
 * Backward through `twin` (straight through the quantization): fills `grads` and returns the
 * input gradient in `storage`.
 */
export function scaledBackward(
  twin: TwinLayer,
  dout: Tensor,
  grads: TwinLayer["grads"],
  storage: Tensor["storage"],
): Tensor {
  const dx = twin.backward(Tensor.from(f32, dout.shape, dout.toFloat64()));
  grads.W.set(twin.grads.W.toFloat64());
  grads.b.set(twin.grads.b.toFloat64());
  return new Tensor(storage, dx.shape, dx.data);
}
