/**
 * Sliding-window geometry shared by conv and pool: a window of its own height and width, a step
 * and a border per axis.
 *
 * @module
 */
import type { Layer } from "./layer.ts";

/** A window sliding over an image plane: extent, step and border per axis. */
export interface Window {
  /** Rows and columns of the window. */
  kh: number;
  kw: number;
  /** Steps between window positions, down and across. */
  sh: number;
  sw: number;
  /** Zero (conv) or -Infinity (pool) border: rows above and below, columns left and right. */
  ph: number;
  pw: number;
}

/**
 * The options of a window whose axes differ: its width, horizontal step and horizontal border,
 * each defaulting to the height's.
 */
export interface WindowWidths {
  /** Columns of the window. @default {the height} */
  kernelWidth?: number;
  /** Step between window positions across. @default {the vertical step} */
  strideWidth?: number;
  /** Columns of border left and right. @default {the rows of border} */
  padWidth?: number;
}

/**
 * The window of `size` (x `kernelWidth`), steps `stride` (and `strideWidth`), border `pad` (and
 * `padWidth`); throws a `RangeError` naming `kind` unless every extent and step is a positive
 * integer and every border an integer from 0 to the window's extent - 1.
 */
export function windowOf(
  kind: string,
  options: { size: number; stride: number; pad: number } & WindowWidths,
): Window {
  const { size, stride, pad } = options;
  const { kernelWidth = size, strideWidth = stride, padWidth = pad } = options;
  const window = { kh: size, kw: kernelWidth, sh: stride, sw: strideWidth, ph: pad, pw: padWidth };
  const positive = (v: number) => Number.isInteger(v) && v >= 1;
  const inside = (p: number, k: number) => Number.isInteger(p) && p >= 0 && p < k;
  const ok = [size, kernelWidth, stride, strideWidth].every(positive) &&
    inside(pad, size) && inside(padWidth, kernelWidth);
  if (!ok) {
    const widths = kernelWidth !== size || strideWidth !== stride || padWidth !== pad
      ? ` (width ${kernelWidth}, stride ${strideWidth}, pad ${padWidth})`
      : "";
    throw new RangeError(
      `Cannot make ${kind}: size ${size}, stride ${stride}, pad ${pad}${widths}; expected ` +
        `integers with size >= 1, stride >= 1 and 0 <= pad < size`,
    );
  }
  return window;
}

/** The width options of `window` that differ from its height ones (none for a square one). */
export function windowWidths(window: Window): WindowWidths {
  return {
    ...(window.kw !== window.kh && { kernelWidth: window.kw }),
    ...(window.sw !== window.sh && { strideWidth: window.sw }),
    ...(window.pw !== window.ph && { padWidth: window.pw }),
  };
}

/**
 * Window positions down and across an `h` x `w` plane: floor((extent + 2 pad - size) / stride)
 * + 1 per axis.
 */
export function outputExtents(layer: Layer, window: Window, h: number, w: number): number[] {
  return [[h, window.kh, window.sh, window.ph], [w, window.kw, window.sw, window.pw]].map(
    ([extent, size, stride, pad]) => {
      const out = Math.floor((extent + 2 * pad - size) / stride) + 1;
      if (out < 1) {
        throw new RangeError(
          `Cannot run ${layer.name}: input extent ${extent} is smaller than the ` +
            `${size}-wide window with pad ${pad}`,
        );
      }
      return out;
    },
  );
}

/** The window as the wasm kernels read it: 6 int32, kh, kw, sh, sw, ph, pw. */
export function windowWords(window: Window): Int32Array {
  const { kh, kw, sh, sw, ph, pw } = window;
  return Int32Array.of(kh, kw, sh, sw, ph, pw);
}
