import { deepConvNet, classifyImages, WorkerPool, storageByName, f64 } from "../mod.ts";
import { readMnistDir, readSafetensorsFile } from "../data/files.ts";
const net = deepConvNet();
net.loadParams((await readSafetensorsFile("data/deepconvnet-halfprec.safetensors")).tensors);
const set = await readMnistDir("../shared/mnist", "test");
using pool = new WorkerPool({ size: 2 });
for (const name of ["f64", "f32", "bf16", "e4m3", "e5m2", "mixed"]) {
  const n = name === "mixed" ? net.to((l) => l.name.startsWith("conv1") || l.name==="relu1" ? storageByName("f32") : storageByName("e4m3")) : net.to(storageByName(name));
  await pool.load(n);
  const t = performance.now();
  const p = await classifyImages(pool, set, { format: n.layers[0].storage, limit: 1000 });
  const s = (performance.now() - t) / 1000;
  let c = 0; for (let i = 0; i < p.length; i++) if (p[i] === set.labels[i]) c++;
  console.log(name, s.toFixed(2), "s / 1000 images", c);
}
