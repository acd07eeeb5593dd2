/**
 * `deno task train`: train DeepConvNet on the 60,000 MNIST training images, in any storage
 * format: wiring of flags, files and signals around `trainEpochs`.
 *
 * @module
 */
import {
  Adam,
  classifyImages,
  deepConvNet,
  f64,
  imageBatch,
  type LabeledImages,
  restoreCheckpoint,
  type Sequential,
  Sgd,
  storageByName,
  trainEpochs,
  TrainingDivergedError,
  WorkerPool,
} from "../mod.ts";
import { LossScale, type Optimizer, zeroGradientFractions } from "../layers/mod.ts";
import { gradientRanges, gradientRangeTotals } from "../analysis/mod.ts";
import { imageCount } from "../data/mod.ts";
import {
  delayedScaling,
  type EpochSummary,
  type StepReport,
  type TrainingPosition,
} from "../training/mod.ts";
import { scalesActivationsPerTensor } from "../layers/storage/mod.ts";
import { readMnistDir, readSafetensorsFile, writeSafetensorsFile } from "../data/files.ts";
import {
  parseFlags,
  positiveInteger,
  type Progress,
  progressBar,
  runCommand,
  singleFormatFlag,
  UsageError,
  workersFlag,
} from "./_cli.ts";
import { gradientTotalsText } from "./_gradient_text.ts";
import { locateMnist } from "./_locate.ts";
import { checkOutputs } from "./_outputs.ts";
import { BATCH_FLAG, WORKERS_FLAG } from "./_command.ts";

const HELP = `Usage: deno task train [options]

Trains DeepConvNet (He initialisation, dropout 0.5) on the MNIST training images and evaluates
it on the test images after every epoch. Each epoch's log also counts the gradients (scaled by
the loss scale, as stored) that overflow, underflow to zero or are subnormal in one step on the
first batch of training images: predicted from float64, observed in the training format.
Saves safetensors with the reference tensor names (W1..W8, b1..b8) and metadata, and a
checkpoint after every epoch and on Ctrl-C or SIGTERM (then it exits with 130 or 143). A loss
that becomes NaN or infinite stops the run at that step (exit 1); the checkpoint keeps the last
epoch trained.

Options:
  --out FILE          where to save the weights (default: deepconvnet-<format>.safetensors);
                      the checkpoint is FILE.checkpoint
  --epochs N          epochs to train (default 5)
  --batch N           images per step (default 100)
  --optimizer NAME    adam (default) or sgd
  --lr X              learning rate (default 0.001 for adam, 0.1 for sgd)
  --seed N            seed of initialisation, image order and dropout (default 1)
  --format NAME       storage of weights, activations and gradients: f64, f32 (default), f16,
                      f16-polyfill, bf16, or a scaled format (int8, e4m3-tensor, ...)
  --master NAME       keep master weights in this format (f32 for the mixed-precision recipe)
  --loss-scale MODE   dynamic (float16 recipe: starts at 2^15, halves and skips a step on
                      overflow, doubles after 2000 clean steps) or off (default: dynamic for f16)
  --scaling MODE      activation scales of the formats that scale them per tensor (int8, int4,
                      e4m3-tensor, ...): dynamic (default: each batch's amax) or delayed
                      scaling, delayed[:HISTORY[:RULE[:MARGIN]]]: the amax of each layer's
                      input over its last HISTORY steps (default 16), RULE max (default) or
                      most-recent, times 2^MARGIN (default 0) (docs/scaled-formats.md)
  --data DIR          folder with the MNIST IDX files (default: $HALFPREC_MNIST, else the cache,
                      downloading the training set into it, md5 checked)
  --limit N           train on the first N images only (at least --batch); --test-limit N:
                      evaluate on N
  --workers N         threads computing gradients (default: one per core)
  --resume            continue from FILE.checkpoint
  --help              show this text
`;

/** The flags, checked. */
type Args = Exclude<ReturnType<typeof parse>, "help">;

async function main(): Promise<void> {
  const args = parse(Deno.args);
  if (args === "help") return console.log(HELP);
  await checkOutputs({ out: args.out, data: args.data });
  const { train, test, testLimit } = await loadSets(args);
  using pool = new WorkerPool({ size: args.workers });
  const { net, options } = newRun(args, pool);
  const checkpoint = `${args.out}.checkpoint`;
  const start = args.resume ? await resume(checkpoint, net, train, options) : undefined;
  using interruption = interruptOnSignals();
  const measure = () => testAccuracy(pool, net, test, testLimit);
  let accuracy: number | undefined;
  const result = await trainEpochs(net, train, {
    ...options,
    epochs: args.epochs,
    start,
    signal: interruption.signal,
    checkpoint: (c) => writeSafetensorsFile(checkpoint, c.tensors, c.metadata),
    onStep: progress(args, options.lossScale),
    onEpoch: async (epoch) => {
      accuracy = await measure();
      console.error(epochText(args, epoch, { accuracy, testLimit }, net, train, options.lossScale));
    },
  }).catch((error) => keptCheckpoint(error, checkpoint));
  if (result.stopped) {
    console.error(
      `Interrupted by ${interruption.signal.reason}: saved ${checkpoint}; continue with --resume`,
    );
    Deno.exit(interruption.exitCode());
  }
  // A run resumed from a checkpoint that already holds every epoch trains nothing: measure it.
  await saveWeights(args, net, { accuracy: accuracy ?? await measure(), testLimit });
}

/** The training and test sets of `--data` (or the cache), `--limit` checked against the first. */
async function loadSets(args: Args) {
  const location = await locateMnist("train", args.data);
  if (location.downloaded) console.error(location.downloaded);
  const train = await readMnistDir(location.dir, "train");
  const test = await readMnistDir((await locateMnist("test", args.data)).dir, "test");
  if (args.limit > imageCount(train)) {
    throw new UsageError(`--limit is ${args.limit}, but the training set has ${imageCount(train)}`);
  }
  const testLimit = Math.min(args.testLimit ?? imageCount(test), imageCount(test));
  return { train, test, testLimit };
}

/** The network and the options that define the run (see `trainEpochs`), on `pool`. */
function newRun(args: Args, pool: WorkerPool) {
  const net = deepConvNet({ seed: args.seed, storage: storageByName(args.format) });
  const master = args.master === "none" ? undefined : storageByName(args.master);
  const optimizer: Optimizer = args.optimizer === "adam"
    ? new Adam({ lr: args.lr, master })
    : new Sgd({ lr: args.lr, master });
  const options = {
    optimizer,
    batch: args.batch,
    seed: args.seed,
    limit: args.limit,
    pool,
    lossScale: args.lossScale === "dynamic" ? new LossScale() : undefined,
    scaling: args.scaling === "dynamic" ? undefined : delayedScaling(args.scaling),
  };
  return { net, options };
}

/** Loads `checkpoint` into the run (see `restoreCheckpoint`) and says where it continues. */
async function resume(
  checkpoint: string,
  net: Sequential,
  train: LabeledImages,
  options: ReturnType<typeof newRun>["options"],
): Promise<TrainingPosition> {
  const file = await readSafetensorsFile(checkpoint);
  const start = restoreCheckpoint(net, train, options, file, checkpoint);
  console.error(`Resuming ${checkpoint} at epoch ${start.epoch + 1}, step ${start.step + 1}`);
  return start;
}

/** An abort signal raised by Ctrl-C (SIGINT) or SIGTERM, whose reason is the signal's name. */
function interruptOnSignals() {
  const controller = new AbortController();
  const signals = ["SIGINT", "SIGTERM"] as const;
  const handlers = signals.map((name) => () => controller.abort(name));
  signals.forEach((name, i) => Deno.addSignalListener(name, handlers[i]));
  return {
    signal: controller.signal,
    /** The shell's code for a process ended by the signal: 128 + its number. */
    exitCode: () => 128 + (controller.signal.reason === "SIGINT" ? 2 : 15),
    [Symbol.dispose]: () =>
      signals.forEach((name, i) => Deno.removeSignalListener(name, handlers[i])),
  };
}

/** A progress bar per epoch; on a terminal, the loss and the loss scale beside it. */
function progress(args: Args, lossScale: LossScale | undefined): (step: StepReport) => void {
  let bar: Progress | undefined;
  return ({ epoch, step, steps, loss }) => {
    bar ??= progressBar(steps, "steps", { logEvery: 100 });
    // Off a terminal, a line is written whenever the label changes: the loss goes in on one.
    const scale = lossScale ? `, loss scale ${lossScale.value}` : "";
    const label = Deno.stderr.isTerminal() ? `, loss ${loss.toFixed(4)}${scale}` : "";
    bar.update(step + 1, `epoch ${epoch + 1}/${args.epochs}${label}`);
    if (step + 1 === steps) bar.stop(), bar = undefined;
  };
}

/** Rethrows `error`, saying for a diverged run whether `checkpoint` keeps an earlier state. */
async function keptCheckpoint(error: unknown, checkpoint: string): Promise<never> {
  if (!(error instanceof TrainingDivergedError)) throw error;
  const kept = await Deno.stat(checkpoint).then(() => true, () => false);
  throw new Error(
    `${error.message}; ${
      kept ? `${checkpoint} keeps the last good state` : "no checkpoint was saved"
    }`,
  );
}

/** The log of one epoch: loss, accuracy, speed, loss scale, zero gradients and their range. */
function epochText(
  args: Args,
  epoch: EpochSummary,
  { accuracy, testLimit }: { accuracy: number; testLimit: number },
  net: Sequential,
  train: LabeledImages,
  lossScale: LossScale | undefined,
): string {
  // Read before the probe below overwrites the gradients of the last step.
  const zeros = zeroSummary(net);
  const probeImages = Math.min(args.batch, imageCount(train));
  const probe = gradientRangeTotals(gradientRanges(
    net.to(f64),
    net,
    imageBatch(train, 0, probeImages, f64),
    train.labels.subarray(0, probeImages),
    { lossScale: lossScale?.value ?? 1, seed: args.seed },
  ));
  return `epoch ${epoch.epoch + 1}/${args.epochs}: loss ${epoch.loss.toFixed(4)}, test accuracy ` +
    `${(100 * accuracy).toFixed(2)} % (${testLimit} images), ` +
    `${epoch.imagesPerSecond.toFixed(0)} images/s` +
    (lossScale ? `, loss scale ${lossScale.value}, skipped steps ${lossScale.skipped}` : "") +
    `\n  zero gradients: ${zeros}` +
    `\n  range of the ${args.format} gradients of one step on the first batch, scaled by ` +
    `${lossScale?.value ?? 1}: ${gradientTotalsText(probe)}`;
}

/** The accuracy of `net` on the first `limit` test images, on the pool's workers. */
async function testAccuracy(
  pool: WorkerPool,
  net: Sequential,
  test: LabeledImages,
  limit: number,
): Promise<number> {
  await pool.load(net);
  const format = net.layers[0].storage;
  const predictions = await classifyImages(pool, test, { format, limit, batch: 500 });
  return predictions.filter((p, i) => p === test.labels[i]).length / limit;
}

/** "W1 0.0 %, ..." for the parameters with a nonzero share of exactly-zero gradients. */
function zeroSummary(net: Sequential): string {
  const shares = [...zeroGradientFractions(net)].filter(([, f]) => f > 0);
  if (shares.length === 0) return "none";
  return shares.map(([name, f]) => `${name} ${(100 * f).toFixed(1)} %`).join(", ");
}

/** Saves the trained weights to `--out`, the run's settings and accuracy in the metadata. */
async function saveWeights(
  args: Args,
  net: Sequential,
  { accuracy, testLimit }: { accuracy: number; testLimit: number },
): Promise<void> {
  await writeSafetensorsFile(args.out, net.params(), {
    format: args.format,
    master: args.master,
    optimizer: args.optimizer,
    lr: String(args.lr),
    batch: String(args.batch),
    seed: String(args.seed),
    limit: String(args.limit),
    lossScale: args.lossScale,
    scaling: args.scaling,
    workers: String(args.workers),
    epochs: String(args.epochs),
    testAccuracy: accuracy.toFixed(4),
    testImages: String(testLimit),
    command: `deno task train ${Deno.args.join(" ")}`,
  });
  console.error(`Saved ${args.out}`);
}

/** The flags of `argv`, checked (usage errors), or "help". */
function parse(argv: string[]) {
  const values = parseFlags(argv, {
    out: { type: "string" },
    epochs: { type: "string", default: "5" },
    ...BATCH_FLAG,
    optimizer: { type: "string", default: "adam" },
    lr: { type: "string" },
    seed: { type: "string", default: "1" },
    format: { type: "string", multiple: true, default: ["f32"] },
    master: { type: "string", multiple: true },
    "loss-scale": { type: "string" },
    scaling: { type: "string", default: "dynamic" },
    data: { type: "string" },
    limit: { type: "string", default: "60000" },
    "test-limit": { type: "string" },
    ...WORKERS_FLAG,
    resume: { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  });
  if (values.help) return "help" as const;
  const format = singleFormatFlag("format", values.format).name;
  const master = values.master === undefined
    ? "none"
    : singleFormatFlag("master", values.master).name;
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
  const scaling = values.scaling;
  if (scaling !== "dynamic" && !delayedScaling(scaling)) {
    throw new UsageError(
      `--scaling is "${scaling}", expected dynamic or delayed[:HISTORY[:RULE[:MARGIN]]] ` +
        "(delayed:16:max:0)",
    );
  }
  if (scaling !== "dynamic" && !scalesActivationsPerTensor(storageByName(format))) {
    throw new UsageError(
      `--scaling ${scaling} needs a format that scales activations per tensor ` +
        `(e4m3-tensor, int8, nvfp4, ...), not ${format}`,
    );
  }
  const batch = positiveInteger("batch", values.batch);
  const limit = positiveInteger("limit", values.limit);
  if (limit < batch) {
    throw new UsageError(
      `--limit is ${limit}, below --batch ${batch}: expected at least one batch of images`,
    );
  }
  return {
    format,
    master,
    optimizer: values.optimizer,
    lr,
    batch,
    seed: positiveInteger("seed", values.seed),
    limit,
    lossScale,
    scaling,
    workers: workersFlag(values.workers),
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
