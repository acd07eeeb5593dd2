/**
 * Running test code on a chosen kernel path.
 *
 * @module
 */
import { type KernelPath, kernelPath, setKernelPath } from "../mod.ts";

/**
 * Runs `fn` on kernel path `path`, then restores the path it found.
 *
 * @example
 * ```ts ignore
 * const reference = onPath("typescript", () => net.logits(x).toFloat64());
 * ```
 */
export function onPath<T>(path: KernelPath, fn: () => T): T {
  const before = kernelPath();
  setKernelPath(path);
  try {
    return fn();
  } finally {
    setKernelPath(before);
  }
}
