/**
 * Sliding-window geometry shared by conv and pool.
 *
 * @module
 */
import type { Layer } from "./layer.ts";

/** A square window sliding over an image plane. */
export interface Window {
  /** Side of the window. */
  size: number;
  /** Step between window positions. */
  stride: number;
  /** Zero (conv) or -Infinity (pool) border added on every side. */
  pad: number;
}

/** Throws a `RangeError` unless the window's size, stride and pad are usable. */
export function checkWindow(kind: string, window: Window): void {
  const { size, stride, pad } = window;
  const ok = Number.isInteger(size) && size >= 1 && Number.isInteger(stride) && stride >= 1 &&
    Number.isInteger(pad) && pad >= 0 && pad < size;
  if (!ok) {
    throw new RangeError(
      `Cannot make ${kind}: size ${size}, stride ${stride}, pad ${pad}; expected integers ` +
        `with size >= 1, stride >= 1 and 0 <= pad < size`,
    );
  }
}

/** Window positions along an axis of `extent`: floor((extent + 2 pad - size) / stride) + 1. */
export function outputExtent(layer: Layer, window: Window, extent: number): number {
  const out = Math.floor((extent + 2 * window.pad - window.size) / window.stride) + 1;
  if (out < 1) {
    throw new RangeError(
      `Cannot run ${layer.name}: input extent ${extent} is smaller than the ` +
        `${window.size}-wide window with pad ${window.pad}`,
    );
  }
  return out;
}
