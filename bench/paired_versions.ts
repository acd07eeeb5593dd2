/**
 * Two checkouts of halfprec timed against each other on a loaded machine: wasm f32
 * `classify` on one thread, each of 10 test batches of 100 images run through both versions
 * back to back (the order alternating by round), so that both see the same load. Prints each
 * version's fastest, 10th-percentile and median batch, and the median, first and third quartile
 * of the per-batch ratio B / A: the median ratio holds where wall times move by tens of percent.
 *
 * ```sh
 * deno run -A bench/paired_versions.ts /path/to/checkout-a /path/to/checkout-b [rounds]
 * ```
 *
 * (`git worktree add --detach /tmp/a <commit>` makes a checkout of an older commit; rounds
 * default to 20, 200 pairs.) Each checkout runs its own code and its own wasm kernels in this
 * process, and loads the book's weights and the MNIST test set as `perf` does.
 *
 * @module
 */
/** One version under test. */
interface Version {
  dir: string;
  classify: (x: unknown) => unknown;
  batches: unknown[];
  times: number[];
}

/** The value a fraction `p` of the way through `values` in ascending order. */
function quantile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

/** The middle value of `values` (the upper one of an even count). */
function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

async function load(dir: string): Promise<Version> {
  const mod = await import(`${dir}/mod.ts`);
  const locate = await import(`${dir}/cli/_locate.ts`);
  const net = (await locate.loadDeepConvNet("book")).net.withKernels("wasm").to(mod.f32);
  const set = (await locate.loadTestSet()).set;
  const batches = Array.from({ length: 10 }, (_, b) => mod.imageBatch(set, b * 100, 100, mod.f32));
  return { dir, classify: (x) => net.classify(x), batches, times: [] };
}

if (import.meta.main) {
  const [a, b, rounds = "20"] = Deno.args;
  if (!a || !b || !(Number(rounds) > 0)) {
    console.error("Usage: deno run -A bench/paired_versions.ts CHECKOUT_A CHECKOUT_B [ROUNDS]");
    Deno.exit(2);
  }
  const versions = [await load(a), await load(b)];
  for (const v of versions) for (const x of v.batches) v.classify(x); // warm-up
  const ratios: number[] = [];
  for (let r = 0; r < Number(rounds); r++) {
    for (let i = 0; i < 10; i++) {
      const t = [0, 0];
      for (const k of r % 2 ? [1, 0] : [0, 1]) {
        const started = performance.now();
        versions[k].classify(versions[k].batches[i]);
        t[k] = performance.now() - started;
        versions[k].times.push(t[k]);
      }
      ratios.push(t[1] / t[0]);
    }
  }
  for (const { dir, times } of versions) {
    console.log(
      `${dir}: a batch of 100 in ${Math.min(...times).toFixed(1)} ms fastest, ` +
        `${quantile(times, 0.1).toFixed(1)} ms 10th percentile, ${
          median(times).toFixed(1)
        } ms median`,
    );
  }
  console.log(
    `B / A per batch: median ${median(ratios).toFixed(3)}, quartiles ` +
      `${quantile(ratios, 0.25).toFixed(3)} and ${quantile(ratios, 0.75).toFixed(3)}`,
  );
}
