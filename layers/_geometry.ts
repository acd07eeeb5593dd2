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
  /**
   * Zero (conv) or -Infinity (pool) border: rows above and columns on the left, and (`pb`, `pr`)
   * rows below and columns on the right.
   */
  ph: number;
  pw: number;
  pb: number;
  pr: number;
}

/**
 * The options of a window whose axes or sides differ: its width, horizontal step and horizontal
 * border, each defaulting to the height's; the border below and on the right, defaulting to the
 * one above and on the left.
 */
export interface WindowAsymmetry {
  /** Columns of the window. @default {the height} */
  kernelWidth?: number;
  /** Step between window positions across. @default {the vertical step} */
  strideWidth?: number;
  /** Columns of border left and right. @default {the rows of border} */
  padWidth?: number;
  /** Rows of border below. @default {the rows above} */
  padBottom?: number;
  /** Columns of border on the right. @default {the columns on the left} */
  padRight?: number;
}

/**
 * The window of `size` (x `kernelWidth`), steps `stride` (and `strideWidth`), border `pad` (and
 * `padWidth`); throws a `RangeError` naming `kind` unless every extent and step is a positive
 * integer and every border an integer from 0 to the window's extent - 1.
 */
export function windowOf(
  kind: string,
  options: { size: number; stride: number; pad: number } & WindowAsymmetry,
): Window {
  const { size, stride, pad } = options;
  const { kernelWidth = size, strideWidth = stride, padWidth = pad } = options;
  const { padBottom = pad, padRight = padWidth } = options;
  const window = {
    kh: size,
    kw: kernelWidth,
    sh: stride,
    sw: strideWidth,
    ph: pad,
    pw: padWidth,
    pb: padBottom,
    pr: padRight,
  };
  const positive = (v: number) => Number.isInteger(v) && v >= 1;
  const inside = (p: number, k: number) => Number.isInteger(p) && p >= 0 && p < k;
  const ok = [size, kernelWidth, stride, strideWidth].every(positive) &&
    inside(pad, size) && inside(padWidth, kernelWidth) && inside(padBottom, size) &&
    inside(padRight, kernelWidth);
  if (!ok) {
    const asymmetry = windowAsymmetry(window);
    const widths = Object.keys(asymmetry).length > 0 ? ` (${JSON.stringify(asymmetry)})` : "";
    throw new RangeError(
      `Cannot make ${kind}: size ${size}, stride ${stride}, pad ${pad}${widths}; expected ` +
        `integers with size >= 1, stride >= 1 and 0 <= pad < size`,
    );
  }
  return window;
}

/**
 * The options of `window` that differ from their defaults: width options that differ from the
 * height ones, borders below and on the right that differ from those above and on the left (none
 * for a square, symmetric window).
 */
export function windowAsymmetry(window: Window): WindowAsymmetry {
  return {
    ...(window.kw !== window.kh && { kernelWidth: window.kw }),
    ...(window.sw !== window.sh && { strideWidth: window.sw }),
    ...(window.pw !== window.ph && { padWidth: window.pw }),
    ...(window.pb !== window.ph && { padBottom: window.pb }),
    ...(window.pr !== window.pw && { padRight: window.pr }),
  };
}

/**
 * Window positions down and across an `h` x `w` plane: floor((extent + pads - size) / stride)
 * + 1 per axis.
 */
export function outputExtents(layer: Layer, window: Window, h: number, w: number): number[] {
  const { kh, kw, sh, sw, ph, pw, pb, pr } = window;
  return [[h, kh, sh, ph, pb], [w, kw, sw, pw, pr]].map(
    ([extent, size, stride, before, after]) => {
      const out = Math.floor((extent + before + after - size) / stride) + 1;
      if (out < 1) {
        throw new RangeError(
          `Cannot run ${layer.name}: input extent ${extent} is smaller than the ` +
            `${size}-wide window with pads ${before} and ${after}`,
        );
      }
      return out;
    },
  );
}

/** The window as the wasm kernels read it: 8 int32, kh, kw, sh, sw, ph, pw, pb, pr. */
export function windowWords(window: Window): Int32Array {
  const { kh, kw, sh, sw, ph, pw, pb, pr } = window;
  return Int32Array.of(kh, kw, sh, sw, ph, pw, pb, pr);
}
