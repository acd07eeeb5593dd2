/**
 * Reusable memory for the hot path, owned by whoever computes with it (each layer holds its
 * own), so that no two computations share work arrays and nothing lives at module level.
 *
 * The first write to freshly allocated memory costs a page fault per 4 KiB; measured here
 * (Deno 2.9, this sandbox), allocating and filling a batch's 10 MB activation took 5x longer
 * than filling a reused one, more than a ReLU's whole work. So layers reuse their outputs and
 * kernels reuse their float64 work arrays.
 *
 * @module
 */
import type { Storage } from "./storage/storage.ts";
import { Tensor } from "./tensor.ts";

/**
 * Named work arrays, reused across calls (contents undefined). A layer runs one call at a
 * time, so a slot is never used twice at once; two arrays live at the same time only under
 * different names.
 */
export class Scratch {
  readonly #floats = new Map<string, Float64Array>();
  readonly #indices = new Map<string, Int32Array>();

  /** A float64 work array of `length` for the slot `name`. */
  floats(name: string, length: number): Float64Array {
    return reserve(this.#floats, name, length, Float64Array);
  }

  /** As {@linkcode Scratch.floats}, an array of indices. */
  indices(name: string, length: number): Int32Array {
    return reserve(this.#indices, name, length, Int32Array);
  }

  /** The values of `t` in the float64 work array `name`. */
  widen(t: Tensor, name: string): Float64Array {
    const values = this.floats(name, t.size);
    t.storage.read(t.data, 0, values, 0, t.size);
    return values;
  }
}

function reserve<T extends Float64Array | Int32Array>(
  slots: Map<string, T>,
  name: string,
  length: number,
  ArrayType: new (length: number) => T,
): T {
  let array = slots.get(name);
  if (!array || array.length < length) slots.set(name, array = new ArrayType(length));
  return array.subarray(0, length) as T;
}

/** `cached` when it already has `storage` and `shape`, else a new zero tensor. */
export function reuse(
  cached: Tensor | undefined,
  storage: Storage,
  shape: readonly number[],
): Tensor {
  const fits = cached !== undefined && cached.storage === storage &&
    cached.shape.length === shape.length && cached.shape.every((d, i) => d === shape[i]);
  return fits ? cached : new Tensor(storage, shape);
}
