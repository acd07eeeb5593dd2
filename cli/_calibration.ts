/**
 * `--calibrate N` of eval and analyze: static activation scales from N images that are not the
 * images evaluated — the MNIST training set found by the one data lookup, or the images
 * `--calibration-data` names.
 *
 * @module
 */
import type { LabeledImages, Sequential, Storage } from "../mod.ts";
import { scaledSchemeOf } from "../layers/storage/mod.ts";
import { type ActivationScales, calibrate } from "../analysis/mod.ts";
import { readImageSafetensorsFile, readMnistDir } from "../data/files.ts";
import { positiveInteger, UsageError } from "./_cli.ts";
import { locateMnist } from "./_locate.ts";

/** The help lines of the flags. */
export const CALIBRATE_HELP =
  `  --calibrate N    static activation scales: the amax of each conv and affine layer's
                   input over N images that are not evaluated (the MNIST training set,
                   or --calibration-data), run in float64; default: dynamic, per batch
  --calibration-data DIR|FILE
                   the images --calibrate takes: a folder holding the MNIST training
                   files, or a safetensors FILE of images and labels (docs/data.md)`;

/** The flags' parse options, for parseFlags. */
export const CALIBRATE_FLAGS = {
  calibrate: { type: "string" },
  "calibration-data": { type: "string" },
} as const;

/** The flags' values as {@linkcode CalibrateFlags} (but `data`). */
export function calibrateArgs(
  values: { calibrate?: string; "calibration-data"?: string },
): Omit<CalibrateFlags, "data"> {
  return {
    calibrate: values.calibrate === undefined
      ? undefined
      : positiveInteger("calibrate", values.calibrate),
    calibrationData: values["calibration-data"],
  };
}

/** What the flags ask. */
export interface CalibrateFlags {
  /** `--calibrate`: how many images. */
  calibrate?: number;
  /** `--calibration-data`: where they are. */
  calibrationData?: string;
  /** `--data`: where the evaluated images are (its folder may hold the training files too). */
  data?: string;
}

/**
 * `net` with the activation scales the flags ask for and their record: unchanged and
 * `dynamic` without `--calibrate`; otherwise calibrated on images checked to be none of
 * `evaluated`. A usage error when the calibration images cannot be found or overlap.
 */
export async function calibrateFlags(
  net: Sequential,
  flags: CalibrateFlags,
  evaluated: LabeledImages,
  batch: number,
): Promise<{ net: Sequential; scales: ActivationScales }> {
  if (flags.calibrate === undefined) {
    if (flags.calibrationData !== undefined) {
      throw new UsageError("--calibration-data given without --calibrate N");
    }
    return { net, scales: { mode: "dynamic" } };
  }
  const { set, source } = await calibrationImages(flags);
  try {
    return calibrate(net, set, { images: flags.calibrate, source, evaluated, batch });
  } catch (error) {
    if (error instanceof RangeError) throw new UsageError(`--calibrate: ${error.message}`);
    throw error;
  }
}

/** The images to calibrate on, and what to call them. */
async function calibrationImages(
  flags: CalibrateFlags,
): Promise<{ set: LabeledImages; source: string }> {
  const path = flags.calibrationData;
  if (path?.endsWith(".safetensors")) {
    return { set: await readImageSafetensorsFile(path), source: path };
  }
  if (path === undefined && flags.data?.endsWith(".safetensors")) {
    throw new UsageError(
      `--calibrate: the images of --data ${flags.data} have no training set to calibrate on; ` +
        "name images that are not evaluated with --calibration-data DIR|FILE",
    );
  }
  let dir: string;
  try {
    const location = await locateMnist("train", path ?? flags.data);
    if (location.downloaded) console.error(location.downloaded);
    dir = location.dir;
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    throw new UsageError(`--calibrate needs images that are not evaluated: ${error.message}`);
  }
  return { set: await readMnistDir(dir, "train"), source: `MNIST training set (${dir})` };
}

/** The scales in words: "dynamic, per batch of 100" or "static, from 1000 images of SOURCE". */
function scalesText(scales: ActivationScales, batch: number): string {
  return scales.mode === "dynamic"
    ? `dynamic (per batch of ${batch})`
    : `static, calibrated on ${scales.images} images of ${scales.source}`;
}

/**
 * The scales in words (see {@linkcode scalesText}) where a run quantizes with them, else
 * undefined: only scaled formats, calibrated scales and a configuration (which may name a scaled
 * format) make them matter, and a note about them beside f16 or bf16 alone would mislead.
 */
export function scalesNote(
  scales: ActivationScales,
  run: { batch: number; formats: readonly Storage[]; configured?: boolean },
): string | undefined {
  const scaled = scales.mode === "static" || run.configured === true ||
    run.formats.some((format) => scaledSchemeOf(format) !== undefined);
  return scaled ? scalesText(scales, run.batch) : undefined;
}
