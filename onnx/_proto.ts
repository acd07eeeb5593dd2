/**
 * Decoding ONNX protobuf with the `onnx-proto` schema (protobufjs), and the tensors in it as
 * halfprec tensors, every float converted exactly.
 *
 * @module
 */
import onnxProto from "onnx-proto";
import { DataError } from "../data/data_error.ts";
import { bf16 } from "../layers/storage/bf16.ts";
import { f16 } from "../layers/storage/f16.ts";
import { f32 } from "../layers/storage/f32.ts";
import { f64 } from "../layers/storage/f64.ts";
import type { Storage } from "../layers/storage/storage.ts";
import { Tensor, tensorFromSpec } from "../layers/mod.ts";

/** The generated ONNX schema (messages and enums). */
export const { onnx } = onnxProto;

/** A 64-bit integer as protobufjs decodes it: a number, or a `Long` when the value needs one. */
export type Int64 = number | { toNumber(): number };

/** `v` as a number (exact up to 2^53, which every size and index in a model is below). */
export function int(v: Int64 | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === "number" ? v : v.toNumber();
}

/** The formats ONNX floating-point tensors map to, by `TensorProto.DataType`. */
export const FLOAT_TYPES: ReadonlyMap<number, Storage> = new Map([
  [onnx.TensorProto.DataType.FLOAT, f32],
  [onnx.TensorProto.DataType.DOUBLE, f64],
  [onnx.TensorProto.DataType.FLOAT16, f16],
  [onnx.TensorProto.DataType.BFLOAT16, bf16],
]);

/** The integer types constant shape computations use. */
const INT_TYPES: ReadonlySet<number> = new Set([
  onnx.TensorProto.DataType.INT64,
  onnx.TensorProto.DataType.INT32,
  onnx.TensorProto.DataType.INT16,
  onnx.TensorProto.DataType.INT8,
  onnx.TensorProto.DataType.UINT8,
  onnx.TensorProto.DataType.BOOL,
]);

/** The name of a `TensorProto.DataType` code (`FLOAT16`). */
export function dataTypeName(code: number): string {
  return onnx.TensorProto.DataType[code] ?? `data type ${code}`;
}

/**
 * The ModelProto in `bytes`.
 *
 * @throws {DataError} When the bytes are not protobuf (truncated, corrupt).
 */
export function decodeModel(bytes: Uint8Array, source: string): onnxProto.onnx.ModelProto {
  try {
    return onnx.ModelProto.decode(bytes);
  } catch (error) {
    throw new DataError(source, {
      field: "protobuf",
      expected: "an ONNX model (ModelProto)",
      found: `bytes that do not decode (${(error as Error).message})`,
    }, { cause: error });
  }
}

/** A constant tensor of an ONNX graph: floats as a tensor in their own format, or integers. */
export type Constant =
  | { readonly kind: "float"; readonly tensor: Tensor }
  | { readonly kind: "int"; readonly shape: readonly number[]; readonly values: readonly Dim[] };

/** A dimension or integer: a number, or `"N"` for the batch size, unknown until run time. */
export type Dim = number | "N";

/**
 * The constant `proto` holds; `field` says where it is in the model, for errors.
 *
 * @throws {DataError} When its data lives in an external file, its type is neither a float nor an
 * integer, or its data does not hold as many elements as its dims say.
 */
export function constantOf(
  proto: onnxProto.onnx.ITensorProto,
  source: string,
  field: string,
): Constant {
  const shape = (proto.dims ?? []).map(int);
  const size = shape.reduce((a, b) => a * b, 1);
  const type = proto.dataType ?? 0;
  if (proto.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL || proto.externalData?.length) {
    const location = proto.externalData?.find((e) => e.key === "location")?.value ?? "?";
    throw new DataError(source, {
      field: `${field} field "data_location"`,
      expected: "data inside the model file",
      found: `external data in "${location}"`,
    });
  }
  const raw = proto.rawData?.length ? proto.rawData : undefined;
  const storage = FLOAT_TYPES.get(type);
  const count = (length: number, per: number) => {
    if (length !== size * per) {
      throw new DataError(source, {
        field: `${field} field "${raw ? "raw_data" : "data"}"`,
        expected: `${size * per} ${raw ? "bytes" : "values"} for dims [${shape}]`,
        found: `${length}`,
      });
    }
  };
  if (storage) {
    if (raw) {
      count(raw.length, storage.bytesPerElement);
      return {
        kind: "float",
        tensor: tensorFromSpec({ storage: storage.name, shape, bytes: raw }),
      };
    }
    if (storage === f32 || storage === f64) {
      const values = (storage === f32 ? proto.floatData : proto.doubleData) ?? [];
      count(values.length, 1);
      return { kind: "float", tensor: Tensor.from(storage, shape, values) };
    }
    // FLOAT16 and BFLOAT16 without raw data keep each element's bits in int32_data.
    const codes = Uint16Array.from(proto.int32Data ?? []);
    count(codes.length, 1);
    const bytes = new Uint8Array(codes.buffer);
    return { kind: "float", tensor: tensorFromSpec({ storage: storage.name, shape, bytes }) };
  }
  if (INT_TYPES.has(type)) {
    let values: number[];
    if (raw) {
      const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      const width = type === onnx.TensorProto.DataType.INT64
        ? 8
        : type === onnx.TensorProto.DataType.INT32
        ? 4
        : type === onnx.TensorProto.DataType.INT16
        ? 2
        : 1;
      count(raw.length, width);
      values = Array.from({ length: size }, (_, i) => {
        const at = i * width;
        if (width === 8) return Number(view.getBigInt64(at, true));
        if (width === 4) return view.getInt32(at, true);
        if (width === 2) return view.getInt16(at, true);
        return type === onnx.TensorProto.DataType.INT8 ? view.getInt8(at) : view.getUint8(at);
      });
    } else {
      const source64 = type === onnx.TensorProto.DataType.INT64;
      values = source64 ? (proto.int64Data ?? []).map(int) : [...(proto.int32Data ?? [])];
      count(values.length, 1);
    }
    return { kind: "int", shape, values };
  }
  throw new DataError(source, {
    field: `${field} field "data_type"`,
    expected: "a float (FLOAT, DOUBLE, FLOAT16, BFLOAT16) or an integer type",
    found: dataTypeName(type),
  });
}

/**
 * The tensor in a serialized TensorProto (the `input_0.pb` files of ONNX's test cases).
 *
 * @throws {DataError} When the bytes do not decode, or as {@linkcode constantOf}.
 */
export function decodeTensor(bytes: Uint8Array, source: string): Constant {
  let proto: onnxProto.onnx.TensorProto;
  try {
    proto = onnx.TensorProto.decode(bytes);
  } catch (error) {
    throw new DataError(source, {
      field: "protobuf",
      expected: "an ONNX tensor (TensorProto)",
      found: `bytes that do not decode (${(error as Error).message})`,
    }, { cause: error });
  }
  return constantOf(proto, source, `tensor "${proto.name ?? ""}"`);
}
