/**
 * `deno task train`: train DeepConvNet on the 60,000 MNIST training images, in any storage
 * format, with checkpoints every epoch, `--resume`, and a save on Ctrl-C.
 *
 * @module
 */
import {
  Adam,
  classifyImages,
  deepConvNet,
  f64,
  gradientRanges,
  gradientRangeTotals,
  imageBatch,
  imageCount,
  LossScale,
  type Optimizer,
  type Sequential,
  Sgd,
  type Storage,
  storageByName,
  Tensor,
  trainEpoch,
  WorkerPool,
  zeroGradientFractions,
} from "../mod.ts";
import { readMnistDir, readSafetensorsFile, writeSafetensorsFile } from "../data/files.ts";
import {
  formatsFlag,
  parseFlags,
  positiveInteger,
  progressBar,
  runCommand,
  UsageError,
} from "./_cli.ts";
import { gradientTotalsText } from "./_gradient_text.ts";
import { locateMnist } from "./_locate.ts";

const HELP = `Usage: deno task train [options]

Trains DeepConvNet (He initialisation, dropout 0.5) on the MNIST training images and evaluates
it on the test images after every epoch. Each epoch's log also counts the gradients (scaled by
the loss scale, as stored) that overflow, underflow to zero or are subnormal in one step on the
first batch of training images: predicted from float64, observed in the training format. Saves safetensors with the reference tensor names
(W1..W8, b1..b8) and metadata, a checkpoint after every epoch and on Ctrl-C.

Options:
  --out FILE          where to save the weights (default: deepconvnet-<format>.safetensors);
                      the checkpoint is FILE.checkpoint
  --epochs N          epochs to train (default 5)
  --batch N           images per step (default 100)
  --optimizer NAME    adam (default) or sgd
  --lr X              learning rate (default 0.001 for adam, 0.1 for sgd)
  --seed N            seed of initialisation, image order and dropout (default 1)
  --format NAME       storage of weights, activations and gradients: f64, f32 (default), f16,
                      f16-polyfill, bf16
  --master NAME       keep master weights in this format (f32 for the mixed-precision recipe)
  --loss-scale MODE   dynamic (float16 recipe: starts at 2^15, halves and skips a step on
                      overflow, doubles after 2000 clean steps) or off (default: dynamic for f16)
  --data DIR          folder with the MNIST IDX files (default: $HALFPREC_MNIST, else the cache,
                      downloading the training set into it, md5 checked)
  --limit N           train on the first N images only; --test-limit N: evaluate on N
  --workers N         threads computing gradients (default: one per core)
  --resume            continue from FILE.checkpoint
  --help              show this text
`;

/** Everything that defines a run: a checkpoint can only be resumed with the same. */
interface RunSettings {
  format: string;
  master: string;
  optimizer: string;
  lr: number;
  batch: number;
  seed: number;
  limit: number;
  lossScale: string;
  workers: number;
}

async function main(): Promise<void> {
  const args = parse(Deno.args);
  if (args === "help") {
    console.log(HELP);
    return;
  }
  const { settings, epochs, out, resume } = args;
  const location = await locateMnist("train", args.data);
  if (location.downloaded) console.error(location.downloaded);
  const train = await readMnistDir(location.dir, "train");
  const test = await readMnistDir((await locateMnist("test", args.data)).dir, "test");
  if (settings.limit > imageCount(train)) {
    throw new UsageError(
      `--limit is ${settings.limit}, but the training set has ${imageCount(train)}`,
    );
  }
  const testLimit = Math.min(args.testLimit ?? imageCount(test), imageCount(test));

  const storage = storageByName(settings.format);
  const net = deepConvNet({ seed: settings.seed, storage });
  const optimizer: Optimizer = settings.optimizer === "adam"
    ? new Adam({ lr: settings.lr, master: masterStorage(settings) })
    : new Sgd({ lr: settings.lr, master: masterStorage(settings) });
  const lossScale = settings.lossScale === "dynamic" ? new LossScale() : undefined;
  let position = { epoch: 0, step: 0 };
  const checkpoint = `${out}.checkpoint`;
  if (resume) {
    position = await restore(checkpoint, settings, net, optimizer, lossScale);
    console.error(`Resuming ${checkpoint} at epoch ${position.epoch + 1}, step ${position.step}`);
  }

  let stop = false;
  const onSignal = () => stop = true;
  Deno.addSignalListener("SIGINT", onSignal);
  using pool = new WorkerPool({ size: settings.workers });
  await pool.load(net);
  let finalAccuracy: number | undefined;
  for (let epoch = position.epoch; epoch < epochs; epoch++) {
    const started = performance.now();
    const bar = progressBar(Math.floor(settings.limit / settings.batch), "steps", {
      logEvery: 100,
    });
    let images = 0;
    const report = await trainEpoch(net, train, epoch, {
      optimizer,
      batch: settings.batch,
      seed: settings.seed,
      limit: settings.limit,
      startStep: epoch === position.epoch ? position.step : 0,
      pool,
      lossScale,
      shouldStop: () => stop,
      onStep: ({ step, loss }) => {
        images += settings.batch;
        const rate = images / ((performance.now() - started) / 1000);
        const scale = lossScale ? ` | scale ${lossScale.value}` : "";
        bar.update(
          step + 1,
          `epoch ${epoch + 1} | loss ${loss.toFixed(4)} | ${rate.toFixed(0)} img/s${scale}`,
        );
      },
    });
    bar.stop();
    const seconds = (performance.now() - started) / 1000;
    const finished = report.nextStep === report.steps;
    const next = finished ? { epoch: epoch + 1, step: 0 } : { epoch, step: report.nextStep };
    await save(checkpoint, net, optimizer, lossScale, settings, next);
    if (!finished) {
      console.error(`Interrupted: saved ${checkpoint}; continue with --resume`);
      return;
    }
    // Read before the probe below overwrites the gradients of the last step.
    const zeros = zeroSummary(net);
    const probeImages = Math.min(settings.batch, imageCount(train));
    const probe = gradientRangeTotals(gradientRanges(
      net.to(f64),
      net,
      imageBatch(train, 0, probeImages, f64),
      train.labels.subarray(0, probeImages),
      { lossScale: lossScale?.value ?? 1, seed: settings.seed },
    ));
    await pool.load(net);
    const accuracy = await testAccuracy(pool, test, testLimit, storage);
    console.error(
      `epoch ${epoch + 1}/${epochs}: loss ${report.loss.toFixed(4)}, test accuracy ` +
        `${(100 * accuracy).toFixed(2)} % (${testLimit} images), ` +
        `${(images / seconds).toFixed(0)} images/s` +
        (lossScale ? `, loss scale ${lossScale.value}, skipped steps ${lossScale.skipped}` : "") +
        `\n  zero gradients: ${zeros}` +
        `\n  range of the ${storage.name} gradients of one step on the first batch, scaled by ` +
        `${lossScale?.value ?? 1}: ${gradientTotalsText(probe)}`,
    );
    finalAccuracy = accuracy;
  }
  Deno.removeSignalListener("SIGINT", onSignal);
  // A run resumed from a checkpoint that already holds every epoch trains nothing: measure it.
  finalAccuracy ??= await testAccuracy(pool, test, testLimit, storage);
  await writeSafetensorsFile(out, net.params(), {
    ...stringValues(settings),
    epochs: String(epochs),
    testAccuracy: finalAccuracy.toFixed(4),
    testImages: String(testLimit),
    command: `deno task train ${Deno.args.join(" ")}`,
  });
  console.error(`Saved ${out}`);
}

function masterStorage(settings: RunSettings) {
  return settings.master === "none" ? undefined : storageByName(settings.master);
}

async function testAccuracy(
  pool: WorkerPool,
  test: Awaited<ReturnType<typeof readMnistDir>>,
  limit: number,
  storage: Storage,
): Promise<number> {
  const predictions = await classifyImages(pool, test, { format: storage, limit, batch: 500 });
  return predictions.filter((p, i) => p === test.labels[i]).length / limit;
}

/** "W1 0.0 %, ..." for the parameters with a nonzero share of exactly-zero gradients. */
function zeroSummary(net: Sequential): string {
  const shares = [...zeroGradientFractions(net)].filter(([, f]) => f > 0);
  if (shares.length === 0) return "none";
  return shares.map(([name, f]) => `${name} ${(100 * f).toFixed(1)} %`).join(", ");
}

/** Saves parameters, optimizer state and position; metadata records the settings. */
async function save(
  path: string,
  net: Sequential,
  optimizer: Optimizer,
  lossScale: LossScale | undefined,
  settings: RunSettings,
  next: { epoch: number; step: number },
): Promise<void> {
  const tensors = new Map(net.params());
  for (const [name, values] of optimizer.state()) {
    tensors.set(`optimizer.${name}`, Tensor.from(f64, [values.length], values));
  }
  await writeSafetensorsFile(path, tensors, {
    ...stringValues(settings),
    nextEpoch: String(next.epoch),
    nextStep: String(next.step),
    lossScaleValue: String(lossScale?.value ?? 1),
    lossScaleSkipped: String(lossScale?.skipped ?? 0),
    lossScaleClean: String(lossScale?.cleanSteps ?? 0),
  });
}

/** Loads a checkpoint made with the same settings into `net` and `optimizer`. */
async function restore(
  path: string,
  settings: RunSettings,
  net: Sequential,
  optimizer: Optimizer,
  lossScale: LossScale | undefined,
): Promise<{ epoch: number; step: number }> {
  const { tensors, metadata } = await readSafetensorsFile(path);
  for (const [key, value] of Object.entries(stringValues(settings))) {
    if (metadata[key] !== value) {
      throw new UsageError(
        `Cannot resume ${path}: it was made with ${key} ${metadata[key]}, this run has ${value}`,
      );
    }
  }
  const params = new Map([...tensors].filter(([name]) => !name.startsWith("optimizer.")));
  net.loadParams(params, path);
  optimizer.restore(
    new Map(
      [...tensors].filter(([name]) => name.startsWith("optimizer."))
        .map(([name, t]) => [name.slice("optimizer.".length), t.toFloat64()]),
    ),
  );
  if (lossScale) {
    lossScale.value = Number(metadata.lossScaleValue);
    lossScale.skipped = Number(metadata.lossScaleSkipped);
    lossScale.cleanSteps = Number(metadata.lossScaleClean);
  }
  return { epoch: Number(metadata.nextEpoch), step: Number(metadata.nextStep) };
}

function stringValues(settings: RunSettings): Record<string, string> {
  return Object.fromEntries(Object.entries(settings).map(([k, v]) => [k, String(v)]));
}

function parse(argv: string[]) {
  const values = parseFlags(argv, {
    out: { type: "string" },
    epochs: { type: "string", default: "5" },
    batch: { type: "string", default: "100" },
    optimizer: { type: "string", default: "adam" },
    lr: { type: "string" },
    seed: { type: "string", default: "1" },
    format: { type: "string", default: "f32" },
    master: { type: "string" },
    "loss-scale": { type: "string" },
    data: { type: "string" },
    limit: { type: "string", default: "60000" },
    "test-limit": { type: "string" },
    workers: { type: "string", default: String(navigator.hardwareConcurrency) },
    resume: { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  });
  if (values.help) return "help" as const;
  const [{ name: format }] = formatsFlag("format", values.format);
  const master = values.master === undefined
    ? "none"
    : formatsFlag("master", values.master)[0].name;
  if (values.optimizer !== "adam" && values.optimizer !== "sgd") {
    throw new UsageError(`--optimizer is "${values.optimizer}", expected adam or sgd`);
  }
  const lr = values.lr === undefined
    ? (values.optimizer === "adam" ? 0.001 : 0.1)
    : Number(values.lr);
  if (!(lr > 0 && Number.isFinite(lr))) {
    throw new UsageError(`--lr is "${values.lr}", expected a positive number`);
  }
  const lossScale = values["loss-scale"] ??
    (format === "f16" || format === "f16-polyfill" ? "dynamic" : "off");
  if (lossScale !== "dynamic" && lossScale !== "off") {
    throw new UsageError(`--loss-scale is "${lossScale}", expected dynamic or off`);
  }
  const settings: RunSettings = {
    format,
    master,
    optimizer: values.optimizer,
    lr,
    batch: positiveInteger("batch", values.batch),
    seed: positiveInteger("seed", values.seed),
    limit: positiveInteger("limit", values.limit),
    lossScale,
    workers: positiveInteger("workers", values.workers),
  };
  return {
    settings,
    epochs: positiveInteger("epochs", values.epochs),
    out: values.out ?? `deepconvnet-${format}.safetensors`,
    resume: values.resume,
    data: values.data,
    testLimit: values["test-limit"] === undefined
      ? undefined
      : positiveInteger("test-limit", values["test-limit"]),
  };
}

if (import.meta.main) await runCommand("train", main);
