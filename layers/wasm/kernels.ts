/**
 * The WebAssembly SIMD kernels of layers/wasm/kernels.as, loaded once per thread, and the
 * memory they work in.
 *
 * Loading prefers the relaxed-SIMD build (fused multiply-add) when the runtime validates it,
 * else the plain SIMD build; without WebAssembly SIMD there are no kernels and layers use their
 * TypeScript code. Each thread (the main one, every worker) instantiates its own copy over its
 * own memory.
 *
 * The memory is handed out by a stack allocator: {@linkcode withRegions} runs a kernel call's
 * setup and frees everything it reserved when it returns. Layers run one at a time on a
 * thread, so the regions of one layer never outlive it. Reserving may grow the memory, which
 * detaches views made before: reserve first, then make views.
 *
 * @module
 */
import { KERNELS_RELAXED_SIMD, KERNELS_SIMD } from "./_kernels_wasm.ts";
import { HEAP_START, INITIAL_PAGES, PAGE_BYTES, REGION_ALIGN } from "./_layout.ts";
import type { NarrowFields } from "./minifloat_codec.ts";

/**
 * Values at `src` to `count` minifloat codes of `elemBytes` at `dst`, rounded as the encoder at
 * `codec` describes, with 32 random bits per value at `random` (0 for none).
 */
type NarrowMinifloat = (
  src: number,
  dst: number,
  count: number,
  codec: number,
  elemBytes: number,
  random: number,
) => void;

/** The exported functions of kernels.as; every pointer is a byte offset into the memory. */
export interface Kernels {
  /** C = A · B (+ bias) (+ C) in float32, A packed with B's row table, B's n columns from a table. */
  gemm_f32(
    m: number,
    k: number,
    a: number,
    b: number,
    n: number,
    columns: number,
    c: number,
    ldc: number,
    bias: number,
    accumulate: number,
  ): void;
  /** As `gemm_f32` in float64. */
  gemm_f64: Kernels["gemm_f32"];
  /** Packs a row-major m x k matrix into the GEMM's panels, each depth step with B's row offset. */
  pack_a(src: number, m: number, k: number, rows: number, dst: number, elemBytes: number): void;
  /** Bytes of an m x k matrix packed by `pack_a`, padding included. */
  packed_bytes(m: number, k: number, elemBytes: number): number;
  /** Copies an image with padY rows and padX columns of zeros around each channel. */
  pad_image(
    src: number,
    channels: number,
    h: number,
    w: number,
    padY: number,
    padX: number,
    dst: number,
    elemBytes: number,
  ): void;
  /** The im2col matrix of a padded image, for strides other than 1. */
  im2col(
    padded: number,
    channels: number,
    hp: number,
    wp: number,
    kh: number,
    kw: number,
    sh: number,
    sw: number,
    oh: number,
    ow: number,
    dst: number,
    ldb: number,
    elemBytes: number,
  ): void;
  /** bfloat16 codes to float32 (count a multiple of 8). */
  widen_bf16(src: number, dst: number, count: number): void;
  /** float16 codes to float32 (count a multiple of 8). */
  widen_f16(src: number, dst: number, count: number): void;
  /** float32 to bfloat16 codes, nearest even (count a multiple of 8). */
  narrow_bf16(src: number, dst: number, count: number): void;
  /** float32 to float16 codes, nearest even (count a multiple of 8). */
  narrow_f16(src: number, dst: number, count: number): void;
  /** float64 to float32 rounded to odd (count a multiple of 2; see kernels.as). */
  demote_odd(src: number, dst: number, count: number): void;
  /** Byte codes to float32 through a table of 256 float32. */
  widen_u8(src: number, dst: number, count: number, table: number): void;
  /** Byte codes to float32 from their fields (count a multiple of 8; see kernels.as). */
  widen_u8_fields(
    src: number,
    dst: number,
    count: number,
    shift: number,
    rebias: number,
    subnormal: number,
    infinity: number,
    nan: number,
  ): void;
  /** float32 to minifloat codes of `elemBytes`, rounded as the encoder at `codec` describes. */
  narrow_minifloat: NarrowMinifloat;
  /** float64 to minifloat codes of `elemBytes`, rounded as the encoder at `codec` describes. */
  narrow_minifloat_f64: NarrowMinifloat;
  /** float32 to byte codes through a table of 131,072: by the top 16 bits and a sticky bit. */
  narrow_u8_lookup(src: number, dst: number, count: number, table: number): void;
  /** 16-bit codes to float32 through a table of 65,536 float32. */
  widen_u16(src: number, dst: number, count: number, table: number): void;
  /** Codes of `codeBytes` (1 or 2) to float64 through a table of every code's float64 value. */
  widen_codes_f64(src: number, dst: number, count: number, table: number, codeBytes: number): void;
  /** 16-bit codes replaced in place through a table of 65,536 codes. */
  map_u16(p: number, count: number, table: number): void;
  /** 16-bit codes at d masked by the code that a table of 65,536 gives for the codes at x. */
  keep_u16(x: number, d: number, count: number, keep: number): void;
  /** Byte codes replaced in place through a table of 256 codes. */
  map_u8(p: number, count: number, table: number): void;
  /** float32 to byte codes, nearest even, from their fields (count a multiple of 8; see kernels.as). */
  narrow_u8_fields(src: number, dst: number, count: number, ...fields: NarrowFields): void;
  /** ReLU over byte codes by a rule (count a multiple of 8; see kernels.as). */
  relu_u8_codes(
    p: number,
    count: number,
    low: number,
    high: number,
    zero: number,
    nan: number,
    nanCode: number,
  ): void;
  /** Byte codes at d masked by the byte that a table of 256 gives for the codes at x. */
  keep_u8(x: number, d: number, count: number, keep: number): void;
  /** The largest magnitude of `count` float32 `stride` elements apart; NaN if one is not finite. */
  amax_f32(p: number, count: number, stride: number): number;
  /**
   * `count` float32 `stride` elements apart quantized in place with one `scale` to the element
   * type (fraction bits, emin, largest normal) by rounding mode `mode` (see `quantize_scaled`).
   */
  quantize_scaled(
    p: number,
    count: number,
    stride: number,
    scale: number,
    fractionBits: number,
    emin: number,
    maxNormal: number,
    mode: number,
  ): void;
  /**
   * Two adjacent columns of `rows` float32, `stride` elements from a row to the next, quantized
   * in place to nearest even as `quantize_scaled` quantizes each: the first with `scale0`, the
   * second with `scale1`.
   */
  quantize_column_pairs(
    p: number,
    rows: number,
    stride: number,
    scale0: number,
    scale1: number,
    fractionBits: number,
    emin: number,
    maxNormal: number,
  ): void;
  /**
   * The float32 tensor (outer, length, inner) at `p` quantized in place in blocks of `blockSize`
   * along `length`, each block scaled by `rule` (0-3: the MX rules; 4: NVFP4 with tensor scale
   * `tensor`).
   */
  quantize_blocks(
    p: number,
    outer: number,
    length: number,
    inner: number,
    blockSize: number,
    rule: number,
    tensor: number,
    fractionBits: number,
    emin: number,
    emax: number,
    maxNormal: number,
    mode: number,
  ): void;
  /**
   * out (m x n, float64) = A · B, every partial sum rounded to an accumulator format (fraction
   * bits, smallest normal exponent, largest finite value; or, with a codec, a minifloat by its
   * encoder and its values, drawing from `random` if it rounds stochastically); see
   * `matmul_rounded`.
   */
  matmul_rounded(
    out: number,
    a: number,
    b: number,
    m: number,
    n: number,
    k: number,
    aRow: number,
    aDepth: number,
    bDepth: number,
    bCol: number,
    accumulate: number,
    fractionBits: number,
    emin: number,
    maxFinite: number,
    codec: number,
    values: number,
    random: number,
  ): void;
  /** n rounds of 12 independent f32x4 multiply-adds (96 flop a round); a lane of the sum. */
  fma_peak(n: number, multiplier: number, addend: number): number;
  /** ReLU in place over float32 (count a multiple of 8). */
  relu_f32(p: number, count: number): void;
  /** ReLU in place over float64 (count a multiple of 8). */
  relu_f64(p: number, count: number): void;
  /** ReLU in place over 16-bit codes whose infinity is `inf` (count a multiple of 8). */
  relu_16(p: number, count: number, inf: number): void;
  /** Max pooling over float32 planes, with the index of each maximum; the window: 8 int32 at win. */
  max_pool_f32(
    src: number,
    planes: number,
    h: number,
    w: number,
    win: number,
    oh: number,
    ow: number,
    dst: number,
    argmax: number,
  ): void;
  /** As `max_pool_f32` over float64 planes. */
  max_pool_f64: Kernels["max_pool_f32"];
  /** Sums an im2col matrix of float32 back onto the (unpadded) image it came from. */
  col2im_f32(
    col: number,
    channels: number,
    h: number,
    w: number,
    win: number,
    oh: number,
    ow: number,
    dst: number,
  ): void;
  /** As `col2im_f32` over float64. */
  col2im_f64: Kernels["col2im_f32"];
  /** dst (cols x rows) = the transpose of src (rows x cols), elements of elemBytes (4k). */
  transpose(src: number, rows: number, cols: number, dst: number, elemBytes: number): void;
  /** Adds the sum of each row of src (rows x cols) to the float64 at dst. */
  add_row_sums(src: number, rows: number, cols: number, dst: number, elemBytes: number): void;
  /** Adds count float32 at src to the float64 at dst. */
  add_f32_to_f64(src: number, dst: number, count: number): void;
  /** ReLU backward in place on float32 gradients d, given the input x (count a multiple of 8). */
  relu_backward_f32(x: number, d: number, count: number): void;
  /** As `relu_backward_f32` over float64. */
  relu_backward_f64: Kernels["relu_backward_f32"];
  /** As `relu_backward_f32` over 16-bit codes whose infinity is `inf`. */
  relu_backward_16(x: number, d: number, count: number, inf: number): void;
  /** Max pooling backward over float32 planes: each output gradient added at its argmax. */
  unpool_f32(
    dy: number,
    planes: number,
    outSize: number,
    inSize: number,
    argmax: number,
    dx: number,
  ): void;
  /** As `unpool_f32` over float64 planes. */
  unpool_f64: Kernels["unpool_f32"];
  /** Values (float32, or float64 when elemBytes is 8) times factor, divided by divisor, in place. */
  scale_values(p: number, count: number, factor: number, divisor: number, elemBytes: number): void;
  /** Plane by plane in place: v · scale[c] (+ shift[c] unless shift is 0), c = plane % channels. */
  channel_affine(
    p: number,
    planes: number,
    inner: number,
    channels: number,
    scale: number,
    shift: number,
    elemBytes: number,
  ): void;
  /** Adds every dy · x to the float64 dScale[c] and every dy to dShift[c], plane by plane. */
  channel_sums(
    x: number,
    dy: number,
    planes: number,
    inner: number,
    channels: number,
    dScale: number,
    dShift: number,
    elemBytes: number,
  ): void;
  /** Planes inside a border of zeros (pads top, left, bottom, right), or cropped out of it. */
  pad_planes(
    src: number,
    planes: number,
    h: number,
    w: number,
    top: number,
    left: number,
    bottom: number,
    right: number,
    dst: number,
    elemBytes: number,
    crop: boolean,
  ): void;
  /** Average pooling over planes; the geometry is 13 int32 at geo. */
  avg_pool(src: number, planes: number, geo: number, dst: number, elemBytes: number): void;
  /** Average pooling backward, summing each plane's shares in float64 at sums. */
  avg_unpool(
    dy: number,
    planes: number,
    geo: number,
    dx: number,
    sums: number,
    elemBytes: number,
  ): void;
}

/** Which build is running: `"relaxed-simd"` (fused multiply-add) or `"simd"`. */
export type KernelBuild = "relaxed-simd" | "simd";

function decode(base64: string): Uint8Array<ArrayBuffer> {
  const text = atob(base64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

/**
 * Compiles and instantiates the first build the runtime validates. Synchronously: the modules
 * are small (~8 KiB), which every engine compiles on any thread (Chrome's main-thread limit is
 * 8 MB), and a top-level await would delay a worker's message handler past its first message.
 * A runtime that refuses to compile (a page whose content security policy forbids it) gets
 * no kernels, like one without SIMD.
 */
function load(): { kernels: Kernels; build: KernelBuild; memory: WebAssembly.Memory } | undefined {
  if (typeof WebAssembly !== "object") return undefined;
  const builds: [KernelBuild, string][] = [
    ["relaxed-simd", KERNELS_RELAXED_SIMD],
    ["simd", KERNELS_SIMD],
  ];
  for (const [build, base64] of builds) {
    const bytes = decode(base64);
    if (!WebAssembly.validate(bytes)) continue;
    try {
      const memory = new WebAssembly.Memory({ initial: INITIAL_PAGES });
      const module = new WebAssembly.Module(bytes);
      const instance = new WebAssembly.Instance(module, { env: { memory } });
      return { kernels: instance.exports as unknown as Kernels, build, memory };
    } catch {
      return undefined;
    }
  }
  return undefined;
}

const loaded = load();

/** The kernels, or undefined when this runtime has no WebAssembly SIMD. */
export const kernels: Kernels | undefined = loaded?.kernels;

/** The build in use, or undefined when there are no kernels. */
export const kernelBuild: KernelBuild | undefined = loaded?.build;

/** The kernels; throws when this runtime has none (callers check {@linkcode kernels} first). */
export function requireKernels(): Kernels {
  return requireLoaded().kernels;
}

function requireLoaded(): NonNullable<typeof loaded> {
  if (!loaded) throw new Error("Cannot run a wasm kernel: this runtime has no WebAssembly SIMD");
  return loaded;
}

let top = HEAP_START;

/** Reserves `bytes` ({@linkcode REGION_ALIGN}ed), growing the memory when it is full. */
function reserve(bytes: number): number {
  const at = top;
  top = Math.ceil((at + bytes) / REGION_ALIGN) * REGION_ALIGN;
  const { memory } = requireLoaded();
  const missing = top - memory.buffer.byteLength;
  if (missing > 0) memory.grow(Math.ceil(missing / PAGE_BYTES));
  return at;
}

/**
 * Runs `body` with `reserve`, which hands out regions of the memory (byte offsets); they are
 * freed when `body` returns or throws.
 */
export function withRegions<T>(body: (reserve: (bytes: number) => number) => T): T {
  const mark = top;
  try {
    return body(reserve);
  } finally {
    top = mark;
  }
}

/** The memory's current buffer (replaced whenever it grows). */
export function heap(): ArrayBuffer {
  return requireLoaded().memory.buffer as ArrayBuffer; // an unshared memory's buffer
}
