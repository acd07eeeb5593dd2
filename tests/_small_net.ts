/**
 * A network and a data set small enough for tests that train: a few steps take milliseconds.
 *
 * @module
 */
import { type LabeledImages, Sequential, type Storage } from "../mod.ts";
import { Affine, Conv, Pool, Relu, Softmax } from "../layers/mod.ts";
import { randomValues } from "./_gradcheck.ts";

/** A small classifier: 28x28 -> conv 5x5x4 -> relu -> pool -> affine 576 -> 10 -> softmax. */
export function smallNet(storage: Storage): Sequential {
  const net = new Sequential([
    new Conv({ inChannels: 1, outChannels: 4, kernel: 5, storage }),
    new Relu({ storage }),
    new Pool({ size: 2, storage }),
    new Affine({ inputs: 4 * 12 * 12, outputs: 10, storage }),
    new Softmax({ storage }),
  ]);
  for (const [name, t] of net.params()) {
    t.set(randomValues(t.size, name.length * 31 + t.size).map((v) => 0.2 * v));
  }
  return net;
}

/** 30 images whose label is the row their bright bar is on: learnable in a few steps. */
export const BARS: LabeledImages = {
  images: Uint8Array.from({ length: 30 * 784 }, (_, i) => {
    const image = Math.floor(i / 784), row = Math.floor((i % 784) / 28);
    return Math.floor(row / 2.8) === image % 10 ? 255 : 0;
  }),
  shape: [30, 1, 28, 28],
  labels: Uint8Array.from({ length: 30 }, (_, i) => i % 10),
  classes: 10,
};
