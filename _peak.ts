import { requireKernels } from "./layers/wasm/kernels.ts";
const { fma_peak } = requireKernels();
const R = 2_000_000_000 / 96;
fma_peak(R / 10, 0.9999999, 1e-7);
for (let i = 0; i < 30; i++) {
  const t = performance.now();
  fma_peak(R, 0.9999999, 1e-7);
  const s = (performance.now() - t) / 1000;
  console.log((2e9 / s / 1e9).toFixed(1));
}
