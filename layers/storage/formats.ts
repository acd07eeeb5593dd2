/**
 * The storage formats halfprec knows, by name.
 *
 * @module
 */
import type { Storage } from "./storage.ts";
import { f64 } from "./f64.ts";
import { f32 } from "./f32.ts";
import { f16 } from "./f16.ts";
import { f16Polyfill } from "./f16_polyfill.ts";
import { bf16 } from "./bf16.ts";
import { e4m3, e5m2 } from "./fp8.ts";
import { minifloat } from "./minifloat.ts";
import { MINIFLOAT_NAME_PATTERN, parseMinifloatName } from "./_minifloat_name.ts";
import { SCALED_STORAGES, scaledStorage } from "./scaled.ts";
import { BIT_FLIP_NAME_PATTERN, parseBitFlipName, withBitFlips } from "./bit_flips.ts";
import { quote } from "../../data/_quote.ts";

/**
 * Every built-in storage format of 16 bits or more, widest first: the formats compared by
 * default.
 *
 * @example
 * ```ts
 * import { STORAGES } from "@halfprec/halfprec/formats";
 * import assert from "node:assert/strict";
 * assert.deepEqual(STORAGES.map((s) => s.name), ["f64", "f32", "f16", "f16-polyfill", "bf16"]);
 * ```
 */
export const STORAGES: readonly Storage[] = [f64, f32, f16, f16Polyfill, bf16];

/**
 * The fp8 formats: OCP E4M3 and E5M2.
 *
 * @example
 * ```ts
 * import { FP8_STORAGES } from "@halfprec/halfprec/formats";
 * import assert from "node:assert/strict";
 * assert.deepEqual(FP8_STORAGES.map((s) => s.dtype), ["F8_E4M3", "F8_E5M2"]);
 * ```
 */
export const FP8_STORAGES: readonly Storage[] = [e4m3, e5m2];

/**
 * The named formats, then every deterministic minifloat made by name so far: one object per
 * name. Stochastic ones are not kept: their stream is state that belongs to a run.
 */
const BY_NAME = new Map<string, Storage>(
  [...STORAGES, ...FP8_STORAGES, ...SCALED_STORAGES].map((s) => [s.name, s]),
);

/**
 * The storage format called `name`: one of {@linkcode STORAGES} or {@linkcode FP8_STORAGES},
 * a scaled format (`mxfp4`, `mxfp8-e4m3-rceil`, `nvfp4`, `e4m3-tensor`, `int8`: see
 * `SCALED_SCHEMES`), or a minifloat named as {@linkcode minifloat} names them (`e3m4`, `e4m3-sat`, `e5m2-rz`,
 * `e4m3-sr42`), or any of these with bit flips (`f16+flip1e-5-sig-w-s7`, see `withBitFlips`).
 * The same name gives the same object every time, except for formats that draw random numbers
 * (stochastic rounding, bit flips): each call makes a new one, whose random stream starts at its
 * seed, so that no run continues another's stream.
 *
 * @throws {RangeError} When no format has that name (the message lists the known ones and the
 * form of minifloat names), when a minifloat name is not the format's own spelling (`e4m3-fn`
 * is `e4m3`), or when the minifloat it names cannot be made.
 *
 * @example
 * ```ts
 * import { e4m3, storageByName } from "@halfprec/halfprec";
 * import assert from "node:assert/strict";
 * assert.equal(storageByName("bf16").bytesPerElement, 2);
 * assert.equal(storageByName("e4m3"), e4m3);
 * assert.equal(storageByName("e4m3-sat").round(1000), 448);
 * assert.equal(storageByName("e3m4-fn"), storageByName("e3m4-fn"));
 * assert.notEqual(storageByName("e4m3-sr1"), storageByName("e4m3-sr1"));
 * assert.throws(() => storageByName("f8"), RangeError);
 * ```
 */
export function storageByName(name: string): Storage {
  const known = BY_NAME.get(name);
  if (known) return known;
  const flips = parseBitFlipName(name);
  if (flips) return withBitFlips(storageByName(flips.base), flips.options);
  const scaled = scaledStorage(name);
  if (scaled) return scaled;
  const options = parseMinifloatName(name);
  if (!options) {
    const names = [...STORAGES, ...FP8_STORAGES].map((s) => s.name).join(", ");
    throw new RangeError(
      `Unknown storage format ${quote(name)}: expected one of ${names}, or a minifloat named ` +
        `${MINIFLOAT_NAME_PATTERN} (such as e3m4, e4m3-sat or e5m2-sr42), or a scaled format: ` +
        `mxfp8-e4m3, mxfp8-e5m2, mxfp6-e3m2, mxfp6-e2m3, mxfp4, mxint8 (each with an optional ` +
        `-ceil, -even or -rceil), nvfp4, e4m3-tensor, e4m3-channel, e5m2-tensor, ` +
        `e5m2-channel, int8, int4, each with an optional element rounding -rna, -rnz, -ru, ` +
        `-rd, -rz or -ro; any of them with bit flips, ${BIT_FLIP_NAME_PATTERN}`,
    );
  }
  const storage = minifloat(options);
  if (storage.name !== name) {
    throw new RangeError(
      `Cannot find storage format ${quote(name)}: the format it spells is named "${storage.name}"`,
    );
  }
  if (!storage.stream) BY_NAME.set(name, storage);
  return storage;
}
