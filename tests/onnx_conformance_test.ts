/**
 * ONNX's backend test suite (Debian's `libonnx-testdata`) through importOnnx: no case gives wrong
 * numbers, every refusal is one line, and each operator passes at least the cases it passed when
 * the floors were measured (`deno task onnx:conformance` prints the table). Without the suite the
 * test is skipped with a warning; with `CI=true` it fails.
 *
 * @module
 */
import assert from "node:assert/strict";
import { conformanceTable, ONNX_TESTDATA, runConformance } from "../tools/onnx_conformance.ts";

/** Cases passed per operator, as measured: a change that passes fewer is a regression. */
const FLOORS: Record<string, number> = {
  AveragePool: 13,
  BatchNormalization: 4,
  Cast: 12,
  Conv: 11,
  Flatten: 4,
  Gemm: 10,
  GlobalAveragePool: 2,
  Identity: 1,
  MatMul: 1,
  MaxPool: 10,
  Pad: 1,
  Relu: 2,
  Softmax: 5,
};

const IN_CI = Deno.env.get("CI") === "true";
const NAME = "ONNX's backend test suite: no wrong number, one-line refusals, each operator's floor";

let present = true;
try {
  await Deno.stat(`${ONNX_TESTDATA}/node`);
} catch {
  present = false;
}

if (!present) {
  console.warn(
    `%cNo ONNX test data in ${ONNX_TESTDATA}: "${NAME}" is ${
      IN_CI ? "FAILING (CI=true)" : "SKIPPED"
    }. Install it: apt-get install -y libonnx-testdata.`,
    "color: red; font-weight: bold",
  );
  Deno.test({
    name: NAME,
    ignore: !IN_CI,
    fn() {
      throw new Error(
        "Cannot run the conformance test: no libonnx-testdata, and CI=true requires it",
      );
    },
  });
} else {
  Deno.test(NAME, async () => {
    const cases = await runConformance();
    const failed = cases.filter((c) => c.status === "failed");
    assert.deepEqual(failed.map((c) => `${c.name}: ${c.reason}`), []);
    for (const c of cases.filter((c) => c.status === "refused")) {
      assert.match(c.reason!, /^Cannot read [^\n]+: expected [^\n]+, found [^\n]*$/, c.name);
    }
    const passed = Object.fromEntries(conformanceTable(cases).map((r) => [r.operator, r.passed]));
    for (const [operator, floor] of Object.entries(FLOORS)) {
      assert.ok((passed[operator] ?? 0) >= floor, `${operator}: ${passed[operator]} < ${floor}`);
    }
    // The float64 run happens for every case that does not cast.
    const conv = cases.find((c) => c.name === "node/test_basic_conv_with_padding")!;
    assert.deepEqual([conv.status, conv.runs], ["passed", ["model", "f64"]]);
  });
}
