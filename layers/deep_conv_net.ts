/**
 * DeepConvNet, the 6-convolution MNIST network of "Deep Learning from Scratch" (ch. 8).
 *
 * @module
 */
import { Affine } from "./affine.ts";
import { Conv } from "./conv.ts";
import { Dropout } from "./dropout.ts";
import { heInit } from "./init.ts";
import { Pool } from "./pool.ts";
import { Relu } from "./relu.ts";
import { Sequential } from "./sequential.ts";
import { Softmax } from "./softmax.ts";
import type { Storage } from "./storage/storage.ts";
import { f64 } from "./storage/f64.ts";

/** Options of {@linkcode deepConvNet}. */
export interface DeepConvNetOptions {
  /** Format of every layer. @default {f64} */
  storage?: Storage;
  /** Seed of the He initialisation and of the dropout masks. @default {0} */
  seed?: number;
}

/**
 * The reference network, layer for layer (input N x 1 x 28 x 28):
 * conv(16, pad 1) relu conv(16, pad 1) relu pool | conv(32, pad 1) relu conv(32, pad 2) relu
 * pool | conv(64, pad 1) relu conv(64, pad 1) relu pool | affine(1024→50) relu dropout(0.5)
 * affine(50→10) dropout(0.5) softmax; every conv 3x3 stride 1, every pool 2x2 stride 2.
 * Parameters are W1..W8 and b1..b8 in the reference layouts, He-initialised from `seed`.
 *
 * @example Load the book's weights and classify
 * ```ts ignore
 * import { deepConvNet } from "@halfprec/halfprec";
 * import { readSafetensorsFile } from "@halfprec/halfprec/files";
 *
 * const net = deepConvNet();
 * const { tensors } = await readSafetensorsFile("deepconvnet-book.safetensors");
 * net.loadParams(tensors, "deepconvnet-book.safetensors");
 * ```
 *
 * @example The layer names
 * ```ts
 * import { deepConvNet } from "@halfprec/halfprec";
 * import assert from "node:assert/strict";
 * const net = deepConvNet();
 * assert.equal(net.layers.length, 21);
 * assert.deepEqual(net.inputShape, [1, 28, 28]);
 * assert.deepEqual(net.shapes([1, 1, 28, 28]).at(-1), [1, 10]);
 * assert.equal(net.layers[17].name, "dropout1");
 * ```
 */
export function deepConvNet(options?: DeepConvNetOptions): Sequential {
  const storage = options?.storage ?? f64;
  const seed = options?.seed ?? 0;
  const conv = (inChannels: number, outChannels: number, pad: number) =>
    new Conv({ inChannels, outChannels, kernel: 3, stride: 1, pad, storage });
  const relu = () => new Relu({ storage });
  const pool = () => new Pool({ size: 2, stride: 2, storage });
  // deno-fmt-ignore
  const net = new Sequential([
    conv(1, 16, 1), relu(), conv(16, 16, 1), relu(), pool(),
    conv(16, 32, 1), relu(), conv(32, 32, 2), relu(), pool(),
    conv(32, 64, 1), relu(), conv(64, 64, 1), relu(), pool(),
    new Affine({ inputs: 64 * 4 * 4, outputs: 50, storage }), relu(),
    new Dropout({ ratio: 0.5, seed: seed + 1, storage }),
    new Affine({ inputs: 50, outputs: 10, storage }),
    new Dropout({ ratio: 0.5, seed: seed + 2, storage }),
    new Softmax({ storage }),
  ], { inputShape: [1, 28, 28] }); // one MNIST image

  heInit(net, seed);
  return net;
}
