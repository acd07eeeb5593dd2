/**
 * Moving stored tensor elements into the kernels' memory and back.
 *
 * Elements cross as raw bytes (every {@linkcode StorageArray} exposes its buffer, and the
 * f16-polyfill's buffer holds plain float16 codes). 16-bit formats are widened to float32 once
 * inside the memory, and results narrowed back there, by the SIMD conversion kernels;
 * minifloats of up to 16 bits are widened through a table of their values and narrowed by their
 * own rounding, or, byte formats whose fields allow it, by SIMD kernels that give the same codes
 * (see {@linkcode minifloatCodec}); f32 and f64 elements are used as they are. A minifloat with
 * values float32 cannot hold (see `MinifloatCodec.float64`) is widened to float64 through a table
 * and computed in float64, as f64 is, each result rounded once by its encoder.
 *
 * @module
 */
import type { RoundingStream, Storage, StorageArray } from "../storage/storage.ts";
import { f64 } from "../storage/f64.ts";
import { f32 } from "../storage/f32.ts";
import { f16 } from "../storage/f16.ts";
import { f16Polyfill } from "../storage/f16_polyfill.ts";
import { bf16 } from "../storage/bf16.ts";
import { scaledSchemeOf } from "../storage/scaled.ts";
import { heap, type Kernels, requireKernels } from "./kernels.ts";
import type { Tensor } from "../tensor.ts";
import { READ_PAST, wholeBlocks } from "./_layout.ts";
import { type MinifloatCodec, minifloatCodec } from "./minifloat_codec.ts";
import { wasmAccumulator } from "./rounded_sums.ts";
import type { Arithmetic, KernelPath } from "../kernel_path.ts";

/** How elements sit in the kernels' memory: as values, as 16-bit codes, as byte codes. */
export type Carrier = "f64" | "f32" | "f16" | "bf16" | "u8" | "u16";

/** A storage format as the kernels handle it. */
export interface WasmFormat {
  /** How its elements sit in the memory. */
  readonly carrier: Carrier;
  /** The format's name: two storages of one name are one format. */
  readonly name: string;
  /** For byte codes: the tables that decode and encode them. */
  readonly codec?: MinifloatCodec;
  /** For stochastic rounding: the stream every narrowed value draws one number from. */
  readonly stream?: RoundingStream;
}

/** Bytes per stored element of each carrier. */
const STORED_BYTES: Readonly<Record<Carrier, number>> = {
  f64: 8,
  f32: 4,
  f16: 2,
  bf16: 2,
  u8: 1,
  u16: 2,
};

const BUILT_IN = new Map<Storage, WasmFormat>([
  [f64, { carrier: "f64", name: "f64" }],
  [f32, { carrier: "f32", name: "f32" }],
  [f16, { carrier: "f16", name: "f16" }],
  [f16Polyfill, { carrier: "f16", name: "f16" }], // the same bits as f16
  [bf16, { carrier: "bf16", name: "bf16" }],
]);

/** Minifloats met so far, with their tables: built once per storage. A cache, not a choice. */
const MINIFLOATS = new WeakMap<Storage, WasmFormat | null>();

/** The kernels' view of `storage`, or undefined when they cannot hold it. */
function formatOf(storage: Storage): WasmFormat | undefined {
  const builtIn = BUILT_IN.get(storage);
  if (builtIn) return builtIn;
  // A scaled format's tensors are float32 carriers: ReLU and pooling run on them as on f32.
  if (scaledSchemeOf(storage)) return { carrier: "f32", name: storage.name };
  let known = MINIFLOATS.get(storage);
  if (known === undefined) {
    const codec = minifloatCodec(storage);
    const { stream } = storage;
    const carrier = codec?.codeBytes === 2 ? "u16" : "u8";
    known = codec ? { carrier, name: storage.name, codec, ...(stream ? { stream } : {}) } : null;
    MINIFLOATS.set(storage, known);
  }
  return known ?? undefined;
}

/** The formats of a layer on the wasm kernels: its own, and its input's. */
export interface LayerFormats {
  /** The layer's format: what it computes in and rounds its outputs to. */
  format: WasmFormat;
  /** The format its input is stored in, widened into the layer's arithmetic type. */
  input: WasmFormat;
}

/**
 * The formats a layer that sums products (conv, affine) on kernel path `path`, stored in
 * `storage`, hands to the wasm kernels for an input stored in `input`; undefined when it runs
 * its TypeScript code. An input in another format than the layer's is converted on loading
 * (see {@linkcode reserveInputStaging}), so the layer computes the same whatever format its
 * input arrived in. A layer with an accumulator sums through layers/wasm/rounded_sums.ts
 * instead (undefined here); a scaled format multiplies on its float32 twin, which reads float32
 * operands.
 */
export function productFormat(
  path: KernelPath,
  storage: Storage,
  input: Storage,
  accumulator?: Storage,
): LayerFormats | undefined {
  if (accumulator || path !== "wasm") return undefined;
  const format = scaledSchemeOf(storage) ? formatOf(f32) : formatOf(storage);
  const from = scaledSchemeOf(storage) ? format : formatOf(input);
  return format && from ? { format, input: from } : undefined;
}

/** The formats of a layer's backward pass on the wasm kernels. */
export interface BackwardFormats extends LayerFormats {
  /** The format its output gradient is stored in, widened as the input is. */
  gradient: WasmFormat;
}

/**
 * The formats the backward pass of a layer on kernel path `path`, stored in `storage`, hands to
 * the wasm kernels for an input stored in `input` and an output gradient in `gradient`, or
 * undefined when it runs its TypeScript code. Each is read as values of the layer's arithmetic,
 * converted on loading where its format differs (see {@linkcode reserveInputStaging}); the
 * gradients are rounded to the layer's format, from the stream of its own storage.
 */
export function backwardFormats(
  path: KernelPath,
  storage: Storage,
  input: Storage,
  gradient: Storage,
): BackwardFormats | undefined {
  if (path !== "wasm") return undefined;
  const [format, from, dy] = [storage, input, gradient].map(formatOf);
  return format && from && dy ? { format, input: from, gradient: dy } : undefined;
}

/**
 * The formats a layer that sums no products (ReLU, max and average pooling, batch
 * normalisation, scale, zero padding) on kernel path `path`, stored in `storage`, hands to the
 * wasm kernels for an input stored in `input`; undefined when it runs its TypeScript code. An
 * input in another format is widened on loading, exactly; a float64 one is not rounded at all,
 * as the TypeScript layer reads it unrounded (a tiny negative value is +0 after its ReLU, but -0
 * after rounding to float32 first): the layer works on float64 values ({@linkcode selectionBytes},
 * {@linkcode float64Bytes}), and its results are rounded once to its format.
 */
export function boundaryFormats(
  path: KernelPath,
  storage: Storage,
  input: Storage,
): LayerFormats | undefined {
  const format = path === "wasm" ? formatOf(storage) : undefined;
  const from = formatOf(input);
  return format && from ? { format, input: from } : undefined;
}

/**
 * Bytes of the values a layer whose results are its input's elements or zero (ReLU, max
 * pooling, zero padding) works on: float64 when its input, a backward pass's output gradient or
 * its own format holds float64 values, else float32, which holds every narrower format's values
 * exactly.
 */
export function selectionBytes(formats: LayerFormats | BackwardFormats): 4 | 8 {
  return readsFloat64(formats) ? 8 : valueBytes(formats.format);
}

/**
 * Bytes of the values a layer computing in float64 (average pooling, batch normalisation,
 * scale) loads and stores: float32 where the values it reads (its input, and a backward pass's
 * output gradient) and its results are all float32 (its kernels compute in float64 between the
 * two and round once as they store), else float64, each result then rounded once from float64
 * to a narrower format.
 */
export function float64Bytes(formats: LayerFormats | BackwardFormats): 4 | 8 {
  return formats.format.carrier === "f32" && !readsFloat64(formats) ? 4 : 8;
}

/** Whether a layer of `formats` reads float64 values: its input's, or its output gradient's. */
function readsFloat64(formats: LayerFormats | BackwardFormats): boolean {
  return isF64(formats.input) || ("gradient" in formats && isF64(formats.gradient));
}

/**
 * The arithmetic of a layer that sums products (conv, affine) on kernel path `path`: on the
 * wasm kernels of `formats` (float64 sums for f64, float32 for the rest); or, without a format,
 * every partial sum rounded to `accumulator` (on the kernels for the accumulators they hold, see
 * layers/wasm/rounded_sums.ts), or float64 sums on the TypeScript code.
 */
export function productArithmetic(
  formats: LayerFormats | undefined,
  path: KernelPath,
  accumulator?: Storage,
): Arithmetic {
  const format = formats?.format;
  if (format) return { path: "wasm", accumulation: isF64(format) ? "float64" : "float32" };
  if (accumulator) {
    const onKernels = wasmAccumulator(path, accumulator) ? "wasm" : "typescript";
    return { path: onKernels, accumulation: accumulator.name };
  }
  return { path: "typescript", accumulation: "float64" };
}

/**
 * Whether a format computes in float64 (f64, and minifloats with values float32 cannot hold),
 * else float32.
 */
export function isF64(format: WasmFormat): boolean {
  return format.carrier === "f64" || format.codec?.float64 === true;
}

/** Bytes per element of the type a format computes in: 8 where {@linkcode isF64}, else 4. */
export function valueBytes(format: WasmFormat): 4 | 8 {
  return isF64(format) ? 8 : 4;
}

/** Bytes per stored element of a format. */
export function storedBytes(format: WasmFormat): number {
  return STORED_BYTES[format.carrier];
}

/**
 * Bytes to reserve for `count` elements of `bytes` each: rounded up to whole blocks of the
 * conversion kernels, plus a margin for vector loads at the end.
 */
export function regionBytes(count: number, bytes: number): number {
  return wholeBlocks(count) * bytes + READ_PAST;
}

/**
 * Where stored elements wait to be widened or after being narrowed, and a minifloat's tables,
 * in the memory: what {@linkcode loadValues} and {@linkcode storeValues} work through.
 */
export interface Staging {
  format: WasmFormat;
  /** The staging region (unused for f32 and f64). */
  at: number;
  /** For byte codes: where the decode table and the encoder's description are. */
  decode: number;
  encode: number;
  /** Where the codec's lookup table is, when it has one, else 0. */
  lookup: number;
  /** For stochastic rounding: room for one random number per element, else 0. */
  random: number;
  /**
   * For an input converted between float32 and float64 on loading: the bytes of the values
   * it is loaded as, and room for its own values on the way (`via`; 0 for f64 elements, which
   * are read as they are).
   */
  convert?: { bytes: 4 | 8; via: number };
  /**
   * For float64 values narrowed to a format of float32 values or fewer bits (see
   * {@linkcode reserveLayerStaging}): room for them rounded to odd as float32 values, which the
   * format's float32 narrowing then rounds as the doubles would be; or, where that does not hold
   * (a stochastic rounding, which needs the exact fraction), 0, and each double is encoded by
   * the minifloat encoder. Float32 itself is rounded by the runtime.
   */
  doubles?: { float32: number };
}

/**
 * Reserves staging for runs of up to the largest of `counts` elements of `format`, and puts a
 * minifloat's tables in the memory.
 */
export function reserveStaging(
  format: WasmFormat,
  reserve: (bytes: number) => number,
  ...counts: number[]
): Staging {
  const bytes = storedBytes(format);
  const at = bytes < 4 ? reserve(regionBytes(Math.max(...counts), bytes)) : 0;
  const { codec } = format;
  if (!codec) return { format, at, decode: 0, encode: 0, lookup: 0, random: 0 };
  const decode = reserve(codec.decode.byteLength);
  const encode = reserve(codec.encode.byteLength);
  // The lookup table, 128 KiB, only for a format that narrows through it.
  const table = codec.narrowFields ? undefined : codec.lookup;
  const lookup = table ? reserve(table.byteLength) : 0;
  const random = format.stream ? reserve(Math.max(...counts) * 4) : 0;
  new Uint8Array(heap(), decode, codec.decode.byteLength).set(new Uint8Array(codec.decode.buffer));
  new Uint8Array(heap(), encode, codec.encode.byteLength).set(new Uint8Array(codec.encode));
  if (table) new Uint8Array(heap(), lookup, table.length).set(table);
  return { format, at, decode, encode, lookup, random };
}

/**
 * Staging for an input stored in `input` that a layer computing on values of `bytes` reads:
 * that of `input`, converting on loading where the two differ — an input of float64 values
 * rounded to float32 (as `Math.fround`), every other input widened to float32 exactly and then
 * to float64.
 */
export function reserveInputStaging(
  input: WasmFormat,
  bytes: 4 | 8,
  reserve: (bytes: number) => number,
  count: number,
): Staging {
  const staging = reserveStaging(input, reserve, count);
  const own = valueBytes(input);
  if (bytes === own) return staging;
  const via = input.carrier === "f64" ? 0 : reserve(regionBytes(count, own));
  return { ...staging, convert: { bytes, via } };
}

/**
 * The staging through which a layer of `formats` reads its input as values of `bytes` (by
 * default its format's): `own`, the layer's, when the input is in the layer's format and those
 * are its values, else {@linkcode reserveInputStaging}'s for up to `count`.
 */
export function inputStaging(
  formats: LayerFormats,
  own: Staging,
  reserve: (bytes: number) => number,
  count: number,
  bytes: 4 | 8 = valueBytes(formats.format),
): Staging {
  const { format, input } = formats;
  const isOwn = input.name === format.name && bytes === valueBytes(format);
  return isOwn ? own : reserveInputStaging(input, bytes, reserve, count);
}

/**
 * The staging through which a backward pass of `formats` reads its output gradient as values of
 * `bytes` (by default its format's): {@linkcode inputStaging} for the gradient's format.
 */
export function gradientStaging(
  formats: BackwardFormats,
  own: Staging,
  reserve: (bytes: number) => number,
  count: number,
  bytes: 4 | 8 = valueBytes(formats.format),
): Staging {
  const { format, gradient } = formats;
  return inputStaging({ format, input: gradient }, own, reserve, count, bytes);
}

/**
 * The staging of a layer of `formats` that works on values of `bytes` (see
 * {@linkcode selectionBytes}, {@linkcode float64Bytes}), for runs of up to `inputs` values in and
 * `outputs` out: `from`, through which it loads its input, converted where the values are of
 * other bytes than the input's; and `to`, through which it stores its results, each float64
 * value rounded once to a narrower format, as the format's own `write` rounds a double: to
 * float32 by the runtime (as `Math.fround`); to any other format rounded to odd as a float32
 * first, which its float32 narrowing rounds as it would the double (see `demote_odd` in
 * kernels.as), or, rounding stochastically, by the minifloat encoder reading the double.
 */
export function reserveLayerStaging(
  formats: LayerFormats,
  bytes: 4 | 8,
  reserve: (bytes: number) => number,
  inputs: number,
  outputs = inputs,
): { from: Staging; to: Staging } {
  const to = reserveNarrowing(formats.format, bytes, reserve, inputs, outputs);
  return { from: inputStaging(formats, to, reserve, inputs, bytes), to };
}

/** Staging through which values of `bytes` are stored in `format` (see reserveLayerStaging). */
function reserveNarrowing(
  format: WasmFormat,
  bytes: 4 | 8,
  reserve: (bytes: number) => number,
  ...counts: number[]
): Staging {
  const staging = reserveStaging(format, reserve, ...counts);
  if (bytes === valueBytes(format)) return staging;
  const float32s = () => reserve(regionBytes(Math.max(...counts), 4));
  if (format.carrier === "f32") return { ...staging, at: float32s(), doubles: { float32: 0 } };
  // f16 and bf16 round deterministically, with 11 and 8 significant bits.
  const fromOdd = format.codec?.fromOdd ?? true;
  return { ...staging, doubles: { float32: fromOdd ? float32s() : 0 } };
}

/** The bytes of elements `start .. start + count` of `data`, `bytes` each. */
function elementBytes(data: StorageArray, start: number, count: number, bytes: number): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset + start * bytes, count * bytes);
}

/**
 * Copies elements `start .. start + count` of `src` into the memory at `values`, as the values
 * the staging's layer computes on (widened through the staging region for coded formats, and
 * converted between float32 and float64 where the staging says).
 */
export function loadValues(
  kernels: Kernels,
  staging: Staging,
  src: StorageArray,
  start: number,
  count: number,
  values: number,
): void {
  const { format, at, convert } = staging;
  if (convert) {
    const { bytes, via } = convert;
    if (via) loadValues(kernels, { ...staging, convert: undefined }, src, start, count, via);
    // f64 elements are their own values; the others' are at `via`, of the other type
    const own = via === 0
      ? new Float64Array(src.buffer, src.byteOffset + start * 8, count)
      : bytes === 8
      ? new Float32Array(heap(), via, count)
      : new Float64Array(heap(), via, count);
    // float64 values rounded to float32 (as Math.fround), or float32 ones widened
    const to = bytes === 8
      ? new Float64Array(heap(), values, count)
      : new Float32Array(heap(), values, count);
    to.set(own);
    return;
  }
  const coded = storedBytes(format) < 4;
  copyIn(format, src, start, count, coded ? at : values);
  widenValues(kernels, staging, count, values);
}

/**
 * Widens `count` stored elements of a coded format waiting in the staging region (put there by
 * {@linkcode copyIn} or {@linkcode narrowValues}) into their values at `values` (float64 for a
 * format that computes in float64, else float32); f32 and f64 elements are their own values,
 * already where {@linkcode narrowValues} says, so nothing to do.
 */
export function widenValues(
  kernels: Kernels,
  staging: Staging,
  count: number,
  values: number,
): void {
  const { format, at } = staging;
  const rounded = wholeBlocks(count);
  if (format.codec?.float64) {
    kernels.widen_codes_f64(at, values, count, staging.decode, format.codec.codeBytes);
    return;
  }
  if (format.carrier === "f16") kernels.widen_f16(at, values, rounded);
  if (format.carrier === "bf16") kernels.widen_bf16(at, values, rounded);
  const fields = format.codec?.fields;
  if (fields) {
    const { shift, rebias, subnormal, infinity, nan } = fields;
    kernels.widen_u8_fields(at, values, rounded, shift, rebias, subnormal, infinity, nan);
  } else if (format.carrier === "u8") kernels.widen_u8(at, values, count, staging.decode);
  if (format.carrier === "u16") kernels.widen_u16(at, values, count, staging.decode);
}

/**
 * Stores `count` values at `values` in the memory (float32 or float64) into `dst` from element
 * `start`, each float32 narrowed once (through the staging region) for coded formats.
 */
export function storeValues(
  kernels: Kernels,
  staging: Staging,
  values: number,
  dst: StorageArray,
  start: number,
  count: number,
): void {
  copyOut(staging.format, narrowValues(kernels, staging, values, count), dst, start, count);
}

/**
 * Turns `count` values at `values` in the memory (float32 or float64) into stored elements of
 * the staging's format, in the memory: each float32 narrowed once into the staging region for
 * coded formats, the values themselves for f32 and f64; float64 values for a narrower format
 * (a staging of {@linkcode reserveLayerStaging}) each narrowed once into the staging region.
 * Returns where they are, for {@linkcode copyOut}.
 */
export function narrowValues(
  kernels: Kernels,
  staging: Staging,
  values: number,
  count: number,
): number {
  const { format, at, doubles } = staging;
  if (doubles) {
    const { float32 } = doubles;
    if (float32) {
      kernels.demote_odd(values, float32, wholeBlocks(count));
      return narrowValues(kernels, { ...staging, doubles: undefined }, float32, count);
    }
    if (format.carrier === "f32") {
      new Float32Array(heap(), at, count).set(new Float64Array(heap(), values, count));
    } else {
      format.stream?.draw?.(new Uint32Array(heap(), staging.random, count));
      const bytes = storedBytes(format);
      kernels.narrow_minifloat_f64(values, at, count, staging.encode, bytes, staging.random);
    }
    return at;
  }
  const rounded = wholeBlocks(count);
  if (format.carrier === "f16") kernels.narrow_f16(values, at, rounded);
  if (format.carrier === "bf16") kernels.narrow_bf16(values, at, rounded);
  if (format.codec) {
    // One number per value, in element order, as the format's own write draws them.
    format.stream?.draw?.(new Uint32Array(heap(), staging.random, count));
    const { codeBytes, narrowFields, float64 } = format.codec;
    const encode = float64 ? kernels.narrow_minifloat_f64 : kernels.narrow_minifloat;
    if (narrowFields) kernels.narrow_u8_fields(values, at, rounded, ...narrowFields);
    else if (staging.lookup) kernels.narrow_u8_lookup(values, at, count, staging.lookup);
    else encode(values, at, count, staging.encode, codeBytes, staging.random);
  }
  return storedBytes(format) < 4 ? at : values;
}

/** Copies `count` stored elements of `src` from `start` into the memory at `at`, as they are. */
export function copyIn(
  format: WasmFormat,
  src: StorageArray,
  start: number,
  count: number,
  at: number,
): void {
  const bytes = storedBytes(format);
  new Uint8Array(heap(), at, count * bytes).set(elementBytes(src, start, count, bytes));
}

/** Copies `count` stored elements at `at` in the memory into `dst` from `start`, as they are. */
export function copyOut(
  format: WasmFormat,
  at: number,
  dst: StorageArray,
  start: number,
  count: number,
): void {
  const bytes = storedBytes(format);
  elementBytes(dst, start, count, bytes).set(new Uint8Array(heap(), at, count * bytes));
}

/**
 * Runs `kernel` over `x` a run of `run.input` elements at a time (the last run may be shorter
 * when the kernel works in place): each run loaded into the memory from `formats.input` as
 * values of `bytes` (see {@linkcode reserveLayerStaging}), `kernel(input, output, count)`
 * computing its `run.output` values (the run's own, in place at `input`, when `run.output` is
 * undefined), and those stored into `y` in `formats.format`, in order. For the layers that work
 * image by image or chunk by chunk.
 */
export function mapRuns(
  formats: LayerFormats,
  tensors: { x: Tensor; y: Tensor },
  run: { input: number; output?: number; bytes: 4 | 8 },
  reserve: (bytes: number) => number,
  kernel: (input: number, output: number, count: number) => void,
): void {
  const kernels = requireKernels();
  const { x, y } = tensors;
  const { bytes } = run;
  const outRun = run.output ?? run.input;
  const input = reserve(regionBytes(run.input, bytes));
  const output = run.output === undefined ? input : reserve(regionBytes(outRun, bytes));
  const { from, to } = reserveLayerStaging(formats, bytes, reserve, run.input, outRun);
  for (let i = 0, o = 0; i < x.size; i += run.input, o += outRun) {
    const count = Math.min(run.input, x.size - i);
    loadValues(kernels, from, x.data, i, count, input);
    kernel(input, output, count);
    storeValues(kernels, to, output, y.data, o, run.output ?? count);
  }
}

/** Puts int32 words (a window, a geometry) in the memory; returns where. */
export function placeWords(reserve: (bytes: number) => number, words: Int32Array): number {
  const at = reserve(words.byteLength);
  new Int32Array(heap(), at, words.length).set(words);
  return at;
}
