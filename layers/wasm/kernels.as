// halfprec's WebAssembly SIMD kernels, in AssemblyScript.
//
// Built by `deno task build:wasm` (layers/wasm/build.mjs) into layers/wasm/_kernels_wasm.ts, twice:
// with plain SIMD (separate multiply and add) and with relaxed SIMD (fused multiply-add). The
// file is named .as, not .ts, so that deno fmt/lint/check leave it alone (deno fmt would strip
// the @inline decorators); the build hands it to the compiler under the .ts name it expects.
//
// Conventions
// - Every pointer is a byte offset into the imported memory, and nothing here allocates: the
//   loader (layers/wasm/kernels.ts) hands out the regions.
// - C (m x n) = A (m x k) · B (k x n) (+ bias per row) (+ C). For conv, A is the weights
//   (outC x K) and B the input image; for affine, A is the input batch and B the weights.
// - B is read through two tables instead of a fixed layout ("indirect" GEMM): element (d, j) is
//   at b + rows[d] + columns[j] (byte offsets, i32). Each broadcast reads one element, so any
//   arrangement of B works:
//   * conv, stride 1, over the image padded by pad_image (C x Hp x Wp): tap d = (c, ky, kx) at
//     rows[d] = (c*Hp*Wp + ky*Wp + kx) * bytes, output (oy, ox) at columns[j] = (oy*Wp + ox) *
//     bytes. Every row of the im2col matrix is the padded image itself, shifted: no im2col
//     matrix is built, and output rows of any width fill every lane.
//   * conv, other strides: the im2col matrix (K x ldb, from im2col below), rows[d] = d*ldb*bytes.
//   * affine: B = W (inputs x outputs, row-major), rows[d] = d*outputs*bytes.
// - A is packed by pack_a in panels, one depth step after another (48 bytes a step): rows[d],
//   then the step's 32 bytes of A, 8 f32 or 4 f64 rows. Rows past m are zero; their results
//   are never stored. B's row offset sits in the panel because each separate pointer or counter
//   the loop keeps costs a register, and the loop has none to spare (see below).
// - C is row-major with leading dimension ldc (elements). bias == 0 means no bias.
//   accumulate != 0 adds into C instead of overwriting it (affine's bias is pre-filled in C).
// - Summation order: each output is (((a0 b0 + a1 b1) + a2 b2) + ...) + bias, depth in order,
//   in the kernel's type, as the TypeScript matmul sums; the relaxed build fuses each
//   multiply-add (one rounding instead of two).
// - Register block: a tile is one panel of A (2 vectors a step) times 6 columns of C (one
//   broadcast of B each): 12 v128 accumulators + 2 A vectors + 1 broadcast = 15 of x64's 16 xmm
//   registers (V8 keeps one as scratch). Each vector holds one column's 4 f32 or 2 f64 rows,
//   transposed into rows of C when the tile is stored.
// - What bounds the loop: Deno runs WebAssembly without V8's trap handler, so every load is
//   compared with the memory's size first (an explicit bounds check: denoland/deno#35658). A
//   step's 9 loads then cost 9 compares, and with few registers free each compare reads its
//   limit from the stack too. Keeping the loop to one pointer (B's row offset in the panel, no
//   depth counter) leaves the limits in registers. Measured in V8 on conv-shaped products, one
//   thread, AMD EPYC (Zen 4): 71-78 % of `fma_peak`, 88-96 % with the checks switched off (the
//   test-only flag --no-wasm-bounds-checks). A 6 x 8 tile broadcasting A instead reaches 51-62 %
//   (81-92 % without the checks): its six broadcasts at six offsets need six limits. Unrolled
//   by two depth steps, the loop spills (54-61 %). Reading a tile's columns of B as one vector
//   where they lie side by side, its lanes broadcast by shuffles (8 x 4 or 8 x 5 tiles, 4 or 5
//   loads a step), was no faster on Zen 3, with or without the checks: the shuffles take the
//   compares' place.

// ---------------------------------------------------------------------------------------------
// Helpers

/** a*b + c: fused in the relaxed-simd build, else two rounded operations. */
// @ts-ignore: decorator
@inline function madd32(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

// @ts-ignore: decorator
@inline function madd64(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f64x2.relaxed_madd(a, b, c);
  return f64x2.add(f64x2.mul(a, b), c);
}

/**
 * The lanes of a where mask (a comparison's: each lane all ones or all zeros) is set, else b's:
 * one blend instruction in the relaxed-simd build, three bit operations otherwise.
 */
// @ts-ignore: decorator
@inline function select(a: v128, b: v128, mask: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return i8x16.relaxed_laneselect(a, b, mask);
  return v128.bitselect(a, b, mask);
}

/** Adds x to what is at p if `acc`, then stores it. */
// @ts-ignore: decorator
@inline function put(p: usize, x: f32, acc: bool): void {
  store<f32>(p, acc ? load<f32>(p) + x : x);
}

// @ts-ignore: decorator
@inline function putd(p: usize, x: f64, acc: bool): void {
  store<f64>(p, acc ? load<f64>(p) + x : x);
}

/** Adds v to the vector at p if `acc`, then stores it. */
// @ts-ignore: decorator
@inline function putVector<T>(p: usize, v: v128, acc: bool): void {
  if (sizeof<T>() == 8) v128.store(p, acc ? f64x2.add(v128.load(p), v) : v);
  else v128.store(p, acc ? f32x4.add(v128.load(p), v) : v);
}

// ---------------------------------------------------------------------------------------------
// GEMMs

/** Bytes of one depth step of a packed panel: B's row offset (in 16 bytes), then 32 of A. */
const STEP: usize = 48;

/** Columns of C per tile: one broadcast from B each. */
const TILE_COLUMNS: i32 = 6;

/** Rows of A per panel: 32 bytes of values, 8 f32 or 4 f64. */
// @ts-ignore: decorator
@inline function panelRows(elemBytes: i32): i32 {
  return 32 / elemBytes;
}

/** Bytes of an m x k A packed by pack_a for the GEMM of elemBytes (4: f32, 8: f64). */
export function packed_bytes(m: i32, k: i32, elemBytes: i32): i32 {
  const height = panelRows(elemBytes);
  return (m + height - 1) / height * k * <i32>STEP;
}

/**
 * Packs row-major src (m x k, elemBytes 4 or 8) into the panels its GEMM reads, one depth step
 * after another: per step, rows[d] (B's row offset, i32) and 12 zero bytes, then the step's 8 f32
 * or 4 f64 values of A, rows past m zero. dst needs packed_bytes(m, k, elemBytes) bytes.
 */
export function pack_a(src: usize, m: i32, k: i32, rows: usize, dst: usize, elemBytes: i32): void {
  const height = panelRows(elemBytes);
  let step = dst;
  for (let first = 0; first < m; first += height) {
    for (let d = 0; d < k; d++, step += STEP) {
      v128.store(step, i32x4.replace_lane(i32x4.splat(0), 0, load<i32>(rows + (<usize>d << 2))));
      for (let r = 0; r < height; r++) {
        const row = first + r;
        const from = <usize>row * <usize>k + <usize>d;
        if (elemBytes == 8) {
          store<u64>(step + 16 + (<usize>r << 3), row < m ? load<u64>(src + (from << 3)) : 0);
        } else {
          store<u32>(step + 16 + (<usize>r << 2), row < m ? load<u32>(src + (from << 2)) : 0);
        }
      }
    }
  }
}

/** The values at p broadcast to every lane: the element of B one tile column multiplies. */
// @ts-ignore: decorator
@inline function splat<T>(p: usize): v128 {
  return sizeof<T>() == 8 ? v128.load64_splat(p) : v128.load32_splat(p);
}

// @ts-ignore: decorator
@inline function madd<T>(a: v128, b: v128, c: v128): v128 {
  return sizeof<T>() == 8 ? madd64(a, b, c) : madd32(a, b, c);
}

/** The bias of the lanes' rows (row, row + 1, ...), 0 past m. */
// @ts-ignore: decorator
@inline function rowBias<T>(bias: usize, row: i32, m: i32): v128 {
  const p = bias + (<usize>row << (sizeof<T>() == 8 ? 3 : 2));
  if (sizeof<T>() == 8) {
    const first = v128.load64_splat(p);
    return f64x2.replace_lane(first, 1, row + 1 < m ? load<f64>(p, 8) : 0);
  }
  if (row + 4 <= m) return v128.load(p);
  let v = f32x4.splat(0);
  v = f32x4.replace_lane(v, 0, load<f32>(p));
  if (row + 1 < m) v = f32x4.replace_lane(v, 1, load<f32>(p, 4));
  if (row + 2 < m) v = f32x4.replace_lane(v, 2, load<f32>(p, 8));
  return v;
}

/**
 * Stores one f32 row of a tile from its transposed vectors: columns 0-3 in `left`, 4-5 in
 * lanes 0-1 of `right`; count columns.
 */
// @ts-ignore: decorator
@inline function storeRow32(q: usize, left: v128, right: v128, count: i32, acc: bool): void {
  if (count >= 4) {
    putVector<f32>(q, left, acc);
  } else {
    put(q, f32x4.extract_lane(left, 0), acc);
    if (count > 1) put(q + 4, f32x4.extract_lane(left, 1), acc);
    if (count > 2) put(q + 8, f32x4.extract_lane(left, 2), acc);
  }
  if (count == 6) {
    v128.store64_lane(q + 16, acc ? f32x4.add(v128.load64_zero(q + 16), right) : right, 0);
  } else if (count == 5) {
    put(q + 16, f32x4.extract_lane(right, 0), acc);
  }
}

/**
 * Writes 4 rows (from row) of an f32 tile, each vector v0..v5 one column's 4 rows: bias added,
 * transposed into rows in registers, rows past m and columns past count not stored.
 */
// @ts-ignore: decorator
@inline function storeRows32(
  c: usize, ldc: i32, m: i32, row: i32, col0: i32, count: i32,
  v0: v128, v1: v128, v2: v128, v3: v128, v4: v128, v5: v128, bias: usize, acc: bool,
): void {
  if (row >= m) return; // padding rows of the last panel
  if (bias) {
    const b = rowBias<f32>(bias, row, m);
    v0 = f32x4.add(v0, b);
    v1 = f32x4.add(v1, b);
    v2 = f32x4.add(v2, b);
    v3 = f32x4.add(v3, b);
    v4 = f32x4.add(v4, b);
    v5 = f32x4.add(v5, b);
  }
  const t0 = v128.shuffle<i32>(v0, v1, 0, 4, 1, 5);
  const t1 = v128.shuffle<i32>(v2, v3, 0, 4, 1, 5);
  const t2 = v128.shuffle<i32>(v0, v1, 2, 6, 3, 7);
  const t3 = v128.shuffle<i32>(v2, v3, 2, 6, 3, 7);
  const u = v128.shuffle<i32>(v4, v5, 0, 4, 1, 5);
  const w = v128.shuffle<i32>(v4, v5, 2, 6, 3, 7);
  const stride = <usize>ldc << 2;
  const q = c + ((<usize>row * <usize>ldc + <usize>col0) << 2);
  storeRow32(q, v128.shuffle<i64>(t0, t1, 0, 2), u, count, acc);
  if (row + 1 >= m) return;
  storeRow32(q + stride, v128.shuffle<i64>(t0, t1, 1, 3), v128.shuffle<i64>(u, u, 1, 1), count, acc);
  if (row + 2 >= m) return;
  storeRow32(q + 2 * stride, v128.shuffle<i64>(t2, t3, 0, 2), w, count, acc);
  if (row + 3 >= m) return;
  storeRow32(q + 3 * stride, v128.shuffle<i64>(t2, t3, 1, 3), v128.shuffle<i64>(w, w, 1, 1), count, acc);
}

/** Stores one f64 row of a tile: columns 0-1, 2-3 and 4-5 in three vectors; count columns. */
// @ts-ignore: decorator
@inline function storeRow64(q: usize, p0: v128, p1: v128, p2: v128, count: i32, acc: bool): void {
  if (count >= 2) putVector<f64>(q, p0, acc);
  else putd(q, f64x2.extract_lane(p0, 0), acc);
  if (count >= 4) putVector<f64>(q + 16, p1, acc);
  else if (count == 3) putd(q + 16, f64x2.extract_lane(p1, 0), acc);
  if (count == 6) putVector<f64>(q + 32, p2, acc);
  else if (count == 5) putd(q + 32, f64x2.extract_lane(p2, 0), acc);
}

/** As storeRows32 for 2 rows of an f64 tile. */
// @ts-ignore: decorator
@inline function storeRows64(
  c: usize, ldc: i32, m: i32, row: i32, col0: i32, count: i32,
  v0: v128, v1: v128, v2: v128, v3: v128, v4: v128, v5: v128, bias: usize, acc: bool,
): void {
  if (row >= m) return;
  if (bias) {
    const b = rowBias<f64>(bias, row, m);
    v0 = f64x2.add(v0, b);
    v1 = f64x2.add(v1, b);
    v2 = f64x2.add(v2, b);
    v3 = f64x2.add(v3, b);
    v4 = f64x2.add(v4, b);
    v5 = f64x2.add(v5, b);
  }
  const q = c + ((<usize>row * <usize>ldc + <usize>col0) << 3);
  storeRow64(
    q, v128.shuffle<i64>(v0, v1, 0, 2), v128.shuffle<i64>(v2, v3, 0, 2), v128.shuffle<i64>(v4, v5, 0, 2),
    count, acc,
  );
  if (row + 1 >= m) return;
  storeRow64(
    q + (<usize>ldc << 3), v128.shuffle<i64>(v0, v1, 1, 3), v128.shuffle<i64>(v2, v3, 1, 3),
    v128.shuffle<i64>(v4, v5, 1, 3), count, acc,
  );
}

/**
 * C = A · B (+ bias) (+ C) in T (see the header): tiles of 6 columns of C, each column's B read
 * by broadcasts from its own base, times panels of A two vectors a depth step.
 */
// @ts-ignore: decorator
@inline function gemm<T>(
  m: i32, k: i32, a: usize, b: usize, n: i32, columns: usize,
  c: usize, ldc: i32, bias: usize, accumulate: i32,
): void {
  const height = panelRows(sizeof<T>());
  const panels = (m + height - 1) / height;
  const panelBytes = <usize>k * STEP;
  const acc = accumulate != 0;
  for (let col0 = 0; col0 < n; col0 += TILE_COLUMNS) {
    const count = min(TILE_COLUMNS, n - col0);
    // A tile's columns past n take the last column's base: read, never stored.
    const at = columns + (<usize>col0 << 2);
    const last = count - 1;
    const b0 = b + <usize>load<i32>(at);
    const b1 = b + <usize>load<i32>(at + (<usize>min(1, last) << 2));
    const b2 = b + <usize>load<i32>(at + (<usize>min(2, last) << 2));
    const b3 = b + <usize>load<i32>(at + (<usize>min(3, last) << 2));
    const b4 = b + <usize>load<i32>(at + (<usize>min(4, last) << 2));
    const b5 = b + <usize>load<i32>(at + (<usize>min(5, last) << 2));
    for (let ip = 0; ip < panels; ip++) {
      let pa = a + <usize>ip * panelBytes;
      const end = pa + panelBytes;
      const z = f32x4.splat(0);
      let c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z, c40 = z, c41 = z, c50 = z, c51 = z;
      // One depth step per iteration: unrolled, the 12 accumulators spill (measured in V8). A
      // step's loads of A come before the loop for the first step and at the end of the
      // iteration for the next: V8 then computes the limits their bounds checks compare with (the
      // memory's size less each load's end) once, before the loop, not at every step.
      if (pa < end) {
        let d = <usize>load<i32>(pa);
        let x0 = v128.load(pa, 16);
        let x1 = v128.load(pa, 32);
        while (true) {
          let bv = splat<T>(b0 + d);
          c00 = madd<T>(x0, bv, c00);
          c01 = madd<T>(x1, bv, c01);
          bv = splat<T>(b1 + d);
          c10 = madd<T>(x0, bv, c10);
          c11 = madd<T>(x1, bv, c11);
          bv = splat<T>(b2 + d);
          c20 = madd<T>(x0, bv, c20);
          c21 = madd<T>(x1, bv, c21);
          bv = splat<T>(b3 + d);
          c30 = madd<T>(x0, bv, c30);
          c31 = madd<T>(x1, bv, c31);
          bv = splat<T>(b4 + d);
          c40 = madd<T>(x0, bv, c40);
          c41 = madd<T>(x1, bv, c41);
          bv = splat<T>(b5 + d);
          c50 = madd<T>(x0, bv, c50);
          c51 = madd<T>(x1, bv, c51);
          pa += STEP;
          if (pa >= end) break;
          d = <usize>load<i32>(pa);
          x0 = v128.load(pa, 16);
          x1 = v128.load(pa, 32);
        }
      }
      const row0 = ip * height;
      const half = height >> 1; // rows per vector
      if (sizeof<T>() == 8) {
        storeRows64(c, ldc, m, row0, col0, count, c00, c10, c20, c30, c40, c50, bias, acc);
        storeRows64(c, ldc, m, row0 + half, col0, count, c01, c11, c21, c31, c41, c51, bias, acc);
      } else {
        storeRows32(c, ldc, m, row0, col0, count, c00, c10, c20, c30, c40, c50, bias, acc);
        storeRows32(c, ldc, m, row0 + half, col0, count, c01, c11, c21, c31, c41, c51, bias, acc);
      }
    }
  }
}

/** C = A · B (+ bias) (+ C) in f32: A packed by pack_a, B[d][j] at b + A's row offset d + columns[j]. */
export function gemm_f32(
  m: i32, k: i32, a: usize, b: usize, n: i32, columns: usize,
  c: usize, ldc: i32, bias: usize, accumulate: i32,
): void {
  gemm<f32>(m, k, a, b, n, columns, c, ldc, bias, accumulate);
}

/** As gemm_f32 in f64: panels of 4 rows, each vector 2 of them. */
export function gemm_f64(
  m: i32, k: i32, a: usize, b: usize, n: i32, columns: usize,
  c: usize, ldc: i32, bias: usize, accumulate: i32,
): void {
  gemm<f64>(m, k, a, b, n, columns, c, ldc, bias, accumulate);
}

// ---------------------------------------------------------------------------------------------
// Convolution input

/**
 * Copies one image (channels x h x w, elemBytes 4 or 8) into dst with `padY` rows of zeros above
 * and below and `padX` columns left and right (channels x (h+2padY) x (w+2padX)).
 */
export function pad_image(
  src: usize, channels: i32, h: i32, w: i32, padY: i32, padX: i32, dst: usize, elemBytes: i32,
): void {
  const eb = <usize>elemBytes;
  const wp = w + 2 * padX;
  const rowBytes = <usize>wp * eb;
  let out = dst;
  for (let ch = 0; ch < channels; ch++) {
    zero(out, <usize>padY * rowBytes);
    out += <usize>padY * rowBytes;
    for (let y = 0; y < h; y++) {
      zero(out, <usize>padX * eb);
      copy(out + <usize>padX * eb, src + <usize>(ch * h + y) * <usize>w * eb, <usize>w * eb);
      zero(out + <usize>(padX + w) * eb, <usize>padX * eb);
      out += rowBytes;
    }
    zero(out, <usize>padY * rowBytes);
    out += <usize>padY * rowBytes;
  }
}

/**
 * Unrolls a padded image (channels x hp x wp, elemBytes 4 or 8) into the row-major im2col
 * matrix dst (channels*kh*kw x ldb): row (c, ky, kx), column oy*ow + ox holds
 * padded[c][oy*sh + ky][ox*sw + kx]. For strides other than 1 (stride 1 reads the padded image
 * directly); one element at a time, since the reads are strided.
 */
export function im2col(
  padded: usize, channels: i32, hp: i32, wp: i32, kh: i32, kw: i32, sh: i32, sw: i32,
  oh: i32, ow: i32, dst: usize, ldb: i32, elemBytes: i32,
): void {
  const eb = <usize>elemBytes;
  let r = 0;
  for (let ch = 0; ch < channels; ch++) {
    for (let ky = 0; ky < kh; ky++) {
      for (let kx = 0; kx < kw; kx++, r++) {
        let out = dst + <usize>r * <usize>ldb * eb;
        for (let oy = 0; oy < oh; oy++) {
          // Seek to padded row oy*sh + ky of channel ch, column kx.
          let src = padded + (<usize>(ch * hp + oy * sh + ky) * <usize>wp + <usize>kx) * eb;
          for (let ox = 0; ox < ow; ox++, out += eb, src += <usize>sw * eb) {
            if (eb == 8) store<u64>(out, load<u64>(src));
            else store<u32>(out, load<u32>(src));
          }
        }
      }
    }
  }
}

/** Copy of a short run: 16 bytes at a time, then 4, then 2 (sizes are multiples of 2). */
// @ts-ignore: decorator
@inline function copy(dst: usize, src: usize, bytes: usize): void {
  // memory.copy is a call into the runtime in V8; runs here are 28-112 bytes, so loop inline.
  let i: usize = 0;
  for (; i + 16 <= bytes; i += 16) v128.store(dst + i, v128.load(src + i));
  for (; i + 4 <= bytes; i += 4) store<u32>(dst + i, load<u32>(src + i));
  if (i < bytes) store<u16>(dst + i, load<u16>(src + i));
}

// @ts-ignore: decorator
@inline function zero(dst: usize, bytes: usize): void {
  let i: usize = 0;
  for (; i + 16 <= bytes; i += 16) v128.store(dst + i, i32x4.splat(0));
  for (; i + 4 <= bytes; i += 4) store<u32>(dst + i, 0);
  if (i < bytes) store<u16>(dst + i, 0);
}

// ---------------------------------------------------------------------------------------------
// Format conversion: 16-bit codes to f32 and back. Counts are multiples of 8 (the caller
// rounds regions up).
//
// The compiler inlines a constant vector as a v128.const at each use, which V8 builds anew
// every time (see fma_peak): narrow_f16, with ten of them in its loop, took 1.3 ns a value.
// These loops build their constants once, before the loop, with `lanes`.

/**
 * Zero, in a global the host could change (it is exported), so that the compiler cannot fold
 * what is built from it back into constants; never written.
 */
export let opaque_zero: i32 = 0;

/** i32x4.splat(x), built where it is called and kept in a register (see opaque_zero). */
// @ts-ignore: decorator
@inline function lanes(x: i32): v128 {
  return i32x4.splat(x + opaque_zero);
}

/** bf16 codes 0-3 of `codes` (8 x u16) to f32: each code becomes the high half of a lane. */
// @ts-ignore: decorator
@inline function bf16Low(codes: v128): v128 {
  // One byte shuffle with a zero vector (lanes 0-15 = zero, 16-31 = codes): [0, 0, lo, hi].
  return i8x16.shuffle(i32x4.splat(0), codes, 0, 0, 16, 17, 0, 0, 18, 19, 0, 0, 20, 21, 0, 0, 22, 23);
}

// @ts-ignore: decorator
@inline function bf16High(codes: v128): v128 {
  return i8x16.shuffle(i32x4.splat(0), codes, 0, 0, 24, 25, 0, 0, 26, 27, 0, 0, 28, 29, 0, 0, 30, 31);
}

/** count bf16 codes at src to f32 at dst. */
export function widen_bf16(src: usize, dst: usize, count: i32): void {
  for (let i = 0; i < count; i += 8) {
    const codes = v128.load(src + (<usize>i << 1));
    v128.store(dst + (<usize>i << 2), bf16Low(codes));
    v128.store(dst + (<usize>i << 2), bf16High(codes), 16);
  }
}

/**
 * count f16 codes at src to f32 at dst, four at a time, exactly. Shifting exponent and mantissa
 * left by 13 gives a float32 2^112 times too small (the bias difference 127 - 15); one multiply
 * by 2^112 fixes normals and, because float32 subnormals are exact, f16 subnormals too.
 * Exponent 31 (Inf/NaN) lands at 2^16..2^17, so its exponent field is forced to all ones.
 */
export function widen_f16(src: usize, dst: usize, count: i32): void {
  const magnitude = lanes(0x7fff), scale = lanes(0x77800000); // 2^112
  const finite = lanes(0x7bff), infinity = lanes(0x7f800000), signBit = lanes(0x80000000);
  for (let i = 0; i < count; i += 4) {
    const h = v128.load16x4_u(src + (<usize>i << 1));
    const em = v128.and(h, magnitude);
    let f = f32x4.mul(i32x4.shl(em, 13), scale);
    f = v128.or(f, v128.and(i32x4.gt_s(em, finite), infinity));
    v128.store(dst + (<usize>i << 2), v128.or(f, v128.and(i32x4.shl(h, 16), signBit)));
  }
}

/**
 * count f32 at src to bf16 codes at dst, four at a time, round to nearest even, every NaN to
 * 0x7fc0 (as bf16Code in JS).
 */
export function narrow_bf16(src: usize, dst: usize, count: i32): void {
  const one = lanes(1), half = lanes(0x7fff), nan = lanes(0x7fc0);
  for (let i = 0; i < count; i += 4) {
    const x = v128.load(src + (<usize>i << 2));
    const lsb = v128.and(i32x4.shr_u(x, 16), one);
    const r = i32x4.shr_u(i32x4.add(x, i32x4.add(half, lsb)), 16);
    const code = select(nan, r, f32x4.ne(x, x));
    v128.store64_lane(dst + (<usize>i << 1), i16x8.narrow_i32x4_u(code, code), 0);
  }
}

/**
 * count f32 at src to f16 codes at dst, four at a time, round to nearest even (F. Giesen's
 * float_to_half_fast3_rtne, branch-free): overflow and Inf to Inf, NaN to 0x7e00 (with its
 * sign), values below 2^-14 rounded by an f32 add of 0.5 (whose own rounding does the shift),
 * normal values by integer rounding of the 13 dropped bits.
 */
export function narrow_f16(src: usize, dst: usize, count: i32): void {
  const signBit = lanes(0x80000000), huge = lanes(0x477fffff), infinity = lanes(0x7f800000);
  const nanCode = lanes(0x7e00), infinityCode = lanes(0x7c00), tiny = lanes(0x38800000);
  const half = lanes(0x3f000000), one = lanes(1), rebias = lanes(-0x37fff001);
  for (let i = 0; i < count; i += 4) {
    const x = v128.load(src + (<usize>i << 2));
    const sign = v128.and(x, signBit);
    const u = v128.xor(x, sign); // below 2^31: signed comparisons (one instruction) suffice
    const big = i32x4.gt_s(u, huge); // >= 65536: Inf, NaN or overflow
    const bigCode = select(nanCode, infinityCode, i32x4.gt_s(u, infinity));
    const small = i32x4.gt_s(tiny, u); // < 2^-14: an f16 subnormal
    const smallCode = i32x4.sub(f32x4.add(u, half), half); // half: the bits of 0.5
    // Normal: rebias the exponent, add 0xfff plus the odd bit, shift.
    const odd = v128.and(i32x4.shr_u(u, 13), one);
    const normCode = i32x4.shr_u(i32x4.add(i32x4.add(u, rebias), odd), 13);
    let code = select(smallCode, normCode, small);
    code = select(bigCode, code, big);
    code = v128.or(code, i32x4.shr_u(sign, 16));
    v128.store64_lane(dst + (<usize>i << 1), i16x8.narrow_i32x4_u(code, code), 0);
  }
}

/**
 * count f64 at src to f32 at dst, two at a time, rounded to odd: toward zero, with the last bit
 * set wherever that loses anything (the nearest float32 one step back toward zero where it lies
 * beyond the double, as an overflow to Infinity does, then the bit set). Such a float32 lies on
 * a point of a coarser grid (a value of a format of at most 22 significant bits, or a midpoint
 * between two) only where the double does, and otherwise strictly between the same two points:
 * rounded once more, to nearest or in a directed mode, it gives what rounding the double would
 * (Boldo and Melquiond, "When double rounding is odd", 2005). NaN stays NaN.
 */
export function demote_odd(src: usize, dst: usize, count: i32): void {
  const one = lanes(1);
  for (let i = 0; i < count; i += 2) {
    const x = v128.load(src + (<usize>i << 3));
    const nearest = f32x4.demote_f64x2_zero(x);
    const back = f64x2.promote_low_f32x4(nearest);
    // The 64-bit masks' low halves, in lanes 0 and 1.
    const inexact = i32x4.shuffle(f64x2.ne(back, x), back, 0, 2, 0, 2);
    const away = i32x4.shuffle(f64x2.gt(f64x2.abs(back), f64x2.abs(x)), back, 0, 2, 0, 2);
    const truncated = i32x4.sub(nearest, v128.and(away, one));
    v128.store64_lane(dst + (<usize>i << 2), v128.or(truncated, v128.and(inexact, one)), 0);
  }
}

// ---------------------------------------------------------------------------------------------
// Minifloats: codes of up to 16 bits through tables, rounding to any minifloat as the
// TypeScript encoder (layers/storage/minifloat.ts) rounds, operation for operation.

/** count codes C at src to the values T at dst, each looked up in the table of every code's. */
// @ts-ignore: decorator
@inline function widenCodes<C, T>(src: usize, dst: usize, count: i32, table: usize): void {
  for (let i = 0; i < count; i++) {
    const code = <usize>load<C>(src + <usize>i * sizeof<C>());
    store<T>(dst + <usize>i * sizeof<T>(), load<T>(table + code * sizeof<T>()));
  }
}

/** count u8 codes at src to the f32 at dst, each looked up in the 256 f32 at table. */
export function widen_u8(src: usize, dst: usize, count: i32, table: usize): void {
  widenCodes<u8, f32>(src, dst, count, table);
}

/**
 * count codes of `codeBytes` (1 or 2) at src to the f64 at dst, each looked up in the table of
 * every code's f64 value: a minifloat with values outside float32's range or precision.
 */
export function widen_codes_f64(
  src: usize, dst: usize, count: i32, table: usize, codeBytes: i32,
): void {
  if (codeBytes == 1) widenCodes<u8, f64>(src, dst, count, table);
  else widenCodes<u16, f64>(src, dst, count, table);
}

/**
 * count (a multiple of 8) byte codes at src to f32 at dst, four at a time, from their fields
 * (layers/wasm/minifloat_codec.ts checks on all 256 codes that this gives the table's value).
 * Bit 7 is the sign. A magnitude (the low 7 bits) from `normal` up, shifted left by `shift`
 * and `rebias` added, is the float32's bits; one below, a multiple of the smallest subnormal
 * `subnormal`, is converted and multiplied (a float32 subnormal, which x64 multiplies slowly,
 * never occurs); the magnitude `infinity` is ±Infinity, those from `nan` up NaN (0x7fc00000,
 * as the table stores it).
 */
export function widen_u8_fields(
  src: usize, dst: usize, count: i32, shift: i32, rebias: i32, subnormal: f32,
  infinity: i32, nan: i32,
): void {
  const magnitude = lanes(0x7f), signBit = lanes(0x80), offset = lanes(rebias);
  const step = f32x4.splat(subnormal), normal = lanes(1 << (23 - shift));
  const infinite = lanes(infinity), nans = lanes(nan - 1), exponent = lanes(0x7f800000);
  const nanBits = lanes(0x7fc00000);
  for (let i = 0; i < count; i += 4) {
    const c = i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(v128.load32_zero(src + <usize>i)));
    const m = v128.and(c, magnitude);
    const sign = i32x4.shl(v128.and(c, signBit), 24);
    const small = f32x4.mul(f32x4.convert_i32x4_s(m), step);
    let f = select(small, i32x4.add(i32x4.shl(m, shift), offset), i32x4.gt_s(normal, m));
    f = v128.or(f, sign);
    f = select(v128.or(exponent, sign), f, i32x4.eq(m, infinite));
    f = select(nanBits, f, i32x4.gt_s(m, nans));
    v128.store(dst + (<usize>i << 2), f);
  }
}

/** count u16 codes at src to the f32 at dst, each looked up in the 65,536 f32 at table. */
export function widen_u16(src: usize, dst: usize, count: i32, table: usize): void {
  widenCodes<u16, f32>(src, dst, count, table);
}

/** count u16 codes at p replaced in place by the u16 at table[code] (ReLU over codes). */
export function map_u16(p: usize, count: i32, table: usize): void {
  for (let i = 0; i < count; i++) {
    const at = p + (<usize>i << 1);
    store<u16>(at, load<u16>(table + (<usize>load<u16>(at) << 1)));
  }
}

/** d[i] &= keep[x[i]] over count u16 codes: keep holds 0xffff or 0 (ReLU backward). */
export function keep_u16(x: usize, d: usize, count: i32, keep: usize): void {
  for (let i = 0; i < count; i++) {
    const at = d + (<usize>i << 1);
    const code = <usize>load<u16>(x + (<usize>i << 1));
    store<u16>(at, load<u16>(at) & load<u16>(keep + (code << 1)));
  }
}

/** count u8 codes at p replaced in place by the u8 at table[code] (ReLU over codes). */
export function map_u8(p: usize, count: i32, table: usize): void {
  for (let i = 0; i < count; i++) {
    const at = p + <usize>i;
    store<u8>(at, load<u8>(table + <usize>load<u8>(at)));
  }
}

/**
 * ReLU over count (a multiple of 8) byte codes at p, eight at a time, for a format whose ReLU
 * is this rule (checked on all 256 codes by layers/wasm/minifloat_codec.ts), where map_u8 looks
 * every code up: codes of magnitude (the low 7 bits) `nan` or more become `nanCode`, codes
 * from `low` to `high` (the negative values) `zero`.
 */
export function relu_u8_codes(
  p: usize, count: i32, low: i32, high: i32, zero: i32, nan: i32, nanCode: i32,
): void {
  const from = i8x16.splat(<i8>(low + opaque_zero)), to = i8x16.splat(<i8>(high + opaque_zero));
  const zeros = i8x16.splat(<i8>(zero + opaque_zero)), magnitude = i8x16.splat(<i8>(0x7f + opaque_zero));
  const nans = i8x16.splat(<i8>(nan + opaque_zero)), nanCodes = i8x16.splat(<i8>(nanCode + opaque_zero));
  for (let i = 0; i < count; i += 8) {
    const at = p + <usize>i;
    const v = v128.load64_zero(at);
    const negative = v128.and(i8x16.ge_u(v, from), i8x16.le_u(v, to));
    const isNan = i8x16.ge_u(v128.and(v, magnitude), nans);
    v128.store64_lane(at, select(nanCodes, select(zeros, v, negative), isNan), 0);
  }
}

/** d[i] &= keep[x[i]] over count u8 codes: keep holds 0xff or 0 (ReLU backward over codes). */
export function keep_u8(x: usize, d: usize, count: i32, keep: usize): void {
  for (let i = 0; i < count; i++) {
    const at = d + <usize>i;
    store<u8>(at, load<u8>(at) & load<u8>(keep + <usize>load<u8>(x + <usize>i)));
  }
}

// The rounding modes, numbered as MODE_NUMBERS in layers/wasm/minifloat_codec.ts.
const NEAREST_EVEN = 0, NEAREST_AWAY = 1, NEAREST_ZERO = 2, TOWARD_POSITIVE = 3;
const TOWARD_NEGATIVE = 4, TOWARD_ZERO = 5, ODD = 6, STOCHASTIC = 7, STOCHASTIC_EQUAL = 8;

/** Entries of the encoder's tables: one per exponent field of a finite double. */
const FIELDS = 2047;

/**
 * Whether a magnitude a fraction f of a spacing above its lower neighbour (code parity `odd`)
 * rounds up, given the sign and 32 random bits: rounding.ts's roundsUp, mode by mode.
 */
// @ts-ignore: decorator
@inline function roundsUp(mode: i32, bits: i32, f: f64, odd: bool, negative: bool, random: u32): bool {
  switch (mode) {
    case NEAREST_EVEN: return f > 0.5 || (f == 0.5 && odd);
    case NEAREST_AWAY: return f >= 0.5;
    case NEAREST_ZERO: return f > 0.5;
    case TOWARD_POSITIVE: return f > 0 && !negative;
    case TOWARD_NEGATIVE: return f > 0 && negative;
    case TOWARD_ZERO: return false;
    case ODD: return f > 0 && !odd;
    case STOCHASTIC_EQUAL: return f > 0 && random >= 0x80000000;
    case STOCHASTIC: {
      if (bits == 0) return <f64>random < f * 4294967296.0;
      const whole = <f64>(<u64>1 << <u64>bits);
      return Math.floor(f * whole) + <f64>(random >>> <u32>(32 - bits)) >= whole;
    }
  }
  return false;
}

/**
 * count values of type T (f32 or f64) at src to codes of 1 or 2 bytes (elemBytes) at dst,
 * rounded as the encoder described at codec rounds them; random: 32 random bits per value
 * (u32), or 0 when the mode reads none. The codec, built by layers/wasm/minifloat_codec.ts:
 *   i32 [sign code, largest finite code, NaN code, overflow code (Infinity or saturated),
 *        finite overflow when positive, when negative, mode, random bits (0: exact)]
 *   then f64 [FIELDS] each: scaleHigh, scaleLow, offset, step, by double exponent field.
 * A float32 is widened to f64 (exact), and each value encoded by the same operations, in the
 * same order, as the TypeScript encoder: |x| scaled by two powers of two, one rounding to an
 * integer k, the code offset + k·step.
 */
// @ts-ignore: decorator
@inline function narrowMinifloat<T>(
  src: usize, dst: usize, count: i32, codec: usize, elemBytes: i32, random: usize,
): void {
  const signCode = load<i32>(codec);
  const maxFinite = <f64>load<i32>(codec, 4);
  const nan = load<i32>(codec, 8);
  const overflow = load<i32>(codec, 12);
  const overPositive = load<i32>(codec, 16);
  const overNegative = load<i32>(codec, 20);
  const mode = load<i32>(codec, 24);
  const bits = load<i32>(codec, 28);
  for (let i = 0; i < count; i++) {
    const x = <f64>load<T>(src + <usize>i * sizeof<T>());
    const code = encodeMinifloat(
      x, codec, signCode, maxFinite, nan, overflow, overPositive, overNegative, mode, bits,
      random, i,
    );
    if (elemBytes == 1) store<u8>(dst + <usize>i, code);
    else store<u16>(dst + (<usize>i << 1), code);
  }
}

/**
 * The code of x by the encoder at codec (see narrowMinifloat), given the fields of its header
 * (read once, outside the caller's loop); its random bits, if the mode reads any, are the u32
 * at index i of random.
 */
// @ts-ignore: decorator
@inline function encodeMinifloat(
  x: f64, codec: usize, signCode: i32, maxFinite: f64, nan: i32, overflow: i32,
  overPositive: i32, overNegative: i32, mode: i32, bits: i32, random: usize, i: i32,
): i32 {
  const scaleHigh = codec + 32;
  const scaleLow = scaleHigh + FIELDS * 8;
  const offsets = scaleLow + FIELDS * 8;
  const steps = offsets + FIELDS * 8;
  const word = reinterpret<u64>(x);
  const negative = (word >> 63) != 0;
  const sign = negative ? signCode : 0;
  const field = <i32>(word >> 52) & 0x7ff;
  let code: i32;
  if (field == 0x7ff) {
    code = sign + (x == x ? overflow : nan);
  } else {
    const t = <usize>field << 3;
    const spacings = Math.abs(x) * load<f64>(scaleHigh + t) * load<f64>(scaleLow + t);
    let k: f64;
    if (mode == NEAREST_EVEN) {
      k = nearest<f64>(spacings); // as spacings + 2^52 - 2^52 for 0 <= spacings < 2^52
    } else {
      k = Math.floor(spacings);
      // As the TypeScript encoder: an underflow to 0 spacings is still a positive fraction.
      const fraction = spacings == 0 && x != 0 ? 5e-324 : spacings - k;
      const r = random ? load<u32>(random + (<usize>i << 2)) : 0;
      if (roundsUp(mode, bits, fraction, (<i64>k & 1) == 1, negative, r)) k += 1;
    }
    const c = load<f64>(offsets + t) + k * load<f64>(steps + t);
    code = sign + (c > maxFinite ? (negative ? overNegative : overPositive) : <i32>c);
  }
  return code;
}

/** narrowMinifloat of count f32 at src. */
export function narrow_minifloat(
  src: usize, dst: usize, count: i32, codec: usize, elemBytes: i32, random: usize,
): void {
  narrowMinifloat<f32>(src, dst, count, codec, elemBytes, random);
}

/** narrowMinifloat of count f64 at src: each rounded once, as the format's write rounds it. */
export function narrow_minifloat_f64(
  src: usize, dst: usize, count: i32, codec: usize, elemBytes: i32, random: usize,
): void {
  narrowMinifloat<f64>(src, dst, count, codec, elemBytes, random);
}

/**
 * count f32 at src to byte codes at dst through table: 131,072 codes, the one of a float32 with
 * top 16 bits h at 2h, or 2h + 1 when its low 16 bits are not all zero. Exact for a format
 * whose every rounding boundary has its bits in a float32's top 16 (layers/wasm/
 * minifloat_codec.ts builds the table from the format's own encoder only then).
 */
export function narrow_u8_lookup(src: usize, dst: usize, count: i32, table: usize): void {
  for (let i = 0; i < count; i++) {
    const w = load<u32>(src + (<usize>i << 2));
    const at = ((w >>> 15) & 0x1fffe) | <u32>((w & 0xffff) != 0);
    store<u8>(dst + <usize>i, load<u8>(table + <usize>at));
  }
}

/**
 * count (a multiple of 8) f32 at src to byte codes at dst, four at a time, rounded to nearest
 * even from the float32's fields, for a format where this gives narrow_u8_lookup's codes
 * (layers/wasm/minifloat_codec.ts checks every top 16 bits with low halves 0, 1 and 0xffff;
 * every step below is monotone in the float32 and constant in its low 16 bits but for whether
 * they are zero, so the codes agree on every float32). As narrow_minifloat, a magnitude code c
 * and the sign's code 0x80 added: c is ((bits + rebias + odd) >> shift), odd being the lowest
 * kept bit, for magnitudes from the smallest normal `normal` (as bits) up, and the float32 sum
 * with `magic` (whose spacing is the smallest subnormal's value) less its bits below; a c past
 * `maxFinite` is overPositive or overNegative, Infinity `overflow` and NaN `nan`.
 */
export function narrow_u8_fields(
  src: usize, dst: usize, count: i32, shift: i32, rebias: i32, normal: i32, magic: i32,
  maxFinite: i32, overPositive: i32, overNegative: i32, overflow: i32, nan: i32,
): void {
  const magnitude = lanes(0x7fffffff), one = lanes(1), offset = lanes(rebias);
  const smallest = lanes(normal), addend = lanes(magic), largest = lanes(maxFinite);
  const overs = lanes(overPositive), negativeOvers = lanes(overNegative);
  const infinity = lanes(0x7f800000), finite = lanes(0x7f7fffff), infinities = lanes(overflow);
  const nans = lanes(nan), signCode = lanes(0x80);
  for (let i = 0; i < count; i += 4) {
    const x = v128.load(src + (<usize>i << 2));
    const negative = i32x4.shr_s(x, 31);
    const u = v128.and(x, magnitude); // below 2^31: signed comparisons suffice
    const odd = v128.and(i32x4.shr_u(u, shift), one);
    const normalCode = i32x4.shr_u(i32x4.add(i32x4.add(u, offset), odd), shift);
    const subnormalCode = i32x4.sub(f32x4.add(u, addend), addend);
    let c = select(subnormalCode, normalCode, i32x4.gt_s(smallest, u));
    c = select(select(negativeOvers, overs, negative), c, i32x4.gt_s(c, largest));
    const special = select(nans, infinities, i32x4.gt_s(u, infinity));
    c = select(special, c, i32x4.gt_s(u, finite));
    const code = i32x4.add(c, v128.and(negative, signCode));
    const bytes = i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_u(code, code), i32x4.splat(0));
    v128.store32_lane(dst + <usize>i, bytes, 0);
  }
}

// ---------------------------------------------------------------------------------------------
// ReLU in place on stored elements (counts multiples of 8). x < 0 becomes +0; -0 and NaN stay,
// as in the TypeScript layer.

/** ReLU over count f32 at p. */
export function relu_f32(p: usize, count: i32): void {
  const z = f32x4.splat(0);
  for (let i = 0; i < count; i += 4) {
    const at = p + (<usize>i << 2);
    const v = v128.load(at);
    v128.store(at, v128.andnot(v, f32x4.lt(v, z)));
  }
}

/** ReLU over count f64 at p. */
export function relu_f64(p: usize, count: i32): void {
  const z = f64x2.splat(0);
  for (let i = 0; i < count; i += 2) {
    const at = p + (<usize>i << 3);
    const v = v128.load(at);
    v128.store(at, v128.andnot(v, f64x2.lt(v, z)));
  }
}

/**
 * ReLU over count 16-bit codes at p (f16: inf = 0x7c00; bf16: inf = 0x7f80). A code is below
 * zero when its sign is set and its magnitude is in 1..inf (not -0, not NaN).
 */
export function relu_16(p: usize, count: i32, inf: i32): void {
  // Built once (see lanes): as constants, V8 would build them anew in every step.
  const one = i16x8.splat(<i16>(1 + opaque_zero));
  const last = i16x8.splat(<i16>(inf - 1));
  const magnitude = i16x8.splat(<i16>(0x7fff + opaque_zero));
  for (let i = 0; i < count; i += 8) {
    const at = p + (<usize>i << 1);
    const v = v128.load(at);
    const negative = i16x8.lt_s(v, i16x8.splat(0));
    const m = i16x8.sub(v128.and(v, magnitude), one); // magnitude 0 wraps to 0xffff
    const below = v128.and(negative, i16x8.le_u(m, last));
    v128.store(at, v128.andnot(v, below));
  }
}

// ---------------------------------------------------------------------------------------------
// Max pooling

/**
 * Max pooling over `planes` planes (h x w each) of T at src into planes (oh x ow) at dst, and
 * for every output the index within its input plane of the maximum, as i32 at argmax. The
 * window: 8 i32 at win, its height and width, strides, pads above and left, pads below and
 * right (the output's extent, oh x ow, accounts for those two). The same
 * comparisons as the TypeScript layer: the first maximum wins a tie, a NaN wins and stays (the
 * last NaN of the window).
 */
// @ts-ignore: decorator
@inline function maxPool<T>(
  src: usize, planes: i32, h: i32, w: i32, win: usize, oh: i32, ow: i32, dst: usize, argmax: usize,
): void {
  const eb = <usize>sizeof<T>();
  const kh = load<i32>(win), kw = load<i32>(win, 4), sh = load<i32>(win, 8);
  const sw = load<i32>(win, 12), ph = load<i32>(win, 16), pw = load<i32>(win, 20);
  let o: usize = 0;
  for (let p = 0; p < planes; p++) {
    const plane = src + <usize>p * <usize>h * <usize>w * eb;
    for (let oy = 0; oy < oh; oy++) {
      const y0 = max(0, oy * sh - ph);
      const y1 = min(h, oy * sh - ph + kh);
      for (let ox = 0; ox < ow; ox++, o++) {
        const x0 = max(0, ox * sw - pw);
        const x1 = min(w, ox * sw - pw + kw);
        let best = <T>-Infinity;
        let at = -1;
        for (let iy = y0; iy < y1; iy++) {
          for (let ix = x0; ix < x1; ix++) {
            const v = load<T>(plane + <usize>(iy * w + ix) * eb);
            if (v > best || v != v || at < 0) {
              best = v;
              at = iy * w + ix;
            }
          }
        }
        store<T>(dst + o * eb, best);
        store<i32>(argmax + (o << 2), at);
      }
    }
  }
}

/**
 * One step of a 2x2 window over 4 (f32) or 2 (f64) windows at once: where `v` wins (greater,
 * or NaN), it becomes the best and its index the argmax; the same rule as maxPool.
 */
// @ts-ignore: decorator
@inline function take32(v: v128, best: v128): v128 {
  return v128.or(f32x4.gt(v, best), f32x4.ne(v, v));
}

// @ts-ignore: decorator
@inline function take64(v: v128, best: v128): v128 {
  return v128.or(f64x2.gt(v, best), f64x2.ne(v, v));
}

/**
 * 2x2 windows, stride 2, no padding (DeepConvNet's pools), 4 outputs per step: two loads per
 * input row give 8 inputs, split into the windows' left and right columns.
 */
function pool2x2_f32(src: usize, planes: i32, h: i32, w: i32, oh: i32, ow: i32, dst: usize, argmax: usize): void {
  const groups = ow >> 2;
  let o: usize = 0;
  for (let p = 0; p < planes; p++) {
    const plane = src + (<usize>p * <usize>h * <usize>w << 2);
    for (let oy = 0; oy < oh; oy++) {
      // Seek to the window's top input row; `first` is the index of each window's top left.
      const row0 = plane + (<usize>(2 * oy * w) << 2);
      const row1 = row0 + (<usize>w << 2);
      let first = i32x4.add(i32x4.splat(2 * oy * w), i32x4(0, 2, 4, 6));
      for (let g = 0; g < groups; g++, o += 4) {
        const at = <usize>g << 5;
        const t0 = v128.load(row0 + at), t1 = v128.load(row0 + at, 16);
        const b0 = v128.load(row1 + at), b1 = v128.load(row1 + at, 16);
        let best = i8x16.shuffle(t0, t1, 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27);
        let index = first;
        let v = i8x16.shuffle(t0, t1, 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31);
        let win = take32(v, best);
        best = v128.bitselect(v, best, win);
        index = v128.bitselect(i32x4.add(first, i32x4.splat(1)), index, win);
        v = i8x16.shuffle(b0, b1, 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27);
        win = take32(v, best);
        best = v128.bitselect(v, best, win);
        index = v128.bitselect(i32x4.add(first, i32x4.splat(w)), index, win);
        v = i8x16.shuffle(b0, b1, 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31);
        win = take32(v, best);
        best = v128.bitselect(v, best, win);
        index = v128.bitselect(i32x4.add(first, i32x4.splat(w + 1)), index, win);
        v128.store(dst + (o << 2), best);
        v128.store(argmax + (o << 2), index);
        first = i32x4.add(first, i32x4.splat(8));
      }
      for (let ox = groups << 2; ox < ow; ox++, o++) {
        pool2x2One<f32>(plane, w, oy, ox, dst + (o << 2), argmax + (o << 2));
      }
    }
  }
}

/** As pool2x2_f32 over f64, 2 outputs per step. */
function pool2x2_f64(src: usize, planes: i32, h: i32, w: i32, oh: i32, ow: i32, dst: usize, argmax: usize): void {
  const groups = ow >> 1;
  let o: usize = 0;
  for (let p = 0; p < planes; p++) {
    const plane = src + (<usize>p * <usize>h * <usize>w << 3);
    for (let oy = 0; oy < oh; oy++) {
      const row0 = plane + (<usize>(2 * oy * w) << 3);
      const row1 = row0 + (<usize>w << 3);
      let first = i64x2.add(i64x2.splat(2 * oy * w), i64x2(0, 2));
      for (let g = 0; g < groups; g++, o += 2) {
        const at = <usize>g << 5;
        const t0 = v128.load(row0 + at), t1 = v128.load(row0 + at, 16);
        const b0 = v128.load(row1 + at), b1 = v128.load(row1 + at, 16);
        let best = i8x16.shuffle(t0, t1, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
        let index = first;
        let v = i8x16.shuffle(t0, t1, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
        let win = take64(v, best);
        best = v128.bitselect(v, best, win);
        index = v128.bitselect(i64x2.add(first, i64x2.splat(1)), index, win);
        v = i8x16.shuffle(b0, b1, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
        win = take64(v, best);
        best = v128.bitselect(v, best, win);
        index = v128.bitselect(i64x2.add(first, i64x2.splat(w)), index, win);
        v = i8x16.shuffle(b0, b1, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
        win = take64(v, best);
        best = v128.bitselect(v, best, win);
        index = v128.bitselect(i64x2.add(first, i64x2.splat(w + 1)), index, win);
        v128.store(dst + (o << 3), best);
        store<i32>(argmax + (o << 2), <i32>i64x2.extract_lane(index, 0));
        store<i32>(argmax + (o << 2), <i32>i64x2.extract_lane(index, 1), 4);
        first = i64x2.add(first, i64x2.splat(4));
      }
      for (let ox = groups << 1; ox < ow; ox++, o++) {
        pool2x2One<f64>(plane, w, oy, ox, dst + (o << 3), argmax + (o << 2));
      }
    }
  }
}

/** One 2x2 window (the last outputs of a row), scalar, by the rule of maxPool. */
// @ts-ignore: decorator
@inline function pool2x2One<T>(plane: usize, w: i32, oy: i32, ox: i32, dst: usize, argmax: usize): void {
  const eb = <usize>sizeof<T>();
  let at = 2 * oy * w + 2 * ox;
  let best = load<T>(plane + <usize>at * eb);
  for (let j = 1; j < 4; j++) {
    const i = 2 * oy * w + 2 * ox + (j >> 1) * w + (j & 1);
    const v = load<T>(plane + <usize>i * eb);
    if (v > best || v != v) {
      best = v;
      at = i;
    }
  }
  store<T>(dst, best);
  store<i32>(argmax, at);
}

/** Whether the window at win (see maxPool) is 2x2 with stride 2 and no padding on any side. */
// @ts-ignore: decorator
@inline function is2x2(win: usize): bool {
  return load<i32>(win) == 2 && load<i32>(win, 4) == 2 && load<i32>(win, 8) == 2 &&
    load<i32>(win, 12) == 2 && load<i32>(win, 16) == 0 && load<i32>(win, 20) == 0 &&
    load<i32>(win, 24) == 0 && load<i32>(win, 28) == 0;
}

/** Max pooling over f32 planes; see maxPool. */
export function max_pool_f32(
  src: usize, planes: i32, h: i32, w: i32, win: usize, oh: i32, ow: i32, dst: usize, argmax: usize,
): void {
  if (is2x2(win)) pool2x2_f32(src, planes, h, w, oh, ow, dst, argmax);
  else maxPool<f32>(src, planes, h, w, win, oh, ow, dst, argmax);
}

/** Max pooling over f64 planes; see maxPool. */
export function max_pool_f64(
  src: usize, planes: i32, h: i32, w: i32, win: usize, oh: i32, ow: i32, dst: usize, argmax: usize,
): void {
  if (is2x2(win)) pool2x2_f64(src, planes, h, w, oh, ow, dst, argmax);
  else maxPool<f64>(src, planes, h, w, win, oh, ow, dst, argmax);
}

// ---------------------------------------------------------------------------------------------
// Backward passes. Gradients of conv and affine are GEMMs too (gemm_f32 / gemm_f64 above);
// these kernels lay their operands out and reduce what the GEMMs leave.

/**
 * The adjoint of im2col, for the input gradient of a convolution of any stride: dst (channels
 * x h x w of T, unpadded) = zeros, then every entry of col (channels*kh*kw x oh*ow) added onto
 * the input element it was read from (entries from the padding are dropped), tap by tap in
 * order, as the TypeScript layer sums them. The window: 8 i32 at win, as maxPool's.
 */
// @ts-ignore: decorator
@inline function col2im<T>(
  col: usize, channels: i32, h: i32, w: i32, win: usize, oh: i32, ow: i32, dst: usize,
): void {
  const eb = <usize>sizeof<T>();
  const kh = load<i32>(win), kw = load<i32>(win, 4), sh = load<i32>(win, 8);
  const sw = load<i32>(win, 12), ph = load<i32>(win, 16), pw = load<i32>(win, 20);
  zero(dst, <usize>channels * <usize>h * <usize>w * eb);
  let src = col;
  for (let ch = 0; ch < channels; ch++) {
    for (let ky = 0; ky < kh; ky++) {
      for (let kx = 0; kx < kw; kx++) {
        for (let oy = 0; oy < oh; oy++) {
          const iy = oy * sh - ph + ky;
          // Seek to input row iy of channel ch.
          const row = dst + <usize>(ch * h + iy) * <usize>w * eb;
          for (let ox = 0; ox < ow; ox++, src += eb) {
            const ix = ox * sw - pw + kx;
            if (iy >= 0 && iy < h && ix >= 0 && ix < w) {
              const at = row + <usize>ix * eb;
              store<T>(at, load<T>(at) + load<T>(src));
            }
          }
        }
      }
    }
  }
}

/** col2im over f32; see col2im. */
export function col2im_f32(
  col: usize, channels: i32, h: i32, w: i32, win: usize, oh: i32, ow: i32, dst: usize,
): void {
  col2im<f32>(col, channels, h, w, win, oh, ow, dst);
}

/** col2im over f64; see col2im. */
export function col2im_f64(
  col: usize, channels: i32, h: i32, w: i32, win: usize, oh: i32, ow: i32, dst: usize,
): void {
  col2im<f64>(col, channels, h, w, win, oh, ow, dst);
}

/**
 * dst (cols x rows) = the transpose of src (rows x cols), elements of elemBytes: 4 or 8 (a
 * value), or any multiple of 4 (a run of values moved as one block).
 */
export function transpose(src: usize, rows: i32, cols: i32, dst: usize, elemBytes: i32): void {
  const eb = <usize>elemBytes;
  for (let r = 0; r < rows; r++) {
    let s = src + <usize>r * <usize>cols * eb;
    let d = dst + <usize>r * eb;
    for (let c = 0; c < cols; c++, s += eb, d += <usize>rows * eb) {
      if (eb == 8) store<u64>(d, load<u64>(s));
      else if (eb == 4) store<u32>(d, load<u32>(s));
      else copy(d, s, eb);
    }
  }
}

/**
 * Adds the sum of each row of src (rows x cols of T) to the f64 at dst, four rows at a time:
 * four independent chains (one alone waits on each add's latency), each summing its row in
 * column order, in f64, as the TypeScript layers sum them.
 */
// @ts-ignore: decorator
@inline function rowSums<T>(src: usize, rows: i32, cols: i32, dst: usize): void {
  const eb = <usize>sizeof<T>();
  const stride = <usize>cols * eb;
  let r = 0;
  for (; r + 4 <= rows; r += 4) {
    const d = dst + (<usize>r << 3);
    let s0 = load<f64>(d), s1 = load<f64>(d, 8), s2 = load<f64>(d, 16), s3 = load<f64>(d, 24);
    let p = src + <usize>r * stride; // seek to row r
    for (let c = 0; c < cols; c++, p += eb) {
      s0 += <f64>load<T>(p);
      s1 += <f64>load<T>(p + stride);
      s2 += <f64>load<T>(p + 2 * stride);
      s3 += <f64>load<T>(p + 3 * stride);
    }
    store<f64>(d, s0);
    store<f64>(d, s1, 8);
    store<f64>(d, s2, 16);
    store<f64>(d, s3, 24);
  }
  for (; r < rows; r++) {
    const d = dst + (<usize>r << 3);
    let s = load<f64>(d);
    let p = src + <usize>r * stride;
    for (let c = 0; c < cols; c++, p += eb) s += <f64>load<T>(p);
    store<f64>(d, s);
  }
}

/**
 * Adds the sum of each row of src (rows x cols, f32 or f64 by elemBytes) to the f64 at dst:
 * the bias gradients.
 */
export function add_row_sums(src: usize, rows: i32, cols: i32, dst: usize, elemBytes: i32): void {
  if (elemBytes == 8) rowSums<f64>(src, rows, cols, dst);
  else rowSums<f32>(src, rows, cols, dst);
}

/** Adds count f32 at src to the f64 at dst (conv's weight gradient, image by image). */
export function add_f32_to_f64(src: usize, dst: usize, count: i32): void {
  for (let i = 0; i < count; i++) {
    const d = dst + (<usize>i << 3);
    store<f64>(d, load<f64>(d) + <f64>load<f32>(src + (<usize>i << 2)));
  }
}

/**
 * ReLU backward in place on stored elements (counts multiples of 8): d stays where x > 0 and
 * becomes +0 elsewhere (x <= 0 or NaN), as in the TypeScript layer.
 */
export function relu_backward_f32(x: usize, d: usize, count: i32): void {
  const z = f32x4.splat(0);
  for (let i = 0; i < count; i += 4) {
    const at = <usize>i << 2;
    v128.store(d + at, v128.and(v128.load(d + at), f32x4.gt(v128.load(x + at), z)));
  }
}

/** As relu_backward_f32 over f64. */
export function relu_backward_f64(x: usize, d: usize, count: i32): void {
  const z = f64x2.splat(0);
  for (let i = 0; i < count; i += 2) {
    const at = <usize>i << 3;
    v128.store(d + at, v128.and(v128.load(d + at), f64x2.gt(v128.load(x + at), z)));
  }
}

/**
 * As relu_backward_f32 over 16-bit codes whose infinity is `inf`: x > 0 when its code, as a
 * signed integer, is in 1..inf (sign clear, not zero, not NaN).
 */
export function relu_backward_16(x: usize, d: usize, count: i32, inf: i32): void {
  const z = i16x8.splat(0);
  const limit = i16x8.splat(<i16>inf);
  for (let i = 0; i < count; i += 8) {
    const at = <usize>i << 1;
    const v = v128.load(x + at);
    const positive = v128.and(i16x8.gt_s(v, z), i16x8.le_s(v, limit));
    v128.store(d + at, v128.and(v128.load(d + at), positive));
  }
}

/**
 * Max pooling backward over `planes` planes: dx (planes x inSize of T) = zeros, then every
 * output gradient dy (planes x outSize) added to the input element argmax (i32, an index
 * within its plane) picked. Overlapping windows can pick an element twice: the adds are in
 * output order, as in the TypeScript layer.
 */
// @ts-ignore: decorator
@inline function unpool<T>(dy: usize, planes: i32, outSize: i32, inSize: i32, argmax: usize, dx: usize): void {
  const eb = <usize>sizeof<T>();
  zero(dx, <usize>planes * <usize>inSize * eb);
  let o: usize = 0;
  for (let p = 0; p < planes; p++) {
    const plane = dx + <usize>p * <usize>inSize * eb;
    for (let j = 0; j < outSize; j++, o++) {
      const at = plane + <usize>load<i32>(argmax + (o << 2)) * eb;
      store<T>(at, load<T>(at) + load<T>(dy + o * eb));
    }
  }
}

/** Max pooling backward over f32; see unpool. */
export function unpool_f32(dy: usize, planes: i32, outSize: i32, inSize: i32, argmax: usize, dx: usize): void {
  unpool<f32>(dy, planes, outSize, inSize, argmax, dx);
}

/** Max pooling backward over f64; see unpool. */
export function unpool_f64(dy: usize, planes: i32, outSize: i32, inSize: i32, argmax: usize, dx: usize): void {
  unpool<f64>(dy, planes, outSize, inSize, argmax, dx);
}

// ---------------------------------------------------------------------------------------------
// The ceiling the GEMMs are measured against (`deno task perf`)

/**
 * n rounds of 12 independent f32x4 multiply-adds (fused in the relaxed build): 96 floating-point
 * operations a round, from registers only, enough chains to cover the latency of every pipe.
 * Returns a lane of the sum so that no round can be dropped. The multiplier and addend are
 * parameters: as constants, the compiler inlines them as a v128.const at every use, which V8
 * materialises anew each time, and the loop measures that instead (13 against 54 GFLOP/s).
 */
export function fma_peak(n: i32, multiplier: f32, addend: f32): f32 {
  const m = f32x4.splat(multiplier);
  const c = f32x4.splat(addend);
  let a0 = f32x4.splat(1), a1 = f32x4.splat(2), a2 = f32x4.splat(3), a3 = f32x4.splat(4);
  let a4 = f32x4.splat(5), a5 = f32x4.splat(6), a6 = f32x4.splat(7), a7 = f32x4.splat(8);
  let a8 = f32x4.splat(9), a9 = f32x4.splat(10), a10 = f32x4.splat(11), a11 = f32x4.splat(12);
  for (let i = 0; i < n; i++) {
    a0 = madd32(a0, m, c); a1 = madd32(a1, m, c); a2 = madd32(a2, m, c); a3 = madd32(a3, m, c);
    a4 = madd32(a4, m, c); a5 = madd32(a5, m, c); a6 = madd32(a6, m, c); a7 = madd32(a7, m, c);
    a8 = madd32(a8, m, c); a9 = madd32(a9, m, c); a10 = madd32(a10, m, c); a11 = madd32(a11, m, c);
  }
  const s = f32x4.add(
    f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)),
    f32x4.add(f32x4.add(f32x4.add(a4, a5), f32x4.add(a6, a7)), f32x4.add(f32x4.add(a8, a9), f32x4.add(a10, a11))),
  );
  return f32x4.extract_lane(s, 0);
}

// ---------------------------------------------------------------------------------------------
// Layers of imported models: average pooling, batch normalisation, scale, zero padding. Values
// of T (f32, or f64 for f64 storage) are computed on in f64 and each result rounded once to T,
// in the order the TypeScript layers compute them: for f32 and f64 the results are theirs.

/** v = v * factor / divisor in place over count values of T. */
// @ts-ignore: decorator
@inline function scaleValues<T>(p: usize, count: i32, factor: f64, divisor: f64): void {
  const eb = <usize>sizeof<T>();
  for (let i = 0; i < count; i++) {
    const at = p + <usize>i * eb;
    store<T>(at, <T>(<f64>load<T>(at) * factor / divisor));
  }
}

/** scaleValues over f32 or f64 by elemBytes (4 or 8). */
export function scale_values(p: usize, count: i32, factor: f64, divisor: f64, elemBytes: i32): void {
  if (elemBytes == 8) scaleValues<f64>(p, count, factor, divisor);
  else scaleValues<f32>(p, count, factor, divisor);
}

/**
 * In place over `planes` planes of `inner` values of T, plane p of channel c = p % channels:
 * v = v * scale[c] + shift[c] (scale and shift f64), or v * scale[c] when shift is 0.
 */
// @ts-ignore: decorator
@inline function channelAffine<T>(p: usize, planes: i32, inner: i32, channels: i32, scale: usize, shift: usize): void {
  const eb = <usize>sizeof<T>();
  let at = p;
  for (let plane = 0; plane < planes; plane++) {
    const c = <usize>(plane % channels) << 3;
    const s = load<f64>(scale + c);
    if (shift) {
      const b = load<f64>(shift + c);
      for (let i = 0; i < inner; i++, at += eb) store<T>(at, <T>(<f64>load<T>(at) * s + b));
    } else {
      for (let i = 0; i < inner; i++, at += eb) store<T>(at, <T>(<f64>load<T>(at) * s));
    }
  }
}

/** channelAffine over f32 or f64 by elemBytes (4 or 8). */
export function channel_affine(
  p: usize, planes: i32, inner: i32, channels: i32, scale: usize, shift: usize, elemBytes: i32,
): void {
  if (elemBytes == 8) channelAffine<f64>(p, planes, inner, channels, scale, shift);
  else channelAffine<f32>(p, planes, inner, channels, scale, shift);
}

/**
 * Over `planes` planes of `inner` values of T at x and dy, plane p of channel c = p % channels:
 * adds to the f64 dScale[c] every dy · x and to dShift[c] every dy, in element order.
 */
// @ts-ignore: decorator
@inline function channelSums<T>(x: usize, dy: usize, planes: i32, inner: i32, channels: i32, dScale: usize, dShift: usize): void {
  const eb = <usize>sizeof<T>();
  let at: usize = 0;
  for (let plane = 0; plane < planes; plane++) {
    const c = <usize>(plane % channels) << 3;
    let s = load<f64>(dScale + c), b = load<f64>(dShift + c);
    for (let i = 0; i < inner; i++, at += eb) {
      const d = <f64>load<T>(dy + at);
      s += d * <f64>load<T>(x + at);
      b += d;
    }
    store<f64>(dScale + c, s);
    store<f64>(dShift + c, b);
  }
}

/** channelSums over f32 or f64 by elemBytes (4 or 8). */
export function channel_sums(
  x: usize, dy: usize, planes: i32, inner: i32, channels: i32, dScale: usize, dShift: usize, elemBytes: i32,
): void {
  if (elemBytes == 8) channelSums<f64>(x, dy, planes, inner, channels, dScale, dShift);
  else channelSums<f32>(x, dy, planes, inner, channels, dScale, dShift);
}

/**
 * dst (planes x (h + top + bottom) x (w + left + right)) = every plane of src (planes x h x w)
 * inside a border of zeros; with `crop`, the other way: dst (planes x h x w) = the inside of
 * every padded plane of src. Elements of elemBytes.
 */
export function pad_planes(
  src: usize, planes: i32, h: i32, w: i32, top: i32, left: i32, bottom: i32, right: i32,
  dst: usize, elemBytes: i32, crop: bool,
): void {
  const eb = <usize>elemBytes;
  const ph = h + top + bottom, pw = w + left + right;
  if (!crop) zero(dst, <usize>planes * <usize>ph * <usize>pw * eb);
  for (let p = 0; p < planes; p++) {
    for (let y = 0; y < h; y++) {
      const inner = (<usize>p * <usize>h + <usize>y) * <usize>w * eb;
      const outer = ((<usize>p * <usize>ph + <usize>(y + top)) * <usize>pw + <usize>left) * eb;
      if (crop) copy(dst + inner, src + outer, <usize>w * eb);
      else copy(dst + outer, src + inner, <usize>w * eb);
    }
  }
}

/**
 * The input range [start, end) of window o along one axis (extent n, window k, stride s, pads
 * before and after), and the count the window divides by (its padding included or not).
 */
// @ts-ignore: decorator
@inline function windowStart(o: i32, s: i32, before: i32): i32 {
  return max(o * s - before, 0);
}

// @ts-ignore: decorator
@inline function windowEnd(o: i32, n: i32, k: i32, s: i32, before: i32): i32 {
  return min(o * s - before + k, n);
}

// @ts-ignore: decorator
@inline function windowCount(o: i32, n: i32, k: i32, s: i32, before: i32, after: i32, includePad: bool): i32 {
  const first = o * s - before;
  const last = min(first + k, n + after);
  return includePad ? last - first : min(last, n) - max(first, 0);
}

/**
 * The geometry of an average pool, 13 i32 at geo: h, w, kernel height and width, strides,
 * pads top, left, bottom, right, count_include_pad (0 or 1), oh, ow.
 */
// @ts-ignore: decorator
@inline function avgPool<T>(src: usize, planes: i32, geo: usize, dst: usize): void {
  const eb = <usize>sizeof<T>();
  const h = load<i32>(geo), w = load<i32>(geo, 4), kh = load<i32>(geo, 8), kw = load<i32>(geo, 12);
  const sh = load<i32>(geo, 16), sw = load<i32>(geo, 20), top = load<i32>(geo, 24);
  const left = load<i32>(geo, 28), bottom = load<i32>(geo, 32), right = load<i32>(geo, 36);
  const includePad = load<i32>(geo, 40) != 0, oh = load<i32>(geo, 44), ow = load<i32>(geo, 48);
  let out = dst;
  for (let p = 0; p < planes; p++) {
    const plane = src + <usize>p * <usize>h * <usize>w * eb;
    for (let oy = 0; oy < oh; oy++) {
      const y0 = windowStart(oy, sh, top), y1 = windowEnd(oy, h, kh, sh, top);
      const rows = windowCount(oy, h, kh, sh, top, bottom, includePad);
      for (let ox = 0; ox < ow; ox++, out += eb) {
        const x0 = windowStart(ox, sw, left), x1 = windowEnd(ox, w, kw, sw, left);
        const count = rows * windowCount(ox, w, kw, sw, left, right, includePad);
        let sum: f64 = 0;
        for (let iy = y0; iy < y1; iy++) {
          for (let ix = x0; ix < x1; ix++) sum += <f64>load<T>(plane + <usize>(iy * w + ix) * eb);
        }
        store<T>(out, <T>(sum / <f64>count));
      }
    }
  }
}

/** Average pooling over f32 or f64 planes by elemBytes; see avgPool. */
export function avg_pool(src: usize, planes: i32, geo: usize, dst: usize, elemBytes: i32): void {
  if (elemBytes == 8) avgPool<f64>(src, planes, geo, dst);
  else avgPool<f32>(src, planes, geo, dst);
}

/**
 * Average pooling backward: every plane of dx (h x w of T) = the sum, in f64 at `sums` (h x w),
 * of the shares dy / count each input received, in output order; geometry as avgPool's.
 */
// @ts-ignore: decorator
@inline function avgUnpool<T>(dy: usize, planes: i32, geo: usize, dx: usize, sums: usize): void {
  const eb = <usize>sizeof<T>();
  const h = load<i32>(geo), w = load<i32>(geo, 4), kh = load<i32>(geo, 8), kw = load<i32>(geo, 12);
  const sh = load<i32>(geo, 16), sw = load<i32>(geo, 20), top = load<i32>(geo, 24);
  const left = load<i32>(geo, 28), bottom = load<i32>(geo, 32), right = load<i32>(geo, 36);
  const includePad = load<i32>(geo, 40) != 0, oh = load<i32>(geo, 44), ow = load<i32>(geo, 48);
  let grad = dy;
  for (let p = 0; p < planes; p++) {
    zero(sums, <usize>h * <usize>w << 3);
    for (let oy = 0; oy < oh; oy++) {
      const y0 = windowStart(oy, sh, top), y1 = windowEnd(oy, h, kh, sh, top);
      const rows = windowCount(oy, h, kh, sh, top, bottom, includePad);
      for (let ox = 0; ox < ow; ox++, grad += eb) {
        const x0 = windowStart(ox, sw, left), x1 = windowEnd(ox, w, kw, sw, left);
        const count = rows * windowCount(ox, w, kw, sw, left, right, includePad);
        const share = <f64>load<T>(grad) / <f64>count;
        for (let iy = y0; iy < y1; iy++) {
          for (let ix = x0; ix < x1; ix++) {
            const at = sums + (<usize>(iy * w + ix) << 3);
            store<f64>(at, load<f64>(at) + share);
          }
        }
      }
    }
    const plane = dx + <usize>p * <usize>h * <usize>w * eb;
    for (let i = 0; i < h * w; i++) store<T>(plane + <usize>i * eb, <T>load<f64>(sums + (<usize>i << 3)));
  }
}

/** Average pooling backward over f32 or f64 planes by elemBytes; see avgUnpool. */
export function avg_unpool(dy: usize, planes: i32, geo: usize, dx: usize, sums: usize, elemBytes: i32): void {
  if (elemBytes == 8) avgUnpool<f64>(dy, planes, geo, dx, sums);
  else avgUnpool<f32>(dy, planes, geo, dx, sums);
}

// ---------------------------------------------------------------------------------------------
// Scaled formats: quantize → dequantize of a float32 operand in place, as layers/storage/mx.ts
// and scaled.ts do it, operation for operation in float64, so every value is the one the
// TypeScript code computes. An element type is (fraction bits, emin, emax, largest normal);
// mode is one of the deterministic rounding modes above. Strides are in elements.

/** 2^e, for e in the normal range of float64. */
// @ts-ignore: decorator
@inline function pow2(e: i32): f64 {
  return reinterpret<f64>(<u64>(e + 1023) << 52);
}

/** ⌊log2 a⌋ of a positive normal float64 (-1023 for zero and subnormals). */
// @ts-ignore: decorator
@inline function floorLog2(a: f64): i32 {
  return <i32>(reinterpret<u64>(a) >> 52) - 1023;
}

/** ⌈log2 a⌉ of a positive normal float64. */
// @ts-ignore: decorator
@inline function ceilLog2(a: f64): i32 {
  const e = floorLog2(a);
  return (reinterpret<u64>(a) & 0xfffffffffffff) == 0 ? e : e + 1;
}

/**
 * x rounded to the element type by mode, magnitudes past the largest normal clamped to it:
 * mx.ts's roundElement. An |x| below 2^emin (zero, a float64 subnormal) takes emin's spacing.
 */
// @ts-ignore: decorator
@inline function roundElement(x: f64, fractionBits: i32, emin: i32, maxNormal: f64, mode: i32): f64 {
  if (x != x) return x;
  const negative = (reinterpret<u64>(x) >> 63) != 0;
  const a = Math.abs(x);
  if (a >= maxNormal) return negative ? -maxNormal : maxNormal;
  const e = max(floorLog2(a), emin);
  const steps = a * pow2(fractionBits - e); // exact, as a / 2^(e - fractionBits)
  let n: f64;
  if (mode == NEAREST_EVEN) {
    n = nearest<f64>(steps); // ties to even: roundsUp's decision
  } else {
    n = Math.floor(steps);
    if (roundsUp(mode, 0, steps - n, (<i64>n & 1) == 1, negative, 0)) n += 1;
  }
  const q = n * pow2(e - fractionBits);
  const r = q > maxNormal ? maxNormal : q;
  return negative ? -r : r;
}

/**
 * The largest magnitude of count f32 at p, stride apart (elements): NaN when one is NaN or
 * infinite (mx.ts's blockAmax).
 */
export function amax_f32(p: usize, count: i32, stride: i32): f64 {
  const step = <usize>stride << 2;
  let amax: f64 = 0;
  let i = 0;
  if (stride == 1) {
    // Four lanes at a time; finite marks the lanes that have seen only finite values.
    let lanes = f32x4.splat(0);
    let finite = i32x4.splat(-1);
    for (; i + 4 <= count; i += 4) {
      const a = f32x4.abs(v128.load(p + (<usize>i << 2)));
      lanes = f32x4.pmax(lanes, a);
      finite = v128.and(finite, f32x4.lt(a, f32x4.splat(Infinity)));
    }
    if (!i32x4.all_true(finite)) return NaN;
    const low = max(<f64>f32x4.extract_lane(lanes, 0), <f64>f32x4.extract_lane(lanes, 1));
    amax = max(low, max(<f64>f32x4.extract_lane(lanes, 2), <f64>f32x4.extract_lane(lanes, 3)));
  }
  for (; i < count; i++) {
    const a = Math.abs(<f64>load<f32>(p + <usize>i * step));
    if (!(a < Infinity)) return NaN;
    if (a > amax) amax = a;
  }
  return amax;
}

/**
 * Magnitudes a (float64 lanes) rounded to an element type to nearest even: roundElement's
 * operations lane by lane, emin's spacing below 2^emin, a magnitude past the largest normal,
 * infinities included, clamped to it; a NaN stays NaN. The type's constants come in every lane,
 * made by the caller outside its loops (V8 builds a splat anew at each use): exponents biased by
 * 1023, emin + 1023 (`lowest`) and fractionBits + 2 · 1023 (`up`, 2^fractionBits · 2^1023's),
 * fractionBits (`fraction`) and the largest normal (`top`).
 */
// @ts-ignore: decorator
@inline function nearestMagnitudes(a: v128, lowest: v128, up: v128, fraction: v128, top: v128): v128 {
  // the biased binade (emin's for zero and subnormals), and 2^(fractionBits - e) and back
  const field = i64x2.shr_u(a, 52);
  const e = v128.bitselect(field, lowest, i64x2.gt_s(field, lowest));
  const scaleUp = i64x2.shl(i64x2.sub(up, e), 52);
  const down = i64x2.shl(i64x2.sub(e, fraction), 52);
  // pmin keeps a NaN (its first operand) and is one instruction, where min is several in V8.
  const rounded = f64x2.pmin(f64x2.mul(f64x2.nearest(f64x2.mul(a, scaleUp)), down), top);
  return v128.bitselect(top, rounded, f64x2.ge(a, top)); // infinities too
}

/**
 * rows pairs of adjacent f32, the first at at and each step bytes after the one before,
 * quantized to nearest even with the scales of the two lanes, in float64 SIMD: roundElement's
 * operations lane by lane (a NaN stays NaN, a magnitude past the largest normal, infinities
 * included, clamps to it).
 */
// @ts-ignore: decorator
@inline function quantizePairs(
  at: usize, rows: i32, step: usize, scales: v128, fractionBits: i32, emin: i32, maxNormal: f64,
): void {
  const lowest = i64x2.splat(<i64>(emin + 1023));
  const up = i64x2.splat(<i64>(fractionBits + 2046));
  const fraction = i64x2.splat(<i64>fractionBits);
  const top = f64x2.splat(maxNormal);
  const sign = i64x2.splat(<i64>0x8000000000000000);
  for (let j = 0; j < rows; j++) {
    const p = at + <usize>j * step;
    const x = f64x2.div(f64x2.promote_low_f32x4(v128.load64_zero(p)), scales);
    const q = nearestMagnitudes(f64x2.abs(x), lowest, up, fraction, top);
    const r = f64x2.mul(scales, v128.or(q, v128.and(x, sign)));
    v128.store64_lane(p, f32x4.demote_f64x2_zero(r), 0);
  }
}

/**
 * Two adjacent columns of rows f32 at p, stride elements from a row to the next, quantized to
 * nearest even as quantize_scaled quantizes each: the first with scale0, the second with scale1.
 */
export function quantize_column_pairs(
  p: usize, rows: i32, stride: i32, scale0: f64, scale1: f64,
  fractionBits: i32, emin: i32, maxNormal: f64,
): void {
  const scales = f64x2.replace_lane(f64x2.splat(scale0), 1, scale1);
  quantizePairs(p, rows, <usize>stride << 2, scales, fractionBits, emin, maxNormal);
}

/**
 * count f32 at p, stride apart, each replaced by scale · roundElement(value / scale) rounded
 * to float32 (mx.ts's quantizeWithScale); a NaN scale makes every value NaN.
 */
export function quantize_scaled(
  p: usize, count: i32, stride: i32, scale: f64,
  fractionBits: i32, emin: i32, maxNormal: f64, mode: i32,
): void {
  const step = <usize>stride << 2;
  let first = 0;
  if (stride == 1 && mode == NEAREST_EVEN) {
    first = count & ~1;
    quantizePairs(p, first >> 1, 8, f64x2.splat(scale), fractionBits, emin, maxNormal);
  }
  // Dividing by a power of two is multiplying by its reciprocal, exactly (MX block scales).
  const inverse = 1 / scale;
  if ((reinterpret<u64>(scale) & 0xfffffffffffff) == 0 && inverse * scale == 1) {
    for (let i = first; i < count; i++) {
      const at = p + <usize>i * step;
      const v = <f64>load<f32>(at);
      store<f32>(at, <f32>(scale * roundElement(v * inverse, fractionBits, emin, maxNormal, mode)));
    }
    return;
  }
  for (let i = first; i < count; i++) {
    const at = p + <usize>i * step;
    const v = <f64>load<f32>(at);
    store<f32>(at, <f32>(scale * roundElement(v / scale, fractionBits, emin, maxNormal, mode)));
  }
}

/** Scale rules (mx.ts's SCALE_RULES, in order), and NVFP4's block scale. */
const FLOOR = 0, CEIL = 1, EVEN = 2, RCEIL = 3, NVFP4 = 4;

/** An MX block's unbiased shared exponent for a finite amax by rule: mx.ts's sharedExponent. */
// @ts-ignore: decorator
@inline function sharedExponent(rule: i32, amax: f64, fractionBits: i32, emax: i32, maxNormal: f64): i32 {
  if (amax == 0) return -127;
  let e: i32;
  if (rule == FLOOR) e = floorLog2(amax) - emax;
  else if (rule == CEIL) e = ceilLog2(amax) - emax;
  else if (rule == EVEN) {
    const quantum = pow2(floorLog2(amax) - fractionBits);
    e = floorLog2(Math.floor(amax / quantum + 0.5) * quantum) - emax;
  } else {
    e = ceilLog2(amax / maxNormal);
    while (maxNormal * pow2(e) < amax) e++;
    while (maxNormal * pow2(e - 1) >= amax) e--;
  }
  return min(max(e, -127), 127);
}

/** 2^k as a float32 in each i32 lane k, for k in -127 .. 127 (2^-127 is subnormal). */
// @ts-ignore: decorator
@inline function pow2f4(k: v128): v128 {
  const normal = i32x4.shl(i32x4.add(k, i32x4.splat(127)), 23);
  return v128.bitselect(i32x4.splat(1 << 22), normal, i32x4.eq(k, i32x4.splat(-127)));
}

/**
 * The shared exponents of four MX blocks (lanes) of finite amaxes by rule, as i32 lanes. The
 * floor rule from the float32's exponent field (for an element type with emax >= 0): zero and
 * subnormal amaxes have field 0, whose -127 - emax clamps to -127, as their binades do.
 */
// @ts-ignore: decorator
@inline function sharedExponents(rule: i32, amax: v128, fractionBits: i32, emax: i32, maxNormal: f64): v128 {
  if (rule == FLOOR && emax >= 0) {
    const e = i32x4.sub(i32x4.shr_u(amax, 23), i32x4.splat(127 + emax));
    return i32x4.min_s(i32x4.max_s(e, i32x4.splat(-127)), i32x4.splat(127));
  }
  let e = i32x4.splat(sharedExponent(rule, <f64>f32x4.extract_lane(amax, 0), fractionBits, emax, maxNormal));
  e = i32x4.replace_lane(e, 1, sharedExponent(rule, <f64>f32x4.extract_lane(amax, 1), fractionBits, emax, maxNormal));
  e = i32x4.replace_lane(e, 2, sharedExponent(rule, <f64>f32x4.extract_lane(amax, 2), fractionBits, emax, maxNormal));
  return i32x4.replace_lane(e, 3, sharedExponent(rule, <f64>f32x4.extract_lane(amax, 3), fractionBits, emax, maxNormal));
}

/**
 * The amax of each of four adjacent columns (lanes), n rows `step` bytes apart at `at`: a NaN
 * stays a NaN, an infinity the largest. Magnitudes order as their bits, NaNs above infinity, so
 * an integer max takes it (one instruction, where f32x4.max is several in V8).
 */
// @ts-ignore: decorator
@inline function columnAmaxes(at: usize, n: i32, step: usize): v128 {
  let amax = i32x4.splat(0);
  for (let j = 0; j < n; j++) amax = i32x4.max_s(amax, f32x4.abs(v128.load(at + <usize>j * step)));
  return amax;
}

/**
 * One MX block of four adjacent columns (lanes), n rows `inner` elements apart at `at`, with
 * the elements rounded to nearest even, in float32 SIMD; false (nothing written) when a lane
 * holds a NaN or an infinity. The same values as the scalar code: v / 2^E is exact in float32
 * except below its normal range, where the element rounds to zero either way (the sign comes
 * from v); scaling by powers of two and nearest<f32> are exact; the product by 2^E is rounded
 * once, as the float64 product rounded to float32.
 */
// @ts-ignore: decorator
@inline function quantizeMxColumns(
  at: usize, n: i32, inner: i32, rule: i32, fractionBits: i32, emin: i32, emax: i32, maxNormal: f64,
): bool {
  const step = <usize>inner << 2;
  const amax = columnAmaxes(at, n, step);
  if (!i32x4.all_true(f32x4.lt(amax, f32x4.splat(Infinity)))) return false;
  const e = sharedExponents(rule, amax, fractionBits, emax, maxNormal);
  const scale = pow2f4(e);
  const inverse = pow2f4(i32x4.neg(e));
  // Exponents biased (by 127): emin's, and those of 2^fractionBits / 2^e times 2^127.
  const lowest = i32x4.splat(emin + 127);
  const upBias = i32x4.splat(fractionBits + 254);
  const fraction = i32x4.splat(fractionBits);
  const top = f32x4.splat(<f32>maxNormal);
  const sign = i32x4.splat(<i32>0x80000000);
  for (let j = 0; j < n; j++) {
    const p = at + <usize>j * step;
    const v = v128.load(p);
    const a = f32x4.abs(f32x4.mul(v, inverse));
    // the element's binade (emin for zero and subnormals), and 2^(fractionBits - e) and back
    const e = i32x4.max_s(i32x4.shr_u(a, 23), lowest);
    const up = i32x4.shl(i32x4.sub(upBias, e), 23);
    const down = i32x4.shl(i32x4.sub(e, fraction), 23);
    const q = f32x4.pmin(f32x4.mul(f32x4.nearest(f32x4.mul(a, up)), down), top); // a is finite
    v128.store(p, f32x4.mul(v128.or(q, v128.and(v, sign)), scale));
  }
  return true;
}

/** Lanes 0-1 of a and 0-1 of b as the four i32 lanes of one vector. */
// @ts-ignore: decorator
@inline function joinLow(a: v128, b: v128): v128 {
  return v128.shuffle<i32>(a, b, 0, 1, 4, 5);
}

/** The i64 lanes of two masks (comparisons: all ones or none) as the four i32 lanes of one. */
// @ts-ignore: decorator
@inline function joinMasks(a: v128, b: v128): v128 {
  return v128.shuffle<i32>(a, b, 0, 2, 4, 6);
}

/**
 * The float32s (lanes 0-1) a magnitude must exceed to pass the rounding boundaries x (float64
 * lanes, not negative): x rounded down, or with `even` (a tie goes up, so x itself passes) the
 * float32 below x rounded up. x rounded to nearest, stepped down one float32 (its bits minus
 * one) where it lies above x, or with `even` at or above it.
 */
// @ts-ignore: decorator
@inline function passes2(x: v128, even: bool): v128 {
  const f = f32x4.demote_f64x2_zero(x);
  const back = f64x2.promote_low_f32x4(f);
  const over = even ? f64x2.ge(back, x) : f64x2.gt(back, x);
  return i32x4.add(f, joinMasks(over, over));
}

/**
 * The float32 a magnitude must exceed to pass the rounding boundary t · s (exact in float64)
 * in four lanes, their scales s in the float64 pairs low and high (see passes2); where a scale
 * is zero (`zero`, its lanes' mask), Infinity, which nothing passes.
 */
// @ts-ignore: decorator
@inline function passes4(t: f64, even: bool, low: v128, high: v128, zero: v128): v128 {
  const tt = f64x2.splat(t);
  const g = joinLow(passes2(f64x2.mul(tt, low), even), passes2(f64x2.mul(tt, high), even));
  return v128.bitselect(f32x4.splat(Infinity), g, zero);
}

/** q times the scales of four lanes (float64 pairs low and high), each rounded once to float32. */
// @ts-ignore: decorator
@inline function products4(q: f64, low: v128, high: v128): v128 {
  const qq = f64x2.splat(q);
  const l = f32x4.demote_f64x2_zero(f64x2.mul(qq, low));
  return joinLow(l, f32x4.demote_f64x2_zero(f64x2.mul(qq, high)));
}

/**
 * NVFP4's scales of two blocks (float64 lanes) of finite amaxes: nvfp4BlockScale's, the amax / 6
 * over the tensor scale rounded to E4M3 to nearest even, times the tensor scale (`tensors`: it in
 * both lanes, finite and positive, so that the quotient is finite and not negative).
 */
// @ts-ignore: decorator
@inline function nvfp4Scales(amax: v128, tensors: v128): v128 {
  // E4M3: 3 fraction bits, emin -6, largest normal 448
  const x = f64x2.div(f64x2.div(amax, f64x2.splat(6)), tensors);
  const lowest = i64x2.splat(-6 + 1023), up = i64x2.splat(3 + 2046), fraction = i64x2.splat(3);
  return f64x2.mul(nearestMagnitudes(x, lowest, up, fraction, f64x2.splat(448)), tensors);
}

/**
 * One NVFP4 block of four adjacent columns (lanes), n rows `inner` elements apart at `at`, its
 * E2M1 elements rounded to nearest even in float32 SIMD; false (nothing written) when a lane
 * holds a NaN or an infinity. The reference rounds v / s (s the block scale times the tensor
 * scale, exact in float64) to E2M1, whose rounding boundaries are t = 0.25, 0.75, ..., 5, ties
 * going to the even neighbour; t · s is exact in float64, and the float64 quotient equals t only
 * when v = t · s exactly (a float32 v lies at least 2^-31 · t · s away otherwise), so each
 * decision is v against t · s, which a float32 compare makes against that product rounded down
 * (v > t · s) or the float32 below it rounded up (v >= t · s). Each result, q · s rounded to
 * float32, is computed per block in float64. A zero block scale gives +0.
 */
// @ts-ignore: decorator
@inline function quantizeNvfp4Columns(at: usize, n: i32, inner: i32, tensor: f64): bool {
  const step = <usize>inner << 2;
  const amax = columnAmaxes(at, n, step);
  if (!i32x4.all_true(f32x4.lt(amax, f32x4.splat(Infinity)))) return false;
  const tensors = f64x2.splat(tensor);
  const low = nvfp4Scales(f64x2.promote_low_f32x4(amax), tensors);
  const high = nvfp4Scales(f64x2.promote_low_f32x4(v128.shuffle<i32>(amax, amax, 2, 3, 2, 3)), tensors);
  const zero = joinMasks(f64x2.eq(low, f64x2.splat(0)), f64x2.eq(high, f64x2.splat(0)));
  // Ties at 0.25, 1.25, 2.5 and 5 go down (to the even code), at 0.75, 1.75 and 3.5 up.
  const g1 = passes4(0.25, false, low, high, zero), g2 = passes4(0.75, true, low, high, zero);
  const g3 = passes4(1.25, false, low, high, zero), g4 = passes4(1.75, true, low, high, zero);
  const g5 = passes4(2.5, false, low, high, zero), g6 = passes4(3.5, true, low, high, zero);
  const g7 = passes4(5, false, low, high, zero);
  const q1 = products4(0.5, low, high), q2 = products4(1, low, high);
  const q3 = products4(1.5, low, high), q4 = products4(2, low, high);
  const q5 = products4(3, low, high), q6 = products4(4, low, high);
  const q7 = products4(6, low, high);
  // The sign bit of a lane's values (-0's bits), none where the block becomes +0.
  const sign = v128.andnot(f32x4.splat(-0.0), zero);
  for (let j = 0; j < n; j++) {
    const p = at + <usize>j * step;
    const v = v128.load(p);
    const a = f32x4.abs(v);
    let r = v128.and(q1, f32x4.gt(a, g1));
    r = select(q2, r, f32x4.gt(a, g2));
    r = select(q3, r, f32x4.gt(a, g3));
    r = select(q4, r, f32x4.gt(a, g4));
    r = select(q5, r, f32x4.gt(a, g5));
    r = select(q6, r, f32x4.gt(a, g6));
    r = select(q7, r, f32x4.gt(a, g7));
    v128.store(p, v128.or(r, v128.and(v, sign)));
  }
  return true;
}

/** An NVFP4 block's scale: its amax / 6 over the tensor scale, rounded to E4M3 (to nearest even). */
// @ts-ignore: decorator
@inline function nvfp4BlockScale(amax: f64, tensor: f64): f64 {
  // E4M3: 3 fraction bits, emin -6, largest normal 448
  return roundElement(amax / 6 / tensor, 3, -6, 448, NEAREST_EVEN);
}

/** One block of one column, n values `inner` elements apart at at (see quantize_blocks). */
// @ts-ignore: decorator
@inline function quantizeBlock(
  at: usize, n: i32, inner: i32, rule: i32, tensor: f64,
  fractionBits: i32, emin: i32, emax: i32, maxNormal: f64, mode: i32,
): void {
  const amax = amax_f32(at, n, inner);
  let scale: f64;
  if (rule == NVFP4) {
    const block = nvfp4BlockScale(amax, tensor);
    if (block == 0) {
      for (let j = 0; j < n; j++) store<f32>(at + ((<usize>j * <usize>inner) << 2), 0);
      return;
    }
    scale = block * tensor;
  } else {
    scale = amax != amax ? NaN : pow2(sharedExponent(rule, amax, fractionBits, emax, maxNormal));
  }
  quantize_scaled(at, n, inner, scale, fractionBits, emin, maxNormal, mode);
}

/**
 * Quantizes the f32 tensor at p, shaped (outer, length, inner), in blocks of blockSize along
 * length (the last one partial), each block with its own scale: the MX rules, a power of two
 * (scaled.ts's quantizeMxBlock), or NVFP4, the block's amax / 6 over the tensor scale `tensor`
 * rounded to E4M3, times `tensor` (a block whose scale rounds to zero becomes zeros). Blocks
 * rounded to nearest even go four columns at a time where inner allows (quantizeMxColumns,
 * quantizeNvfp4Columns).
 */
export function quantize_blocks(
  p: usize, outer: i32, length: i32, inner: i32, blockSize: i32, rule: i32, tensor: f64,
  fractionBits: i32, emin: i32, emax: i32, maxNormal: f64, mode: i32,
): void {
  // Four columns at a time in SIMD: MX blocks, and NVFP4's E2M1 elements under a finite
  // positive tensor scale; the rest, one column at a time.
  const nvfp4 = rule == NVFP4 && fractionBits == 1 && emin == 0 && maxNormal == 6 &&
    tensor > 0 && tensor < Infinity;
  const columns = mode == NEAREST_EVEN && (rule != NVFP4 || nvfp4);
  for (let o = 0; o < outer; o++) {
    let i = 0;
    for (; columns && i + 4 <= inner; i += 4) {
      const start = p + ((<usize>o * <usize>length * <usize>inner + <usize>i) << 2);
      for (let b = 0; b < length; b += blockSize) {
        const at = start + ((<usize>b * <usize>inner) << 2);
        const n = min(blockSize, length - b);
        const done = rule == NVFP4
          ? quantizeNvfp4Columns(at, n, inner, tensor)
          : quantizeMxColumns(at, n, inner, rule, fractionBits, emin, emax, maxNormal);
        if (done) continue;
        for (let c: usize = 0; c < 4; c++) {
          quantizeBlock(at + (c << 2), n, inner, rule, tensor, fractionBits, emin, emax, maxNormal, mode);
        }
      }
    }
    for (; i < inner; i++) {
      const start = p + ((<usize>o * <usize>length * <usize>inner + <usize>i) << 2);
      for (let b = 0; b < length; b += blockSize) {
        const at = start + ((<usize>b * <usize>inner) << 2);
        const n = min(blockSize, length - b);
        quantizeBlock(at, n, inner, rule, tensor, fractionBits, emin, emax, maxNormal, mode);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Accumulators: every partial sum rounded to a binary format of fractionBits fraction bits and
// smallest normal exponent emin, to nearest even, overflowing to infinity past maxFinite (f16,
// bf16, f32), or to a minifloat by its encoder and its values' table, as _matmul.ts's
// matmulRounded rounds with the format's own round.

/** x rounded to the accumulator's format: a float64 correctly rounded to it. */
// @ts-ignore: decorator
@inline function roundSum(x: f64, fractionBits: i32, emin: i32, maxFinite: f64): f64 {
  const a = Math.abs(x);
  if (!(a < Infinity)) return x; // NaN, ±Infinity
  const e = max(floorLog2(a), emin);
  const q = nearest<f64>(a * pow2(fractionBits - e)) * pow2(e - fractionBits);
  const r = q > maxFinite ? Infinity : q;
  return (reinterpret<u64>(x) >> 63) != 0 ? -r : r;
}

/**
 * out (m x n, f64) = A · B with s = round(s + a·b) at every step, from 0 (or from out when
 * accumulate != 0), depth in order: element (i, d) of A at a + (i·aRow + d·aDepth) f64, element
 * (d, j) of B at b + (d·bDepth + j·bCol). Rounded by roundSum, or, when codec is not 0, to the
 * minifloat whose encoder is at codec (see narrowMinifloat): to the f64 value, in the table at
 * values, of the code it gives the sum; a stochastic one reading the next u32 at random for
 * every partial sum, in the order of the loops (0: none).
 */
export function matmul_rounded(
  out: usize, a: usize, b: usize, m: i32, n: i32, k: i32,
  aRow: i32, aDepth: i32, bDepth: i32, bCol: i32, accumulate: i32,
  fractionBits: i32, emin: i32, maxFinite: f64, codec: usize, values: usize, random: usize,
): void {
  // The minifloat encoder's header, read once (nothing without one).
  const signCode = codec ? load<i32>(codec) : 0;
  const maxCode = codec ? <f64>load<i32>(codec, 4) : 0;
  const nan = codec ? load<i32>(codec, 8) : 0;
  const overflow = codec ? load<i32>(codec, 12) : 0;
  const overPositive = codec ? load<i32>(codec, 16) : 0;
  const overNegative = codec ? load<i32>(codec, 20) : 0;
  const mode = codec ? load<i32>(codec, 24) : 0;
  const bits = codec ? load<i32>(codec, 28) : 0;
  let step = 0;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      const at = out + ((<usize>i * <usize>n + <usize>j) << 3);
      let s: f64 = accumulate ? load<f64>(at) : 0;
      let ia = <usize>i * <usize>aRow, ib = <usize>j * <usize>bCol;
      for (let d = 0; d < k; d++) {
        const x = s + load<f64>(a + (ia << 3)) * load<f64>(b + (ib << 3));
        s = codec
          ? load<f64>(values + (<usize>encodeMinifloat(
            x, codec, signCode, maxCode, nan, overflow, overPositive, overNegative, mode, bits,
            random, step,
          ) << 3))
          : roundSum(x, fractionBits, emin, maxFinite);
        step++;
        ia += <usize>aDepth;
        ib += <usize>bDepth;
      }
      store<f64>(at, s);
    }
  }
}
