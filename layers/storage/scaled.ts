/**
 * Scaled formats: narrow elements that stand for values only together with a scale — the OCP
 * MX block formats, NVFP4, fp8 with a float32 scale per tensor or per channel, and symmetric
 * int8 and int4.
 *
 * They are fake quantization at the operands of the products: a convolution or affine layer
 * in a scaled format reads its input and its weights through quantize → dequantize into a
 * float32 carrier, then multiplies as f32 does. A tensor held between layers stays in the
 * carrier (ReLU and pooling are exact on it); bias and output are float32. Quantization runs
 * along the reduction axis of the product (see {@linkcode OperandLayout}).
 *
 * | name | element | scale | bits per value |
 * | ---- | ------- | ----- | -------------- |
 * | `mxfp8-e4m3`, `mxfp8-e5m2` | E4M3, E5M2 | E8M0 per 32 | 8.25 |
 * | `mxfp6-e3m2`, `mxfp6-e2m3` | E3M2, E2M3 | E8M0 per 32 | 6.25 |
 * | `mxfp4` | E2M1 | E8M0 per 32 | 4.25 |
 * | `mxint8` | INT8 · 2^-6 | E8M0 per 32 | 8.25 |
 * | `nvfp4` | E2M1 | E4M3 per 16, f32 per tensor | 4.5 + 32 per tensor |
 * | `e4m3-tensor`, `e5m2-tensor` | E4M3, E5M2 | f32 per tensor | 8 + 32 per tensor |
 * | `e4m3-channel`, `e5m2-channel` | E4M3, E5M2 | weights: f32 per output channel | 8 + 32 per channel |
 * | `int8`, `int4` | −127..127, −7..7 | weights: f32 per output channel | 8 or 4 + 32 per channel |
 *
 * An MX name takes the scale rule as a suffix (`mxfp4-rceil`; `floor`, the specification's,
 * is the default and has no suffix; see {@linkcode ScaleRule}). Activations of the
 * tensor-scaled formats (and NVFP4's tensor scale) are scaled per tensor: dynamically, from the
 * amax of the batch being computed, or statically, from an amax a layer was calibrated with.
 *
 * @module
 */
import type { Storage } from "./storage.ts";
import { isStochastic, type MinifloatRounding, ROUNDING_MODES } from "./rounding.ts";
import { f32 } from "./f32.ts";
import {
  blockAmax,
  E2M1_ELEMENT,
  E2M3_ELEMENT,
  E3M2_ELEMENT,
  E4M3_ELEMENT,
  E5M2_ELEMENT,
  type ElementType,
  MXINT8_ELEMENT,
  quantizeMxBlock,
  quantizeWithScale,
  roundElement,
  SCALE_RULES,
  type ScaledCounts,
  type ScaleRule,
} from "./mx.ts";

/** Symmetric 8-bit integers, −127 .. 127. */
const INT8_ELEMENT: ElementType = {
  name: "int8",
  bits: 8,
  fractionBits: 6,
  emin: 6,
  emax: 6,
  maxNormal: 127,
};
/** Symmetric 4-bit integers, −7 .. 7. */
const INT4_ELEMENT: ElementType = {
  name: "int4",
  bits: 4,
  fractionBits: 2,
  emin: 2,
  emax: 2,
  maxNormal: 7,
};

/**
 * How a scaled format scales its values:
 * - `mx`: blocks of `blockSize` along the reduction axis share an E8M0 scale (`rule`);
 * - `nvfp4`: blocks of 16 share an E4M3 scale, and the tensor a float32 scale;
 * - `tensor`: one float32 scale per tensor (amax / largest element);
 * - `channel`: weights scaled per output channel, activations per tensor.
 */
export type ScaleGranularity = "mx" | "nvfp4" | "tensor" | "channel";

/** What a scaled format is: element type, how it is scaled, and what that costs. */
export interface ScaledScheme {
  /** The format's name: `"mxfp4-rceil"`. */
  readonly name: string;
  /** The element type. */
  readonly element: ElementType;
  /** How values are scaled. */
  readonly granularity: ScaleGranularity;
  /** The scale rule of an MX format (`floor` for the others, which do not use one). */
  readonly rule: ScaleRule;
  /** Values sharing a block scale (MX 32, NVFP4 16); 0 when there are no block scales. */
  readonly blockSize: number;
  /** Bits of one block scale (E8M0 or E4M3: 8); 0 without block scales. */
  readonly blockScaleBits: number;
  /**
   * How elements are rounded: a deterministic mode, named by its suffix after the rest
   * (`mxfp4-rz`, `int8-rna`); nearest with ties to even, the specification's, has none.
   */
  readonly rounding: MinifloatRounding;
}

/**
 * Where a product's operand lies in memory: a tensor of shape (outer, length, inner) reduced
 * along `length`. A convolution's input (N, C, H, W) is (N, C, H·W); its weights
 * (O, C, k, k) are (O, C, k·k); an affine layer's input (N, inputs) is (N, inputs, 1) and its
 * weights (inputs, outputs) are (1, inputs, outputs). `channels` says which axis holds a
 * weight's output channels (conv: `outer`, affine: `inner`).
 */
export interface OperandLayout {
  /** Extent before the reduction axis. */
  readonly outer: number;
  /** Extent of the reduction axis. */
  readonly length: number;
  /** Extent after it: the stride between consecutive values of the reduction axis. */
  readonly inner: number;
  /** The axis of a weight's output channels. */
  readonly channels: "outer" | "inner";
}

/** What an operand is: weights may be scaled per channel, activations per tensor. */
export type OperandRole = "weights" | "activations";

function mx(base: string, element: ElementType, rule: ScaleRule): ScaledScheme {
  const name = rule === "floor" ? base : `${base}-${rule}`;
  return {
    name,
    element,
    granularity: "mx",
    rule,
    blockSize: 32,
    blockScaleBits: 8,
    rounding: "nearest-even",
  };
}

function plain(name: string, element: ElementType, granularity: ScaleGranularity): ScaledScheme {
  return {
    name,
    element,
    granularity,
    rule: "floor",
    blockSize: 0,
    blockScaleBits: 0,
    rounding: "nearest-even",
  };
}

const MX_BASES: readonly [string, ElementType][] = [
  ["mxfp8-e4m3", E4M3_ELEMENT],
  ["mxfp8-e5m2", E5M2_ELEMENT],
  ["mxfp6-e3m2", E3M2_ELEMENT],
  ["mxfp6-e2m3", E2M3_ELEMENT],
  ["mxfp4", E2M1_ELEMENT],
  ["mxint8", MXINT8_ELEMENT],
];

/**
 * Every scaled scheme, by name: the MX formats with each scale rule, NVFP4, the tensor- and
 * channel-scaled fp8 formats, int8 and int4.
 *
 * @example
 * ```ts
 * import { SCALED_SCHEMES } from "@halfprec/halfprec/formats";
 * import assert from "node:assert/strict";
 * assert.ok(SCALED_SCHEMES.some((s) => s.name === "mxfp4-rceil"));
 * assert.equal(SCALED_SCHEMES.find((s) => s.name === "nvfp4")!.blockSize, 16);
 * ```
 */
export const SCALED_SCHEMES: readonly ScaledScheme[] = [
  ...MX_BASES.flatMap(([base, element]) => SCALE_RULES.map((rule) => mx(base, element, rule))),
  {
    name: "nvfp4",
    element: E2M1_ELEMENT,
    granularity: "nvfp4",
    rule: "floor",
    blockSize: 16,
    blockScaleBits: 8,
    rounding: "nearest-even",
  },
  plain("e4m3-tensor", E4M3_ELEMENT, "tensor"),
  plain("e5m2-tensor", E5M2_ELEMENT, "tensor"),
  plain("e4m3-channel", E4M3_ELEMENT, "channel"),
  plain("e5m2-channel", E5M2_ELEMENT, "channel"),
  plain("int8", INT8_ELEMENT, "channel"),
  plain("int4", INT4_ELEMENT, "channel"),
];

/**
 * Bits a tensor of `elements` values costs in `scheme`: the packed elements plus the scales —
 * `blocks` block scales (MX, NVFP4), and a float32 per tensor (NVFP4, `tensor`) or per
 * channel (`channel` weights; `channels` of them, 1 for activations).
 *
 * @example MXFP8: 8.25 bits a value
 * ```ts
 * import { SCALED_SCHEMES, scaledBits } from "@halfprec/halfprec/formats";
 * import assert from "node:assert/strict";
 * const mxfp8 = SCALED_SCHEMES.find((s) => s.name === "mxfp8-e4m3")!;
 * assert.equal(scaledBits(mxfp8, 64, 1) / 64, 8.25);
 * ```
 */
export function scaledBits(scheme: ScaledScheme, elements: number, channels: number): number {
  const blocks = scheme.blockSize ? Math.ceil(elements / scheme.blockSize) : 0;
  const floatScales = scheme.granularity === "mx"
    ? 0
    : scheme.granularity === "channel"
    ? channels
    : 1;
  return elements * scheme.element.bits + blocks * scheme.blockScaleBits + 32 * floatScales;
}

/**
 * A float32 scale mapping `amax` onto the element's largest value; 1 for an all-zero tensor,
 * NaN for a NaN amax (a tensor holding a NaN or an infinity).
 */
export function tensorScale(element: ElementType, amax: number): number {
  return amax === 0 ? 1 : Math.fround(amax / element.maxNormal);
}

/** Visits every reduction vector of `layout`: its first index and its stride. */
function forEachVector(layout: OperandLayout, visit: (start: number, stride: number) => void) {
  const { outer, length, inner } = layout;
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) visit(o * length * inner + i, inner);
  }
}

/**
 * Quantizes an operand in place, as a product in `scheme` reads it: `values` laid out as
 * `layout`, `role` saying whether weights may be scaled per channel. `amax`, when given, is a
 * calibrated activation amax (a static per-tensor scale); otherwise per-tensor scales come
 * from `values` (dynamic). `counts`, when given, accumulates what happened to the values.
 *
 * @example MXFP4 blocks along the reduction axis, a partial last block
 * ```ts
 * import { quantizeOperand, SCALED_SCHEMES } from "@halfprec/halfprec/formats";
 * import assert from "node:assert/strict";
 * const mxfp4 = SCALED_SCHEMES.find((s) => s.name === "mxfp4")!;
 * const values = new Float32Array(33).fill(1);
 * values[0] = 7; // the first block's amax: its scale is 1, and 7 clamps to 6
 * values[32] = 0.3; // alone in the second block: scale 2^-4 (⌊log2 0.3⌋ − 2), 4.8 → 4
 * quantizeOperand(mxfp4, values, { outer: 1, length: 33, inner: 1, channels: "outer" }, "activations");
 * assert.deepEqual([values[0], values[1], values[32]], [6, 1, 0.25]);
 * ```
 */
export function quantizeOperand(
  scheme: ScaledScheme,
  values: Float32Array,
  layout: OperandLayout,
  role: OperandRole,
  amax?: number,
  counts?: ScaledCounts,
): void {
  const { element, granularity, rounding } = scheme;
  const gathered = new Float32Array(layout.length);
  const out = new Float32Array(layout.length);
  if (granularity === "mx" || granularity === "nvfp4") {
    const tensor = granularity === "nvfp4"
      ? nvfp4TensorScale(amax ?? blockAmax(values, values.length))
      : 1;
    forEachVector(layout, (start, stride) => {
      for (let j = 0; j < layout.length; j++) gathered[j] = values[start + j * stride];
      for (let b = 0; b < layout.length; b += scheme.blockSize) {
        const n = Math.min(scheme.blockSize, layout.length - b);
        const block = gathered.subarray(b, b + n);
        const dst = out.subarray(b, b + n);
        if (granularity === "mx") {
          quantizeMxBlock(element, scheme.rule, block, dst, n, counts, rounding);
        } else quantizeNvfp4Block(tensor, block, dst, n, counts, rounding);
      }
      for (let j = 0; j < layout.length; j++) values[start + j * stride] = out[j];
    });
    return;
  }
  if (granularity === "channel" && role === "weights") {
    const { outer, length, inner } = layout;
    const perOuter = layout.channels === "outer";
    const channels = perOuter ? outer : inner;
    const indices = (c: number) => {
      const list: number[] = [];
      for (let o = perOuter ? c : 0; o < (perOuter ? c + 1 : outer); o++) {
        for (let j = 0; j < length; j++) {
          for (let i = perOuter ? 0 : c; i < (perOuter ? inner : c + 1); i++) {
            list.push((o * length + j) * inner + i);
          }
        }
      }
      return list;
    };
    for (let c = 0; c < channels; c++) {
      const at = indices(c);
      const channel = Float32Array.from(at, (k) => values[k]);
      const scale = tensorScale(element, blockAmax(channel, channel.length));
      quantizeWithScale(element, scale, channel, channel, channel.length, counts, rounding);
      at.forEach((k, j) => values[k] = channel[j]);
    }
    return;
  }
  const scale = tensorScale(element, amax ?? blockAmax(values, values.length));
  quantizeWithScale(element, scale, values, values, values.length, counts, rounding);
}

/** NVFP4's per-tensor float32 scale: the tensor's amax onto 448 · 6, the largest block value. */
export function nvfp4TensorScale(amax: number): number {
  return tensorScale({ ...E2M1_ELEMENT, maxNormal: E4M3_ELEMENT.maxNormal * 6 }, amax);
}

/**
 * One NVFP4 block: the block scale is amax / 6 over the tensor scale, rounded to E4M3 (to
 * nearest even, saturating at 448); the elements are E2M1 of the values over both scales,
 * rounded by `rounding`.
 */
function quantizeNvfp4Block(
  tensor: number,
  src: Float32Array,
  dst: Float32Array,
  length: number,
  counts: ScaledCounts | undefined,
  rounding: MinifloatRounding,
): void {
  const amax = blockAmax(src, length);
  const block = roundElement(E4M3_ELEMENT, amax / E2M1_ELEMENT.maxNormal / tensor);
  if (block !== 0) {
    quantizeWithScale(E2M1_ELEMENT, block * tensor, src, dst, length, counts, rounding);
    return;
  }
  // A block below E4M3's smallest scale (or all zeros): every element is zero.
  dst.fill(0, 0, length);
  if (!counts) return;
  counts.values += length;
  for (let i = 0; i < length; i++) counts.flushed += Number(src[i] !== 0);
}

/** A storage format that is a scaled scheme in a float32 carrier. */
export interface ScaledStorage extends Storage {
  /** How products in this format quantize their operands. */
  readonly scaled: ScaledScheme;
}

const STORAGES = new Map<string, ScaledStorage>(
  SCALED_SCHEMES.map((scaled) => [scaled.name, { ...f32, name: scaled.name, scaled }]),
);

/** The element rounding suffixes a scaled name may end with, and their modes. */
const ROUNDING_SUFFIXES = new Map(
  ROUNDING_MODES.filter((m) => m.suffix !== "" && !isStochastic(m.mode)).map((m) => [
    m.suffix,
    m.mode,
  ]),
);

/**
 * The scaled storage format called `name` (a float32 carrier whose products quantize their
 * operands), or undefined when no scaled format has that name. A name may end with a
 * deterministic rounding mode's suffix (`-rna`, `-rnz`, `-ru`, `-rd`, `-rz`, `-ro`; see
 * `ROUNDING_MODES`), which rounds the elements that way; scales are chosen as without it.
 *
 * @example
 * ```ts
 * import { scaledStorage } from "@halfprec/halfprec/formats";
 * import assert from "node:assert/strict";
 * assert.equal(scaledStorage("mxfp4-even")!.scaled.rule, "even");
 * assert.equal(scaledStorage("mxfp4-floor"), undefined); // floor is spelt mxfp4
 * assert.equal(scaledStorage("mxfp4-rceil-rz")!.scaled.rounding, "toward-zero");
 * assert.equal(scaledStorage("int8-sr1"), undefined); // elements have no random stream
 * ```
 */
export function scaledStorage(name: string): ScaledStorage | undefined {
  const known = STORAGES.get(name);
  if (known) return known;
  const [, base, suffix] = name.match(/^(.*)(-[a-z]+)$/) ?? [];
  const rounding = ROUNDING_SUFFIXES.get(suffix);
  const plain = STORAGES.get(base);
  if (!rounding || !plain) return undefined;
  const scaled = { ...plain.scaled, name, rounding };
  const storage = { ...f32, name, scaled };
  STORAGES.set(name, storage);
  return storage;
}

/**
 * The scaled scheme of `storage`, or undefined for an ordinary format.
 *
 * @example
 * ```ts
 * import { f16, scaledSchemeOf, storageByName } from "@halfprec/halfprec/formats";
 * import assert from "node:assert/strict";
 * assert.equal(scaledSchemeOf(f16), undefined);
 * assert.equal(scaledSchemeOf(storageByName("int8"))!.granularity, "channel");
 * ```
 */
export function scaledSchemeOf(storage: Storage): ScaledScheme | undefined {
  return (storage as Partial<ScaledStorage>).scaled;
}

/**
 * Whether `storage` scales activations by one number per tensor (fp8 scaled per tensor or
 * channel, int8, int4, NVFP4's tensor scale): a number taken from the batch unless it is
 * calibrated or delayed. MX blocks lie within one example; other formats have no scales.
 *
 * @example
 * ```ts
 * import { scalesActivationsPerTensor, storageByName } from "@halfprec/halfprec/formats";
 * import assert from "node:assert/strict";
 * assert.equal(scalesActivationsPerTensor(storageByName("int8")), true);
 * assert.equal(scalesActivationsPerTensor(storageByName("mxfp4")), false);
 * assert.equal(scalesActivationsPerTensor(storageByName("e4m3")), false);
 * ```
 */
export function scalesActivationsPerTensor(storage: Storage): boolean {
  const granularity = scaledSchemeOf(storage)?.granularity;
  return granularity !== undefined && granularity !== "mx";
}

/**
 * Every scaled storage format with the specification's rounding, in
 * {@linkcode SCALED_SCHEMES}' order.
 */
export const SCALED_STORAGES: readonly ScaledStorage[] = [...STORAGES.values()];

/**
 * The bits a value of `storage` costs, scales included, for ranking formats by width: a
 * scaled format's element bits plus its block scales' share (MXFP8 8.25, MXFP4 4.25, NVFP4
 * 4.5); per-tensor and per-channel scales, a vanishing share, are left out here and counted by
 * {@linkcode scaledBits}. Other formats: 8 × bytes per element.
 *
 * @example
 * ```ts
 * import { bitsPerValue, f16, storageByName } from "@halfprec/halfprec/formats";
 * import assert from "node:assert/strict";
 * assert.equal(bitsPerValue(f16), 16);
 * assert.equal(bitsPerValue(storageByName("mxfp4")), 4.25);
 * assert.equal(bitsPerValue(storageByName("int8")), 8);
 * ```
 */
export function bitsPerValue(storage: Storage): number {
  const scheme = scaledSchemeOf(storage);
  if (!scheme) return 8 * storage.bytesPerElement;
  const share = scheme.blockSize ? scheme.blockScaleBits / scheme.blockSize : 0;
  return scheme.element.bits + share;
}
