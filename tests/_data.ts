/**
 * The shared data tests read (MNIST, weights, reference outputs), and how tests that need it are
 * registered.
 *
 * Each piece is found through an environment variable, or else at a path relative to the repo
 * root (normally `../shared/...`). When it is missing, a developer sees a warning and the tests
 * that need it are ignored; in CI (`CI=true`) those tests fail instead, because an ignored
 * accuracy test there would pass unnoticed.
 *
 * @module
 */
import { fileURLToPath } from "node:url";

const REPO_ROOT = new URL("../", import.meta.url);
const IN_CI = Deno.env.get("CI") === "true";

/**
 * The path in `envVar`, or else `relative` resolved against the repo root; `undefined`, with a
 * warning saying where it looked, when nothing is there.
 *
 * @example
 * ```ts ignore
 * const MNIST = sharedPath("HALFPREC_MNIST", "../shared/mnist");
 * ```
 */
export function sharedPath(envVar: string, relative: string): string | undefined {
  const fromEnv = Deno.env.get(envVar);
  const path = fromEnv ?? fileURLToPath(new URL(relative, REPO_ROOT));
  try {
    Deno.statSync(path);
    return path;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    console.warn(
      fromEnv === undefined
        ? `Shared data not found at ${path}: set ${envVar} to where it is`
        : `Shared data not found at ${path}, where ${envVar} points`,
    );
    return undefined;
  }
}

/**
 * Registers test `name`, which reads the files at `paths` (from {@linkcode sharedPath}) and gets
 * them as its argument. When one is missing the test is ignored, or fails when `CI=true`.
 *
 * @example
 * ```ts ignore
 * dataTest("the test set has 10,000 images", [MNIST], async ([dir]) => {
 *   assert.equal((await readMnistDir(dir, "test")).count, 10000);
 * });
 * ```
 */
export function dataTest(
  name: string,
  paths: readonly (string | undefined)[],
  fn: (paths: string[]) => void | Promise<void>,
): void {
  const found = paths.filter((path) => path !== undefined);
  if (found.length === paths.length) {
    Deno.test(name, () => fn(found));
    return;
  }
  Deno.test({
    name,
    ignore: !IN_CI,
    fn() {
      throw new Error(
        `Cannot run "${name}": shared data is missing and CI=true requires it (the warning above says where it was looked for)`,
      );
    },
  });
}
