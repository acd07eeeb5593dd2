/**
 * The wasm conversion kernels against the storage adapters: widening every 16-bit code, and
 * narrowing float32 values to f16 and bf16 exactly as `f16.round`, `f16Polyfill.round` and
 * `bf16.round` round them, on every tie of either format, its float32 neighbours, and a
 * million random float32 bit patterns.
 *
 * @module
 */
import assert from "node:assert/strict";
import { bf16, bf16Value, f16, f16Polyfill } from "../layers/storage/mod.ts";
import { heap, requireKernels, withRegions } from "../layers/wasm/kernels.ts";
import { Random } from "../layers/random.ts";

const kernels = requireKernels();

/** NaN equals NaN; otherwise Object.is, so that 0 and -0 differ. */
function same(a: number, b: number): boolean {
  return Object.is(a, b) || (a !== a && b !== b);
}

const scratch32 = new Float32Array(1);
const scratchBits = new Uint32Array(scratch32.buffer);

function fromBits(bits: number): number {
  scratchBits[0] = bits;
  return scratch32[0];
}

/** Runs `narrow` on `values` (float32 bit patterns) and returns the codes it stores. */
function narrowAll(
  narrow: (src: number, dst: number, count: number) => void,
  bits: Uint32Array,
): Uint16Array {
  const count = Math.ceil(bits.length / 8) * 8;
  return withRegions((reserve) => {
    const src = reserve(count * 4);
    const dst = reserve(count * 2);
    new Uint32Array(heap(), src, bits.length).set(bits);
    narrow(src, dst, count);
    return new Uint16Array(heap(), dst, bits.length).slice();
  });
}

/**
 * Float32 bit patterns around every tie of a 16-bit format: for each pair of neighbouring
 * codes, the midpoint of their values and its two float32 neighbours (the overflow threshold
 * included); the values themselves too.
 */
function tiesAndNeighbours(value: (code: number) => number): Uint32Array {
  const bits: number[] = [];
  for (let code = 1; code < 0xffff; code++) {
    const here = value(code);
    // Past the largest finite value, the tie is with the value the next code would have had.
    const next = Number.isFinite(value(code + 1)) ? value(code + 1) : 2 * here - value(code - 1);
    if (!Number.isFinite(here) || (code & 0x7fff) === 0x7fff) continue;
    scratch32[0] = (here + next) / 2; // exact in float32: a 16-bit format has at most 11 bits
    const tie = scratchBits[0];
    bits.push(tie - 1, tie, tie + 1);
    scratch32[0] = here;
    bits.push(scratchBits[0]);
  }
  return Uint32Array.from(bits);
}

/** A million random float32 bit patterns (every exponent, NaNs and infinities included). */
function randomBits(): Uint32Array {
  const random = new Random(2024);
  return Uint32Array.from({ length: 1 << 20 }, () => Math.floor(random.uniform() * 2 ** 32));
}

const f16Values = new Float16Array(1);
const f16Codes = new Uint16Array(f16Values.buffer);
function f16Value(code: number): number {
  f16Codes[0] = code;
  return f16Values[0];
}

/** The value of every code that `narrow` stored for `bits`, against `round` of the float32. */
function assertNarrowing(
  name: string,
  narrow: (src: number, dst: number, count: number) => void,
  value: (code: number) => number,
  round: (x: number) => number,
  bits: Uint32Array,
): void {
  const codes = narrowAll(narrow, bits);
  let wrong = 0;
  let first = "";
  for (let i = 0; i < bits.length; i++) {
    const x = fromBits(bits[i]);
    if (!same(value(codes[i]), round(x))) {
      if (wrong++ === 0) first = `${x} -> code ${codes[i]}, expected ${round(x)}`;
    }
  }
  assert.equal(wrong, 0, `${name}: ${wrong} of ${bits.length} wrong, first ${first}`);
}

Deno.test("narrow_f16 rounds every float32 as f16.round and f16Polyfill.round do", () => {
  for (const bits of [tiesAndNeighbours(f16Value), tiesAndNeighbours(bf16Value), randomBits()]) {
    assertNarrowing("f16", kernels.narrow_f16, f16Value, f16.round, bits);
    assertNarrowing("f16-polyfill", kernels.narrow_f16, f16Value, f16Polyfill.round, bits);
  }
});

Deno.test("narrow_bf16 rounds every float32 as bf16.round does", () => {
  for (const bits of [tiesAndNeighbours(bf16Value), tiesAndNeighbours(f16Value), randomBits()]) {
    assertNarrowing("bf16", kernels.narrow_bf16, bf16Value, bf16.round, bits);
  }
});

Deno.test("widen_f16 and widen_bf16 give every code's value exactly", () => {
  for (
    const [name, widen, value] of [
      ["f16", kernels.widen_f16, f16Value],
      ["bf16", kernels.widen_bf16, bf16Value],
    ] as const
  ) {
    const got = withRegions((reserve) => {
      const src = reserve(0x10000 * 2);
      const dst = reserve(0x10000 * 4);
      new Uint16Array(heap(), src, 0x10000).forEach((_, i, codes) => codes[i] = i);
      widen(src, dst, 0x10000);
      return new Float32Array(heap(), dst, 0x10000).slice();
    });
    got.forEach((v, code) => assert.ok(same(v, value(code)), `${name} code ${code}: ${v}`));
  }
});
