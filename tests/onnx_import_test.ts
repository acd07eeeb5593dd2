/**
 * importOnnx: DeepConvNet exported by PyTorch gives the native network's logits exactly; each
 * operator's mapping computes what ONNX defines; every refusal is one line naming the model and
 * the node.
 *
 * @module
 */
import assert from "node:assert/strict";
import { deepConvNet, f16, f32, f64, imageBatch, importOnnx, tensor } from "../mod.ts";
import { networkFromSpec, networkSpec } from "../layers/mod.ts";
import { readMnistDir, readOnnxFile, readSafetensorsFile } from "../data/files.ts";
import importOnnxProto from "onnx-proto";
import { MNIST, WEIGHTS } from "./_data.ts";
import { assertDataError } from "./_assert_data_error.ts";
import { floatAttribute, intAttribute, ints, modelBytes, type TestModel } from "./_onnx_model.ts";

const FIXTURES = new URL("./fixtures/", import.meta.url);
const DEEPCONVNET_F64 = new URL("deepconvnet-book-f64.onnx", FIXTURES).pathname;
const DEEPCONVNET_F32 = new URL("deepconvnet-book-f32.onnx", FIXTURES).pathname;
/** Images compared; the whole test set runs in `docs/onnx.md`'s command. */
const IMAGES = 250;

Deno.test(
  "DeepConvNet exported by PyTorch (f64 and f32) gives the native network's logits exactly",
  async () => {
    const native = deepConvNet();
    native.loadParams((await readSafetensorsFile(WEIGHTS)).tensors, WEIGHTS);
    const set = await readMnistDir(MNIST, "test");
    for (const [path, storage] of [[DEEPCONVNET_F64, f64], [DEEPCONVNET_F32, f32]] as const) {
      const net = await readOnnxFile(path);
      assert.deepEqual(net.inputShape, [1, 28, 28]);
      assert.ok(net.layers.every((layer) => layer.storage === storage));
      assert.deepEqual(
        net.layers.map((layer) => layer.kind),
        native.layers.filter((l) => l.kind !== "dropout" && l.kind !== "softmax").map((l) => l.kind)
          .toSpliced(17, 0, "scale").concat("scale"),
      );
      assert.equal(net.layers[0].name, "/convs.0/Conv");
      const reference = storage === f64 ? native : native.to(f32);
      for (let start = 0; start < IMAGES; start += 250) {
        const x = imageBatch(set, start, 250, storage);
        assert.deepEqual(net.logits(x).toFloat64(), reference.logits(x).toFloat64());
      }
    }
  },
);

Deno.test("a float32 model imports exactly into f64, and its names survive to() and specs", async () => {
  const narrow = await readOnnxFile(DEEPCONVNET_F32);
  const wide = await readOnnxFile(DEEPCONVNET_F32, { storage: f64 });
  assert.equal(wide.layer("/fc1/Gemm").storage, f64);
  assert.deepEqual(
    wide.params().get("W7")!.toFloat64(),
    narrow.params().get("W7")!.toFloat64(),
  );
  const half = wide.to(f16);
  assert.deepEqual(half.layers.map((l) => l.name), wide.layers.map((l) => l.name));
  assert.deepEqual(half.inputShape, [1, 28, 28]);
  const copy = networkFromSpec(structuredClone(networkSpec(half)));
  assert.deepEqual(copy.layers.map((l) => l.name), wide.layers.map((l) => l.name));
  assert.deepEqual(copy.inputShape, [1, 28, 28]);
});

/** The output of the one-input model `m` for `x`, imported in f64. */
function run(m: TestModel, shape: number[], x: number[]): number[] {
  return [...importOnnx(modelBytes(m), { storage: f64 }).forward(tensor(shape, x)).toFloat64()];
}

Deno.test("Gemm: alpha, beta, transB and a broadcast bias", () => {
  const y = run(
    {
      nodes: [{
        op: "Gemm",
        inputs: ["x", "B", "C"],
        outputs: ["y"],
        attributes: [
          floatAttribute("alpha", 2),
          floatAttribute("beta", 0.5),
          intAttribute("transB", 1),
        ],
      }],
      // B (outputs 3, inputs 2), C one value
      initializers: [{ name: "B", dims: [3, 2], values: [1, 2, 3, 4, 5, 6] }, {
        name: "C",
        dims: [1],
        values: [10],
      }],
      input: ["N", 2],
    },
    [1, 2],
    [1, 1],
  );
  // 2 * [1+2, 3+4, 5+6] + 0.5 * 10
  assert.deepEqual(y, [11, 19, 27]);
});

Deno.test("MatMul followed by Add becomes one affine layer", () => {
  const m: TestModel = {
    nodes: [
      { op: "MatMul", inputs: ["x", "W"], outputs: ["m"], name: "fc" },
      { op: "Add", inputs: ["m", "b"], outputs: ["y"] },
    ],
    initializers: [{ name: "W", dims: [2, 2], values: [1, 2, 3, 4] }, {
      name: "b",
      dims: [2],
      values: [0.5, -0.5],
    }],
    input: ["N", 2],
  };
  const net = importOnnx(modelBytes(m));
  assert.deepEqual(net.layers.map((l) => `${l.name} ${l.kind}`), ["fc affine"]);
  assert.deepEqual([...net.forward(tensor([1, 2], [1, 10])).toFloat64()], [31.5, 41.5]);
});

Deno.test("BatchNormalization after Conv folds into its weights and bias in float64", () => {
  const bn = { gamma: [2], beta: [1], mean: [3], variance: [3] };
  const y = run(
    {
      nodes: [
        {
          op: "Conv",
          inputs: ["x", "W", "B"],
          outputs: ["c"],
          attributes: [ints("kernel_shape", [1, 1])],
        },
        {
          op: "BatchNormalization",
          inputs: ["c", "g", "be", "mu", "v"],
          outputs: ["y"],
          attributes: [floatAttribute("epsilon", 1)],
        },
      ],
      initializers: [
        { name: "W", dims: [1, 1, 1, 1], values: [4] },
        { name: "B", dims: [1], values: [1] },
        { name: "g", dims: [1], values: bn.gamma },
        { name: "be", dims: [1], values: bn.beta },
        { name: "mu", dims: [1], values: bn.mean },
        { name: "v", dims: [1], values: bn.variance },
      ],
      input: ["N", 1, 1, 2],
    },
    [1, 1, 1, 2],
    [1, 2],
  );
  // (4x + 1 - 3) * 2 / sqrt(3 + 1) + 1 = 4x - 1
  assert.deepEqual(y, [3, 7]);
});

Deno.test("Flatten before Softmax stays a layer; Dropout and Identity vanish; Mul and Div scale", () => {
  const m: TestModel = {
    nodes: [
      { op: "Identity", inputs: ["x"], outputs: ["i"] },
      { op: "Dropout", inputs: ["i"], outputs: ["d"] },
      { op: "Mul", inputs: ["d", "two"], outputs: ["m"], name: "double" },
      { op: "Div", inputs: ["m", "three"], outputs: ["q"], name: "third" },
      { op: "Flatten", inputs: ["q"], outputs: ["f"], name: "rows" },
      { op: "Softmax", inputs: ["f"], outputs: ["y"], name: "p" },
    ],
    initializers: [{ name: "two", dims: [], values: [2] }, {
      name: "three",
      dims: [1],
      values: [3],
    }],
    input: ["N", 1, 1, 2],
  };
  const net = importOnnx(modelBytes(m), { storage: f64 });
  assert.deepEqual(net.layers.map((l) => `${l.name} ${l.kind}`), [
    "double scale",
    "third scale",
    "rows flatten",
    "p softmax",
  ]);
  const x = tensor([1, 1, 1, 2], [0.3, 1.2]);
  const logits = net.logits(x);
  assert.deepEqual(logits.shape, [1, 2]);
  assert.deepEqual([...logits.toFloat64()], [0.3 * 2 / 3, 1.2 * 2 / 3]);
});

const SOURCE = "m.onnx";

/** Asserts that importing `bytes` throws the DataError with these fields. */
function refuses(bytes: Uint8Array, field: string, expected: string, found: string | RegExp): void {
  assert.throws(
    () => importOnnx(bytes, { source: SOURCE }),
    (e) => assertDataError(e, { source: SOURCE, field, expected, found }),
  );
}

const relu = (input: string, output: string, name = "") => ({
  op: "Relu",
  inputs: [input],
  outputs: [output],
  name,
});

Deno.test("truncated or corrupt bytes are refused as protobuf", async () => {
  const bytes = await Deno.readFile(DEEPCONVNET_F32);
  refuses(
    bytes.subarray(0, 1000),
    "protobuf",
    "an ONNX model (ModelProto)",
    /^bytes that do not decode \(.+\)$/,
  );
  refuses(
    new Uint8Array([0x57, 0x00]), /* field 10, wire type 7: no such type */
    "protobuf",
    "an ONNX model (ModelProto)",
    /^bytes that do not decode/,
  );
});

Deno.test("a model without a graph is refused", () => {
  refuses(new Uint8Array(), "graph", "a graph of nodes", "none");
});

Deno.test("every unsupported operator is listed with its nodes, and the supported ones", () => {
  const bytes = modelBytes({
    nodes: [
      { op: "Tanh", inputs: ["x"], outputs: ["a"], name: "t1" },
      relu("a", "b"),
      { op: "LeakyRelu", inputs: ["b"], outputs: ["c"], name: "lr" },
      { op: "Tanh", inputs: ["c"], outputs: ["d"] },
    ],
  });
  assert.throws(() => importOnnx(bytes, { source: SOURCE }), (e) => {
    assert.ok(e instanceof Error);
    assert.match(
      e.message,
      /^Cannot read m\.onnx: operators: expected only Add, AveragePool, BatchNormalization, Cast, .*Conv.*Softmax.*, found Tanh \(node "t1", 3\); LeakyRelu \(node "lr"\)$/,
    );
    assert.ok(!e.message.includes("\n"));
    return true;
  });
});

Deno.test("unsupported attributes and attribute values name the node", () => {
  const conv = (attributes: TestModel["nodes"][0]["attributes"]) =>
    modelBytes({
      nodes: [{ op: "Conv", inputs: ["x", "W"], outputs: ["y"], name: "c1", attributes }],
      initializers: [{ name: "W", dims: [1, 1, 1, 1], values: [1] }],
    });
  refuses(
    conv([intAttribute("group", 2)]),
    'node "c1" (Conv) attribute "group"',
    "1",
    "2",
  );
  refuses(
    conv([ints("dilations", [2, 2])]),
    'node "c1" (Conv) attribute "dilations"',
    "1 on both axes",
    "[2,2]",
  );
  refuses(
    conv([intAttribute("weird", 1)]),
    'node "c1" (Conv) attribute "weird"',
    "only attributes auto_pad, dilations, group, kernel_shape, pads, strides",
    "weird",
  );
});

Deno.test("external data is refused", () => {
  const bytes = modelBytes({ nodes: [relu("x", "y")] });
  const { onnx } = importOnnxProto;
  const model = onnx.ModelProto.decode(bytes);
  model.graph!.initializer!.push(onnx.TensorProto.create({
    name: "W",
    dims: [1],
    dataType: 1,
    dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
    externalData: [{ key: "location", value: "weights.bin" }],
  }));
  refuses(
    onnx.ModelProto.encode(model).finish(),
    'initializer "W" field "data_location"',
    "data inside the model file",
    'external data in "weights.bin"',
  );
});

Deno.test("a graph that branches is refused at the node where the paths meet", () => {
  refuses(
    modelBytes({
      nodes: [relu("x", "a", "r"), { op: "Add", inputs: ["a", "x"], outputs: ["y"], name: "join" }],
    }),
    'node "join" (Add) input "x"',
    "a chain of nodes, each reading the output of the one before",
    'a branch: "x" is also read by node "r" (Relu)',
  );
  refuses(
    modelBytes({ nodes: [relu("x", "a", "r"), relu("x", "b", "s")], outputs: ["b"] }),
    'node "s" (Relu) input "x"',
    "a chain of nodes, each reading the output of the one before",
    'a branch: "x" is also read by node "r" (Relu)',
  );
});

Deno.test("an input that is not (N, C, H, W) or (N, features) is refused", () => {
  refuses(
    modelBytes({ nodes: [relu("x", "y")], input: ["N", 3, 4] }),
    'input "x" shape',
    "(N, C, H, W) or (N, features), all but N known",
    "[N, 3, 4]",
  );
  refuses(
    modelBytes({ nodes: [relu("x", "y")], input: ["N", "C", 4, 4] }),
    'input "x" shape',
    "(N, C, H, W) or (N, features), all but N known",
    "[N, C, 4, 4]",
  );
});

Deno.test("readOnnxFile names the missing file", async () => {
  await assert.rejects(
    () => readOnnxFile("tests/fixtures/none.onnx"),
    (e) =>
      assertDataError(e, {
        source: "tests/fixtures/none.onnx",
        field: "file",
        expected: "an ONNX model",
        found: "no such file",
      }),
  );
});

Deno.test("AveragePool, GlobalAveragePool and a standalone BatchNormalization import as layers", () => {
  const m: TestModel = {
    nodes: [
      {
        op: "BatchNormalization",
        inputs: ["x", "g", "be", "mu", "v"],
        outputs: ["n"],
        name: "bn",
        attributes: [floatAttribute("epsilon", 0)],
      },
      {
        op: "AveragePool",
        inputs: ["n"],
        outputs: ["a"],
        name: "avg",
        attributes: [
          ints("kernel_shape", [2, 2]),
          ints("strides", [2, 2]),
          intAttribute("ceil_mode", 1),
        ],
      },
      { op: "GlobalAveragePool", inputs: ["a"], outputs: ["y"], name: "gap" },
    ],
    initializers: [
      { name: "g", dims: [1], values: [2] },
      { name: "be", dims: [1], values: [1] },
      { name: "mu", dims: [1], values: [0] },
      { name: "v", dims: [1], values: [1] },
    ],
    input: ["N", 1, 3, 3],
  };
  const net = importOnnx(modelBytes(m), { storage: f64 });
  assert.deepEqual(net.layers.map((l) => `${l.name} ${l.kind}`), [
    "bn batchnorm",
    "avg avgpool",
    "gap avgpool",
  ]);
  const y = net.forward(tensor([1, 1, 3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]));
  assert.deepEqual(y.shape, [1, 1, 1, 1]);
  // 2x + 1, averaged in 2x2 windows with ceil mode ([7, 10, 16, 19]), then globally
  assert.deepEqual([...y.toFloat64()], [13]);
});

Deno.test("before opset 7, Dropout and BatchNormalization are training unless is_test is 1", () => {
  const dropout = (attributes: TestModel["nodes"][0]["attributes"]) =>
    modelBytes({
      nodes: [{ op: "Dropout", inputs: ["x"], outputs: ["y"], name: "d", attributes }],
      opset: 6,
    });
  refuses(
    dropout([]),
    'node "d" (Dropout) attribute "is_test"',
    "1 (inference; 0 is the default before opset 7)",
    "0",
  );
  assert.equal(importOnnx(dropout([intAttribute("is_test", 1)])).layers.length, 0);
  const bn = modelBytes({
    nodes: [{
      op: "BatchNormalization",
      inputs: ["x", "g", "b", "m", "v"],
      outputs: ["y"],
      name: "n",
    }],
    initializers: ["g", "b", "m", "v"].map((name) => ({ name, dims: [1], values: [1] })),
    opset: 6,
  });
  refuses(
    bn,
    'node "n" (BatchNormalization) attribute "is_test"',
    "1 (inference; 0 is the default before opset 7)",
    "0",
  );
});

/** A Pad node of zeros on H and W (top, left, bottom, right), its pads from a Constant. */
function padNodes(sides: number[], input = "x"): TestModel["nodes"] {
  const [t, l, b, r] = sides;
  return [
    {
      op: "Constant",
      inputs: [],
      outputs: ["pads"],
      attributes: [ints("value_ints", [0, 0, t, l, 0, 0, b, r])],
    },
    { op: "Pad", inputs: [input, "pads"], outputs: ["p"], name: "pad" },
  ];
}

Deno.test("a Pad of zeros folds into the Conv or pool after it", () => {
  const x = Array.from({ length: 16 }, (_, i) => i - 7.5);
  const conv = (pads: number[], nodes: TestModel["nodes"] = []) =>
    run(
      {
        nodes: [...nodes, {
          op: "Conv",
          inputs: [nodes.length ? "p" : "x", "W"],
          outputs: ["y"],
          name: "c",
          attributes: [ints("pads", pads)],
        }],
        initializers: [{ name: "W", dims: [1, 1, 2, 2], values: [1, -2, 3, 0.5] }],
      },
      [1, 1, 4, 4],
      x,
    );
  assert.deepEqual(conv([0, 0, 0, 0], padNodes([1, 1, 1, 1])), conv([1, 1, 1, 1]));
  assert.deepEqual(conv([0, 1, 1, 0], padNodes([1, 0, 0, 1])), conv([1, 1, 1, 1]));
  // Pads that differ: a zeropad layer; with stride 1, pads top and left give the output of pads
  // on every side without its last row and column.
  const all = conv([1, 1, 1, 1]);
  const topLeft = all.filter((_, i) => i < 20 && i % 5 < 4);
  assert.deepEqual(conv([1, 1, 0, 0]), topLeft);
  assert.deepEqual(conv([0, 0, 0, 0], padNodes([1, 1, 0, 0])), topLeft);
  const net = importOnnx(
    modelBytes({
      nodes: [...padNodes([1, 1, 1, 1]), {
        op: "AveragePool",
        inputs: ["p"],
        outputs: ["y"],
        attributes: [ints("kernel_shape", [2, 2]), ints("strides", [2, 2])],
      }],
      input: ["N", 1, 2, 2],
    }),
    { storage: f64 },
  );
  assert.deepEqual(net.layers.map((l) => l.kind), ["avgpool"]);
  // The Pad's zeros count in each average: the corner windows hold one value and three zeros.
  assert.deepEqual([...net.forward(tensor([1, 1, 2, 2], [4, 8, 12, 16])).toFloat64()], [
    1,
    2,
    3,
    4,
  ]);
  const relu = { op: "Relu", inputs: ["x"], outputs: ["r"] };
  const maxPool = {
    op: "MaxPool",
    inputs: ["p"],
    outputs: ["y"],
    attributes: [ints("kernel_shape", [2, 2]), ints("strides", [2, 2])],
  };
  const pooled = importOnnx(modelBytes({ nodes: [relu, ...padNodes([1, 1, 1, 1], "r"), maxPool] }));
  assert.deepEqual(pooled.layers.map((l) => l.kind), ["relu", "pool"]);
  assert.deepEqual(pooled.shapes([1, 1, 4, 4]).at(-1), [1, 1, 3, 3]);
});

Deno.test("a Pad of zeros that folds into nothing is a zeropad layer; other Pads are refused", () => {
  const maxPool = {
    op: "MaxPool",
    inputs: ["p"],
    outputs: ["y"],
    attributes: [ints("kernel_shape", [2, 2]), ints("strides", [2, 2])],
  };
  // Max pooling pads with -Infinity: before it, zeros stay data unless a Relu made every value
  // at least zero.
  const x = [-1, -2, -3, -4];
  const pooled = importOnnx(
    modelBytes({ nodes: [...padNodes([1, 1, 1, 1]), maxPool], input: ["N", 1, 2, 2] }),
  );
  assert.deepEqual(pooled.layers.map((l) => `${l.name} ${l.kind}`), [
    "pad zeropad",
    "MaxPool2 pool",
  ]);
  assert.deepEqual([...pooled.forward(tensor([1, 1, 2, 2], x)).toFloat64()], [0, 0, 0, 0]);
  const relu = { op: "Relu", inputs: ["p"], outputs: ["y"] };
  const padded = importOnnx(
    modelBytes({ nodes: [...padNodes([0, 1, 0, 0]), relu], input: ["N", 1, 2, 2] }),
  );
  assert.deepEqual(padded.layers.map((l) => l.kind), ["zeropad", "relu"]);
  assert.deepEqual([...padded.forward(tensor([1, 1, 2, 2], [1, -2, 3, 4])).toFloat64()], [
    0,
    1,
    0,
    0,
    3,
    4,
  ]);
  const alone = importOnnx(modelBytes({ nodes: padNodes([1, 0, 0, 0]), input: ["N", 1, 2, 2] }));
  assert.deepEqual(alone.shapes([1, 1, 2, 2]), [[1, 1, 3, 2]]);
  refuses(
    modelBytes({
      nodes: [{
        op: "Pad",
        inputs: ["x"],
        outputs: ["y"],
        name: "pad",
        attributes: [ints("pads", [0, 0, 1, 1, 0, 0, 1, 1]), floatAttribute("value", 1)],
      }],
      opset: 10,
    }),
    'node "pad" (Pad) value',
    "0 (zeros)",
    "1",
  );
});

Deno.test("MaxPool ceil_mode: the partial windows as a border of the pool's own below and right", () => {
  const relu = { op: "Relu", inputs: ["x"], outputs: ["r"] };
  const pool = {
    op: "MaxPool",
    inputs: ["r"],
    outputs: ["y"],
    name: "m",
    attributes: [
      ints("kernel_shape", [2, 2]),
      ints("strides", [2, 2]),
      intAttribute("ceil_mode", 1),
    ],
  };
  const net = importOnnx(modelBytes({ nodes: [relu, pool], input: ["N", 1, 3, 3] }), {
    storage: f64,
  });
  assert.deepEqual(net.layers.map((l) => l.kind), ["relu", "pool"]);
  const x = tensor([1, 1, 3, 3], [1, -2, 3, 4, 5, -6, 7, -8, -9]);
  assert.deepEqual([...net.forward(x).toFloat64()], [5, 3, 7, 0]);
  // Without the Relu the border is -Infinity's: the last window's maximum is its one input.
  const alone = importOnnx(
    modelBytes({ nodes: [{ ...pool, inputs: ["x"] }], input: ["N", 1, 3, 3] }),
  );
  assert.deepEqual(alone.layers[0].options, {
    size: 2,
    stride: 2,
    pad: 0,
    padBottom: 1,
    padRight: 1,
  });
  assert.deepEqual([...alone.forward(x).toFloat64()], [5, 3, 7, -9]);
});

Deno.test("MaxPool pads that differ per side: a border of -Infinity's of the pool's own", () => {
  const pool = {
    op: "MaxPool",
    inputs: ["x"],
    outputs: ["y"],
    name: "m",
    attributes: [ints("kernel_shape", [2, 2]), ints("strides", [1, 1]), ints("pads", [1, 0, 0, 1])],
  };
  const net = importOnnx(modelBytes({ nodes: [pool], input: ["N", 1, 2, 2] }), { storage: f64 });
  assert.deepEqual(net.layers.map((l) => l.kind), ["pool"]);
  // Rows: a border above; columns: a border on the right. Windows never pick a border element.
  const y = net.forward(tensor([1, 1, 2, 2], [-1, -2, -3, -4]));
  assert.deepEqual(y.shape, [1, 1, 2, 2]);
  assert.deepEqual([...y.toFloat64()], [-1, -2, -1, -2]);
  refuses(
    modelBytes({
      nodes: [{ ...pool, attributes: [ints("kernel_shape", [2, 2]), ints("pads", [2, 0, 0, 0])] }],
      input: ["N", 1, 4, 4],
    }),
    'node "m" (MaxPool) attribute "pads"',
    "pads below the window's extent",
    "[2,0,0,0]",
  );
});
