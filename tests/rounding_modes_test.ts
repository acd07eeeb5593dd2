/**
 * Every rounding mode of the minifloats against the exact reference (`_reference_round.ts`,
 * integer arithmetic on bit patterns): on every value of 8-bit formats and the doubles next to
 * it, every tie and the doubles next to it, near-ties and a million random doubles; float16 and
 * bfloat16 as e5m10 and e8m7 on their ties; the stochastic modes for the same random bits, and
 * for bias over many draws.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  minifloatEncoder,
  type MinifloatOptions,
  type MinifloatRounding,
  Random,
  ROUNDING_MODES,
  storageByName,
} from "../layers/mod.ts";
import {
  BFLOAT16,
  BINARY16,
  type BinaryFormat,
  type Draw,
  roundToFormat,
} from "./_reference_round.ts";
import {
  adjacentDouble,
  halfwayCases,
  nearTies,
  nonNegativeValues,
  randomDoubles,
  withNegatives,
} from "./_rounding_inputs.ts";
import { assertRoundsTo, show, storagePaths } from "./_assert_values.ts";

/** 8-bit formats by name, with the reference's description and the options that make them. */
const FORMATS: readonly [string, BinaryFormat, MinifloatOptions][] = [
  ["e4m3", { exponentBits: 4, fractionBits: 3, specials: "fn" }, {
    exponentBits: 4,
    mantissaBits: 3,
  }],
  ["e5m2", { exponentBits: 5, fractionBits: 2 }, { exponentBits: 5, mantissaBits: 2 }],
  [
    "e3m4-b5-nosub-sat",
    { exponentBits: 3, fractionBits: 4, bias: 5, subnormals: false, saturate: true },
    { exponentBits: 3, mantissaBits: 4, bias: 5, subnormals: false, saturate: true },
  ],
  // Spaced 4 apart at the bottom: a double subnormal is a fraction of a spacing below 2^-1074.
  ["e4m2-b-3", { exponentBits: 4, fractionBits: 2, bias: -3 }, {
    exponentBits: 4,
    mantissaBits: 2,
    bias: -3,
  }],
];

const DETERMINISTIC = ROUNDING_MODES.filter((m) => !m.mode.startsWith("stochastic"));

/** Every value of `format` and the doubles next to it, every tie and its neighbours, both signs. */
function everyTieAndNeighbour(format: BinaryFormat): Float64Array {
  const values = nonNegativeValues(format).filter((v) => v > 0);
  return Float64Array.from([
    ...withNegatives(values.flatMap((v) => [v, adjacentDouble(v, 1), adjacentDouble(v, -1)])),
    ...halfwayCases(format),
    ...nearTies(format, [1, 2, 3, 30]),
    ...[NaN, Infinity, -Infinity, 0, -0, Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE],
  ]);
}

Deno.test("every deterministic mode rounds every value, tie and neighbour of 8-bit formats as the reference does", () => {
  for (const [name, format] of FORMATS) {
    const xs = everyTieAndNeighbour(format);
    for (const { mode, suffix } of DETERMINISTIC) {
      const storage = storageByName(name + suffix);
      const expected = xs.map((x) => roundToFormat(x, format, mode));
      assertRoundsTo(storagePaths(storage), xs, expected);
    }
  }
});

Deno.test("every deterministic mode rounds a million random doubles as the reference does", () => {
  const [name, format] = FORMATS[0];
  // From far below the smallest subnormal (2^-9) to far above the largest value (448).
  const xs = randomDoubles(1_000_000, -14, 12, 61);
  for (const { mode, suffix } of DETERMINISTIC) {
    const round = storageByName(name + suffix).round;
    for (const x of xs) {
      const expected = roundToFormat(x, format, mode);
      if (!Object.is(round(x), expected)) {
        assert.fail(`${name + suffix}: ${show(x)} rounds to ${round(x)}, expected ${expected}`);
      }
    }
  }
});

Deno.test("float16 and bfloat16 round in every deterministic mode as e5m10 and e8m7", () => {
  for (const [base, format] of [["e5m10", BINARY16], ["e8m7", BFLOAT16]] as const) {
    const xs = Float64Array.from([
      ...halfwayCases(format),
      ...nearTies(format, [2, 30]),
      ...randomDoubles(50_000, -140, 130, 62),
    ]);
    for (const { mode, suffix } of DETERMINISTIC) {
      const storage = storageByName(base + suffix);
      assertRoundsTo(storagePaths(storage), xs, xs.map((x) => roundToFormat(x, format, mode)));
    }
  }
});

/** The stochastic variants: mode, options, and the reference's draw. */
const STOCHASTIC: readonly [string, MinifloatRounding, number | undefined][] = [
  ["sr", "stochastic", undefined],
  ["sre", "stochastic-equal", undefined],
  ["sr-bits1", "stochastic", 1],
  ["sr-bits8", "stochastic", 8],
  ["sr-bits12", "stochastic", 12],
  ["sr-bits16", "stochastic", 16],
  ["sr-bits32", "stochastic", 32],
];

Deno.test("stochastic modes round as the reference does for the same random bits", () => {
  const random = new Random(5);
  for (const [name, format, options] of FORMATS) {
    const xs = Float64Array.from([
      ...everyTieAndNeighbour(format),
      ...randomDoubles(100_000, -14, 12, 63),
    ]);
    for (const [label, rounding, randomBits] of STOCHASTIC) {
      const encoder = minifloatEncoder({ ...options, rounding, randomBits });
      for (const x of xs) {
        const draw: Draw = { random: random.bits(), randomBits };
        const got = encoder.values[encoder.encode(x, draw.random)];
        const expected = roundToFormat(x, format, rounding, draw);
        if (!Object.is(got, expected)) {
          assert.fail(
            `${name} ${label}: ${
              show(x)
            } with random ${draw.random} gives ${got}, expected ${expected}`,
          );
        }
      }
    }
  }
});

Deno.test("stochastic modes: the mean of many roundings is the value, the midpoint, or biased by the cut bits", () => {
  // Between 1 and 1.125 in e4m3 (spacing 1/8): a value 0.3 + 2^-20 of a spacing above 1.
  const f = 0.3 + 2 ** -20;
  const x = 1 + f / 8;
  const draws = 200_000;
  const mean = (name: string) => {
    const storage = storageByName(name);
    let sum = 0;
    for (let i = 0; i < draws; i++) sum += storage.round(x);
    return sum / draws;
  };
  // Bernoulli draws: the mean's standard error is at most spacing / (2 sqrt(draws)); allow 5.
  const tolerance = 5 * (0.125 / 2) / Math.sqrt(draws);
  const expected: [string, number][] = [
    ["e4m3-sr1", x],
    ["e4m3-sre1", 1 + 0.125 / 2],
    ["e4m3-sr1-bits4", 1 + (Math.floor(f * 16) / 16) * 0.125],
    ["e4m3-sr1-bits8", 1 + (Math.floor(f * 256) / 256) * 0.125],
  ];
  for (const [name, value] of expected) {
    const got = mean(name);
    assert.ok(Math.abs(got - value) < tolerance, `${name}: mean ${got}, expected ${value}`);
  }
  // With 4 bits the bias (0.3 - 4/16 = 0.05 of a spacing) is beyond the tolerance: detectable.
  assert.ok(Math.abs(mean("e4m3-sr1-bits4") - x) > 5 * tolerance);
});

Deno.test("every rounding mode has a name that spells it back, and bad modes are refused", () => {
  for (const { mode, suffix } of ROUNDING_MODES) {
    const name = `e4m3${suffix.replace("{seed}", "3")}`;
    assert.equal(storageByName(name).name, name, mode);
  }
  assert.equal(storageByName("e5m10-sr3-bits12").name, "e5m10-sr3-bits12");
  assert.throws(
    () => storageByName("e4m3-sre3-bits8"),
    /randomBits was given with rounding "stochastic-equal"/,
  );
  assert.throws(
    () => storageByName("e4m3-sr3-bits0"),
    /randomBits is 0, expected an integer from 1 to 32/,
  );
  assert.throws(() => storageByName("e4m3-ru-sat"), RangeError);
});
