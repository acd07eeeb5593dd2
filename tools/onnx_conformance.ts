/**
 * ONNX's own backend test suite run through `importOnnx`: every case whose operators the importer
 * reads is imported, run on its inputs and compared with ONNX's expected outputs at ONNX's
 * tolerances; each case passes, is refused (with the importer's one-line reason) or fails (wrong
 * numbers, or an error that is not a refusal).
 *
 * The suite is Debian's package `libonnx-testdata` (ONNX 1.12): a folder per case with
 * `model.onnx` and `test_data_set_*` folders of `input_*.pb` / `output_*.pb` TensorProtos.
 *
 * Run: `deno task onnx:conformance [--data DIR] [--cases]` prints the table per operator
 * (`--cases`: every case with its status and reason).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { DataError } from "../data/data_error.ts";
import { f64 } from "../layers/storage/f64.ts";
import type { Storage } from "../layers/storage/storage.ts";
import type { Tensor } from "../layers/tensor.ts";
import { importOnnx, ONNX_OPERATORS } from "../onnx/import_onnx.ts";
import { type Constant, decodeModel, decodeTensor } from "../onnx/_proto.ts";
import { FOLDED_ATTRIBUTES } from "../onnx/_fold.ts";

/** Where Debian's `libonnx-testdata` puts the suite. */
export const ONNX_TESTDATA = "/usr/share/libonnx-testdata/data";

/** The suite's folders of small cases (`real/` holds whole networks of 100 MB and more). */
const SUITES = ["node", "pytorch-converted", "pytorch-operator", "simple"];

/** ONNX's backend test tolerances: |actual - expected| <= ATOL + RTOL |expected|. */
export const TOLERANCE = { rtol: 1e-3, atol: 1e-7 };

/** What happened to one case. */
export interface ConformanceCase {
  /** `node/test_conv_with_strides_padding`. */
  name: string;
  /** The operator the case tests: its first node that is not a constant computation. */
  operator: string;
  status: "passed" | "refused" | "failed";
  /** The refusal's message, or what was wrong with the numbers. */
  reason?: string;
  /**
   * The formats it ran in: the model's own (`model`) and, unless it casts (a cast to a format
   * is what `storage` overrides), every layer in float64 (`f64`).
   */
  runs: string[];
}

/** One row of the table: the cases of one operator. */
export interface ConformanceRow {
  operator: string;
  cases: number;
  passed: number;
  refused: number;
  failed: number;
}

/**
 * Runs every case of the suite in `root` whose operators are all among `ONNX_OPERATORS`.
 *
 * @returns The cases, sorted by name.
 */
export async function runConformance(root: string = ONNX_TESTDATA): Promise<ConformanceCase[]> {
  const supported = new Set(ONNX_OPERATORS);
  const cases: ConformanceCase[] = [];
  for (const suite of SUITES) {
    const dirs = [];
    for await (const entry of Deno.readDir(`${root}/${suite}`)) {
      if (entry.isDirectory) dirs.push(entry.name);
    }
    for (const dir of dirs.sort()) {
      const bytes = await Deno.readFile(`${root}/${suite}/${dir}/model.onnx`);
      const ops = (decodeModel(bytes, dir).graph?.node ?? []).map((n) =>
        n.domain && n.domain !== "ai.onnx" ? `${n.domain}.${n.opType}` : n.opType ?? ""
      );
      if (ops.length === 0 || !ops.every((op) => supported.has(op))) continue;
      const operator = ops.find((op) => !(op in FOLDED_ATTRIBUTES)) ?? ops[0];
      cases.push(await runCase(`${root}/${suite}/${dir}`, `${suite}/${dir}`, operator, bytes));
    }
  }
  return cases;
}

/** One case: imported and run on every data set, in the model's formats and in float64. */
async function runCase(
  dir: string,
  name: string,
  operator: string,
  bytes: Uint8Array,
): Promise<ConformanceCase> {
  const model = decodeModel(bytes, name);
  const graph = model.graph!;
  const initialized = new Set((graph.initializer ?? []).map((t) => t.name));
  const inputs = (graph.input ?? []).map((i) => i.name ?? "").filter((n) => !initialized.has(n));
  const casts = (graph.node ?? []).some((n) => n.opType === "Cast");
  const runs: [string, Storage | undefined][] = casts ? [["model", undefined]] : [
    ["model", undefined],
    ["f64", f64],
  ];
  const sets = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isDirectory && entry.name.startsWith("test_data_set_")) sets.push(entry.name);
  }
  const result = (status: ConformanceCase["status"], reason?: string): ConformanceCase => ({
    name,
    operator,
    status,
    ...(reason ? { reason } : {}),
    runs: runs.map(([r]) => r),
  });
  for (const set of sets.sort()) {
    const read = async (file: string) =>
      decodeTensor(await Deno.readFile(`${dir}/${set}/${file}`), `${name}/${set}/${file}`);
    let given: Constant[], expected: Constant;
    try {
      given = await Promise.all(inputs.map((_, i) => read(`input_${i}.pb`)));
      expected = await read("output_0.pb");
    } catch (error) {
      // The test data in a type halfprec has no tensor for (bfloat16 stored as UINT16).
      if (error instanceof DataError) return result("refused", error.message);
      throw error;
    }
    for (const [run, storage] of runs) {
      let out: Tensor;
      try {
        // Integer inputs (a Reshape's shape, Squeeze's axes) stay unbound: the importer refuses them.
        const weights = new Map<string, Tensor>();
        given.forEach((c, i) => i > 0 && c.kind === "float" && weights.set(inputs[i], c.tensor));
        const net = importOnnx(bytes, { source: name, storage, weights });
        const x = given[0];
        if (x.kind !== "float") {
          throw new DataError(name, { field: "input 0", expected: "floats", found: "integers" });
        }
        out = net.forward(storage ? x.tensor.to(storage) : x.tensor);
      } catch (error) {
        if (error instanceof DataError) return result("refused", error.message);
        return result("failed", `${run}: ${(error as Error).message}`);
      }
      const wrong = compare(out, expected);
      if (wrong) return result("failed", `${run}, ${set}: ${wrong}`);
    }
  }
  return result("passed");
}

/** What is wrong with `actual` against `expected` at {@linkcode TOLERANCE}, or `undefined`. */
function compare(actual: Tensor, expected: Constant): string | undefined {
  if (expected.kind !== "float") return "expected integers";
  const shape = expected.tensor.shape;
  if (actual.shape.join() !== shape.join()) return `shape [${actual.shape}], expected [${shape}]`;
  const a = actual.toFloat64();
  const e = expected.tensor.toFloat64();
  for (let i = 0; i < e.length; i++) {
    const ok = Math.abs(a[i] - e[i]) <= TOLERANCE.atol + TOLERANCE.rtol * Math.abs(e[i]) ||
      (Number.isNaN(a[i]) && Number.isNaN(e[i])) || a[i] === e[i];
    if (!ok) return `element ${i}: ${a[i]}, expected ${e[i]}`;
  }
  return undefined;
}

/** The cases counted per operator, sorted by operator, with a total row last. */
export function conformanceTable(cases: readonly ConformanceCase[]): ConformanceRow[] {
  const rows = new Map<string, ConformanceRow>();
  const total: ConformanceRow = { operator: "total", cases: 0, passed: 0, refused: 0, failed: 0 };
  for (const c of cases) {
    const row = rows.get(c.operator) ??
      { operator: c.operator, cases: 0, passed: 0, refused: 0, failed: 0 };
    rows.set(c.operator, row);
    for (const r of [row, total]) {
      r.cases++;
      r[c.status]++;
    }
  }
  return [...[...rows.values()].sort((a, b) => a.operator.localeCompare(b.operator)), total];
}

/** The table as Markdown. */
export function markdownTable(rows: readonly ConformanceRow[]): string {
  const lines = rows.map((r) =>
    `| ${r.operator} | ${r.cases} | ${r.passed} | ${r.refused} | ${r.failed} |`
  );
  return [
    "| operator | cases | passed | refused | failed |",
    "| --- | ---: | ---: | ---: | ---: |",
    ...lines,
  ]
    .join("\n");
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { data: { type: "string", default: ONNX_TESTDATA }, cases: { type: "boolean" } },
  });
  try {
    await Deno.stat(values.data);
  } catch {
    console.error(
      `Cannot read ${values.data}: expected ONNX's backend test data (apt-get install libonnx-testdata)`,
    );
    Deno.exit(1);
  }
  const cases = await runConformance(values.data);
  if (values.cases) {
    for (const c of cases) console.log(`${c.status}\t${c.name}\t${c.reason ?? ""}`);
    console.log();
  }
  console.log(markdownTable(conformanceTable(cases)));
  if (cases.some((c) => c.status === "failed")) Deno.exit(1);
}
