/**
 * The checked-in kernels were built from the sources in the repository: the generated module
 * records the SHA-256 of kernels.as and build.mjs, and a change to either without
 * `deno task build:wasm` fails here. Hashing, not rebuilding: a rebuild needs node, npm and the
 * compiler download, which the tests should not.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  BUILD_SHA256,
  KERNELS_RELAXED_SIMD,
  KERNELS_SIMD,
  SOURCE_SHA256,
} from "../layers/wasm/_kernels_wasm.ts";
import { INITIAL_PAGES } from "../layers/wasm/_layout.ts";
import { kernelBuild } from "../layers/wasm/kernels.ts";

async function sha256(file: string): Promise<string> {
  const bytes = await Deno.readFile(new URL(`../layers/wasm/${file}`, import.meta.url));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("the checked-in kernels were built from kernels.as and build.mjs as they are", async () => {
  const rebuild = "run `deno task build:wasm` and commit layers/wasm/_kernels_wasm.ts";
  assert.equal(await sha256("kernels.as"), SOURCE_SHA256, `kernels.as changed: ${rebuild}`);
  assert.equal(await sha256("build.mjs"), BUILD_SHA256, `build.mjs changed: ${rebuild}`);
});

const builds = [KERNELS_SIMD, KERNELS_RELAXED_SIMD].map((base64) =>
  Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))
);

Deno.test("both builds are valid WebAssembly and this runtime runs the relaxed-SIMD one", () => {
  for (const bytes of builds) assert.ok(WebAssembly.validate(bytes));
  assert.equal(kernelBuild, "relaxed-simd"); // Deno 2.9's V8 ships relaxed SIMD
});

Deno.test("both builds declare the memory the loader makes as their minimum, no more", () => {
  // A memory smaller than the import's declared minimum fails to link: INITIAL_PAGES links and
  // one page fewer does not, so the minimum (which spares V8 its checks of the size, see
  // build.mjs) is exactly the loader's.
  const link = (bytes: Uint8Array<ArrayBuffer>, pages: number) =>
    new WebAssembly.Instance(new WebAssembly.Module(bytes), {
      env: { memory: new WebAssembly.Memory({ initial: pages }) },
    });
  for (const bytes of builds) {
    assert.ok(link(bytes, INITIAL_PAGES));
    assert.throws(() => link(bytes, INITIAL_PAGES - 1), WebAssembly.LinkError);
  }
});
