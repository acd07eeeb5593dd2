/**
 * A synthetic search problem whose every configuration can be enumerated: four units, three
 * formats, each unit's damage in each format its own block of wrong images, so damages add up.
 *
 * @module
 */
import { type LayerConfig, storageByName } from "../mod.ts";
import type { SearchProblem } from "../analysis/search.ts";

export const UNITS = ["a", "b", "c", "d"];
export const FORMATS = ["f32", "bf16", "e4m3"];
/** Elements each unit moves per image: bytes are these times the format's width. */
export const SIZES = [8, 4, 2, 1];
/** Images each unit gets wrong in each format (f32, bf16, e4m3); disjoint, so they add up. */
export const DAMAGE = [[0, 0, 2], [0, 1, 5], [0, 0, 1], [0, 2, 3]];
export const IMAGES = 1000;
export const LABELS = Int32Array.from({ length: IMAGES }, (_, i) => i % 10);

/** The format name of each unit in `config`. */
export function unitFormats(config: LayerConfig): string[] {
  return UNITS.map((u) => (config[u] ?? config.default) as string);
}

export function bytesOf(formats: readonly string[]): number {
  return formats.reduce((sum, f, u) => sum + SIZES[u] * storageByName(f).bytesPerElement, 0);
}

/** Images wrong for `formats`: each unit's damage is its own block of image indices. */
export function predictions(formats: readonly string[]): Int32Array {
  const out = LABELS.slice();
  formats.forEach((f, u) => {
    const k = FORMATS.indexOf(f);
    for (let j = 0; j < (k < 0 ? 0 : DAMAGE[u][k]); j++) {
      const i = 10 * (u * 20 + j); // images 0, 10, ... for unit a; 200, 210, ... for b
      out[i] = (LABELS[i] + 1) % 10;
    }
  });
  return out;
}

/** The problem, counting the classifications it runs. */
export function syntheticProblem(): SearchProblem & { runs: string[] } {
  const runs: string[] = [];
  return {
    runs,
    units: UNITS.map((name) => ({ name, layers: [name] })),
    formats: FORMATS,
    settings: { images: IMAGES },
    bytesPerImage: (config) => bytesOf(unitFormats(config)),
    // Noise in proportion to the damage, and growing as the format narrows.
    sensitivity: () =>
      Promise.resolve(DAMAGE.map((row) => row.map((d, k) => d + 10 ** (-12 + 4 * k)))),
    labels: () => LABELS,
    classify: (config, split, onProgress) => {
      runs.push(`${split} ${unitFormats(config).join(",")}`);
      onProgress?.(IMAGES, IMAGES);
      return Promise.resolve(predictions(unitFormats(config)));
    },
  };
}

/** Every configuration, with bytes and accuracy. */
export function allConfigurations(): {
  formats: string[];
  bytesPerImage: number;
  accuracy: number;
}[] {
  let configs: string[][] = [[]];
  for (const _ of UNITS) configs = configs.flatMap((c) => FORMATS.map((f) => [...c, f]));
  return configs.map((formats) => {
    const p = predictions(formats);
    const correct = p.filter((v, i) => v === LABELS[i]).length;
    return { formats, bytesPerImage: bytesOf(formats), accuracy: correct / IMAGES };
  });
}
