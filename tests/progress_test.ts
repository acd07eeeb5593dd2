import assert from "node:assert/strict";
import { progressBar } from "../cli/_cli.ts";

/** A progress reporter off a terminal, writing into `lines`, on a clock that moves 500 ms a read. */
function piped(total: number, unit: string, logEvery?: number) {
  const lines: string[] = [];
  let ms = 0;
  const bar = progressBar(total, unit, {
    logEvery,
    terminal: false,
    write: (line) => lines.push(line),
    now: () => (ms += 500),
  });
  return { bar, lines };
}

Deno.test("off a terminal, progress writes one line as each run finishes, in units across runs", () => {
  const { bar, lines } = piped(300, "images");
  for (const [index, label] of ["f64 store", "f16 store", "bf16 store"].entries()) {
    for (let done = 0; done <= 100; done += 25) bar.update(index * 100 + done, label);
  }
  bar.stop();
  assert.equal(lines.length, 3);
  assert.match(lines[0], /^f64 store: done, 100\/300 images, \d+\.\d s$/);
  assert.match(lines[1], /^f16 store: done, 200\/300 images, /);
  assert.match(lines[2], /^bf16 store: done, 300\/300 images, /);
  const seconds = lines.map((line) => Number(line.match(/([\d.]+) s$/)![1]));
  assert.ok(seconds[0] < seconds[1] && seconds[1] < seconds[2], `elapsed times ${seconds}`);
});

Deno.test("off a terminal, logEvery adds a line every so many units of one long run", () => {
  const { bar, lines } = piped(250, "steps", 100);
  for (let done = 0; done <= 250; done++) bar.update(done, "epoch 1");
  bar.stop();
  assert.deepEqual(lines.map((line) => line.replace(/, [\d.]+ s$/, "")), [
    "epoch 1: 100/250 steps",
    "epoch 1: 200/250 steps",
    "epoch 1: done, 250/250 steps",
  ]);
});

Deno.test("a progress reporter stopped before any update writes nothing", () => {
  const { bar, lines } = piped(10, "formats");
  bar.stop();
  assert.deepEqual(lines, []);
});
