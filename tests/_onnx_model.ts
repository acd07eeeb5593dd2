/**
 * Small ONNX models written in tests, for the importer's refusals and operators.
 *
 * @module
 */
import onnxProto from "onnx-proto";

const { onnx } = onnxProto;

/** A node: operator, inputs, outputs, and attributes given as protobuf attribute objects. */
export interface TestNode {
  op: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  attributes?: onnxProto.onnx.IAttributeProto[];
  domain?: string;
}

/** What a test model holds; the data input is `x`, the output the last node's first output. */
export interface TestModel {
  nodes: TestNode[];
  /** Float32 initializers: name, dims, values. */
  initializers?: { name: string; dims: number[]; values: number[] }[];
  /** The shape of `x` (a string for a symbolic dimension). @default {["N", 1, 4, 4]} */
  input?: (number | string)[];
  /** Output names. @default {the last node's first output} */
  outputs?: string[];
  opset?: number;
}

/** An INTS attribute. */
export function ints(name: string, values: number[]): onnxProto.onnx.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INTS, ints: values };
}

/** An INT attribute. */
export function intAttribute(name: string, value: number): onnxProto.onnx.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INT, i: value };
}

/** A FLOAT attribute. */
export function floatAttribute(name: string, value: number): onnxProto.onnx.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.FLOAT, f: value };
}

/** The bytes of the model `m` describes. */
export function modelBytes(m: TestModel): Uint8Array {
  const input = m.input ?? ["N", 1, 4, 4];
  return onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: "", version: m.opset ?? 13 }],
    graph: {
      node: m.nodes.map((n) => ({
        opType: n.op,
        input: n.inputs,
        output: n.outputs,
        name: n.name ?? "",
        attribute: n.attributes ?? [],
        domain: n.domain ?? "",
      })),
      initializer: (m.initializers ?? []).map((t) => ({
        name: t.name,
        dims: t.dims,
        dataType: onnx.TensorProto.DataType.FLOAT,
        floatData: t.values,
      })),
      input: [{
        name: "x",
        type: {
          tensorType: {
            elemType: onnx.TensorProto.DataType.FLOAT,
            shape: {
              dim: input.map((d) => typeof d === "string" ? { dimParam: d } : { dimValue: d }),
            },
          },
        },
      }],
      output: (m.outputs ?? [m.nodes.at(-1)!.outputs[0]]).map((name) => ({ name })),
    },
  }).finish();
}
