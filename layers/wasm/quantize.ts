/**
 * The quantization of a scaled format's operands (layers/storage/scaled.ts) on the wasm
 * kernels: the same scales chosen for the same runs of values, and every value computed by the
 * same float64 operations as `quantizeOperand`, so the quantized operand is bit-identical to
 * the TypeScript one. Amaxes and elements are computed in wasm; the per-tensor and per-channel
 * float32 scales, one number each, in TypeScript by the same functions.
 *
 * @module
 */
import { heap, type Kernels, requireKernels, withRegions } from "./kernels.ts";
import { MODE_NUMBERS } from "./minifloat_codec.ts";
import { SCALE_RULES } from "../storage/mx.ts";
import {
  nvfp4TensorScale,
  type OperandLayout,
  type OperandRole,
  type ScaledScheme,
  tensorScale,
} from "../storage/scaled.ts";

/** `quantize_blocks`' rule number of NVFP4 (after the MX rules). */
const NVFP4_RULE = SCALE_RULES.length;

/** A run of an operand: its first element, its length and the stride between its elements. */
type Run = [start: number, count: number, stride: number];

/**
 * A scaled layer's operands as its product on the wasm kernels quantizes them in the memory,
 * between loading them and multiplying them: the scheme, the calibrated activation amax
 * (undefined: the batch's own), and how the input and the weights are laid out.
 */
export interface ProductQuantization {
  /** The layer's scaled scheme. */
  readonly scheme: ScaledScheme;
  /** A calibrated activation amax (a static per-tensor scale), or undefined. */
  readonly amax?: number;
  /** The layout of the input batch. */
  readonly input: OperandLayout;
  /** The layout of the weights. */
  readonly weights: OperandLayout;
}

/**
 * `values` quantized as `quantizeOperand(scheme, values, layout, role, amax)` quantizes them in
 * place (without counts), on the wasm kernels, into a new array.
 */
export function quantizeOperandWasm(
  scheme: ScaledScheme,
  values: Float32Array,
  layout: OperandLayout,
  role: OperandRole,
  amax?: number,
): Float32Array {
  const kernels = requireKernels();
  return withRegions((reserve) => {
    const p = reserve(values.byteLength);
    new Float32Array(heap(), p, values.length).set(values);
    quantizeAt(kernels, scheme, p, values.length, layout, role, amax);
    return new Float32Array(heap(), p, values.length).slice();
  });
}

/**
 * Quantizes in place the `role` operand of `quantization`, `count` float32 values at `at` in
 * the memory, as {@linkcode quantizeOperandWasm} does.
 */
export function quantizeInMemory(
  kernels: Kernels,
  quantization: ProductQuantization,
  role: OperandRole,
  at: number,
  count: number,
): void {
  const { scheme, amax } = quantization;
  const activations = role === "activations";
  const layout = activations ? quantization.input : quantization.weights;
  quantizeAt(kernels, scheme, at, count, layout, role, activations ? amax : undefined);
}

function quantizeAt(
  kernels: Kernels,
  scheme: ScaledScheme,
  p: number,
  size: number,
  layout: OperandLayout,
  role: OperandRole,
  amax: number | undefined,
): void {
  const { element, granularity } = scheme;
  const { fractionBits, emin, emax, maxNormal } = element;
  const mode = MODE_NUMBERS[scheme.rounding];
  const withScale = ([start, count, stride]: Run, scale: number) =>
    kernels.quantize_scaled(
      p + 4 * start,
      count,
      stride,
      scale,
      fractionBits,
      emin,
      maxNormal,
      mode,
    );
  const { outer, length, inner } = layout;
  if (granularity === "mx" || granularity === "nvfp4") {
    const nvfp4 = granularity === "nvfp4";
    const tensor = nvfp4 ? nvfp4TensorScale(amax ?? kernels.amax_f32(p, size, 1)) : 1;
    const rule = nvfp4 ? NVFP4_RULE : SCALE_RULES.indexOf(scheme.rule);
    kernels.quantize_blocks(
      p,
      outer,
      length,
      inner,
      scheme.blockSize,
      rule,
      tensor,
      fractionBits,
      emin,
      emax,
      maxNormal,
      mode,
    );
    return;
  }
  if (granularity === "channel" && role === "weights") {
    const perOuter = layout.channels === "outer";
    const channels = perOuter ? outer : inner;
    // A channel of `outer` is one contiguous run; one of `inner`, a strided run per outer.
    const runsOf = (c: number): Run[] =>
      perOuter
        ? [[c * length * inner, length * inner, 1]]
        : Array.from({ length: outer }, (_, o) => [o * length * inner + c, length, inner]);
    const scales = Array.from({ length: channels }, (_, c) => {
      const amaxes = runsOf(c).map(([start, count, stride]) =>
        kernels.amax_f32(p + 4 * start, count, stride)
      );
      return tensorScale(element, amaxes.some(Number.isNaN) ? NaN : Math.max(...amaxes));
    });
    // Two adjacent channels of `inner` rounded to nearest even go through the SIMD code together.
    let c = 0;
    if (!perOuter && mode === MODE_NUMBERS["nearest-even"]) {
      for (; c + 1 < channels; c += 2) {
        const [first, second] = [scales[c], scales[c + 1]];
        for (const [start] of runsOf(c)) {
          const at = p + 4 * start;
          kernels.quantize_column_pairs(
            at,
            length,
            inner,
            first,
            second,
            fractionBits,
            emin,
            maxNormal,
          );
        }
      }
    }
    for (; c < channels; c++) for (const run of runsOf(c)) withScale(run, scales[c]);
    return;
  }
  withScale([0, size, 1], tensorScale(element, amax ?? kernels.amax_f32(p, size, 1)));
}
