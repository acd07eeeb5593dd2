/**
 * Constant folding: the operators that compute shapes and constants at import, as PyTorch's
 * `x.view(x.size(0), -1)` writes them (Shape → Gather → Unsqueeze → Concat → Reshape). Integers
 * keep the batch size as the symbol `"N"`, so a shape read from the data folds too.
 *
 * @module
 */
import { Tensor } from "../layers/tensor.ts";
import type { Attributes } from "./_attributes.ts";
import { type Constant, constantOf, type Dim, FLOAT_TYPES } from "./_proto.ts";

/** The attributes each folded operator may have. */
export const FOLDED_ATTRIBUTES: Readonly<Record<string, readonly string[]>> = {
  Constant: ["value", "value_float", "value_floats", "value_int", "value_ints"],
  Shape: ["start", "end"],
  Gather: ["axis"],
  Unsqueeze: ["axes"],
  Squeeze: ["axes"],
  Concat: ["axis"],
  Identity: [],
  Cast: ["to", "saturate"],
};

/** A constant of integers. */
function ints(shape: readonly number[], values: readonly Dim[]): Constant {
  return { kind: "int", shape, values };
}

/** The integers of `c`, refusing floats. */
function intValues(a: Attributes, c: Constant, what: string): readonly Dim[] {
  if (c.kind !== "int") a.refuse(what, "integers", "floats");
  return c.values;
}

/** A rank-0 or rank-1 list of integers, as axes and indices are given. */
function list(a: Attributes, c: Constant | undefined, what: string): number[] {
  if (!c) return a.refuse(what, "a constant", "none");
  const values = intValues(a, c, what);
  if (c.kind !== "int" || c.shape.length > 1 || values.includes("N")) {
    a.refuse(
      what,
      "a list of integers",
      `[${values}] of shape [${c.kind === "int" ? c.shape : ""}]`,
    );
  }
  return values as number[];
}

/**
 * The outputs of folded operator `op` given constant `inputs` (`undefined` for an omitted one),
 * or throws the node's DataError when it cannot be computed at import.
 */
export function fold(
  op: string,
  a: Attributes,
  inputs: readonly (Constant | undefined)[],
  source: string,
  opset: number,
): Constant {
  const [x] = inputs;
  switch (op) {
    case "Constant": {
      const t = a.tensor("value");
      if (t) return constantOf(t, source, `${a.label} attribute "value"`);
      if (a.has("value_float")) {
        return {
          kind: "float",
          tensor: Tensor.from(FLOAT_TYPES.get(1)!, [], [a.float("value_float", 0)]),
        };
      }
      const floats = a.floats("value_floats");
      if (floats) {
        return { kind: "float", tensor: Tensor.from(FLOAT_TYPES.get(1)!, [floats.length], floats) };
      }
      if (a.has("value_int")) return ints([], [a.int("value_int", 0)]);
      const values = a.ints("value_ints", undefined);
      if (values) return ints([values.length], values);
      return a.refuse('attribute "value"', "a tensor, float(s) or int(s)", "none");
    }
    case "Identity":
    case "Shape": // the importer has already read the shape (with start and end) as a constant
      return x!;
    case "Cast": {
      const to = a.int("to", 0);
      const storage = FLOAT_TYPES.get(to);
      if (storage) {
        const values = x!.kind === "float" ? x!.tensor.toFloat64() : x!.values as number[];
        const shape = x!.kind === "float" ? x!.tensor.shape : x!.shape;
        return { kind: "float", tensor: Tensor.from(storage, shape, values) };
      }
      if (x!.kind === "int") return x!;
      return a.refuse('attribute "to"', "a float type for float constants", `${to}`);
    }
    case "Gather": {
      const data = intValues(a, x!, "input 0");
      const shape = (x as { shape: readonly number[] }).shape;
      if (shape.length !== 1) a.refuse("input 0", "a list of integers", `shape [${shape}]`);
      const indexConstant = inputs[1];
      const indices = list(a, indexConstant, "input 1").map((i) => i < 0 ? i + data.length : i);
      if (indices.some((i) => i < 0 || i >= data.length)) {
        a.refuse("input 1", `indices below ${data.length}`, `[${indices}]`);
      }
      const outShape = indexConstant!.kind === "int" ? indexConstant!.shape : [];
      return ints(outShape, indices.map((i) => data[i]));
    }
    case "Unsqueeze":
    case "Squeeze": {
      const values = intValues(a, x!, "input 0");
      const shape = (x as { shape: readonly number[] }).shape;
      const axes = opset >= 13
        ? (inputs[1] ? list(a, inputs[1], "input 1") : undefined)
        : a.ints("axes", undefined);
      let out: number[];
      if (op === "Unsqueeze") {
        if (!axes) return a.refuse("axes", "a list of axes", "none");
        const rank = shape.length + axes.length;
        const at = axes.map((i) => i < 0 ? i + rank : i);
        out = [];
        for (let d = 0, k = 0; d < rank; d++) out.push(at.includes(d) ? 1 : shape[k++]);
      } else {
        const at = (axes ?? shape.flatMap((d, i) => d === 1 ? [i] : [])).map((i) =>
          i < 0 ? i + shape.length : i
        );
        out = shape.filter((_, i) => !at.includes(i));
      }
      return ints(out, values);
    }
    case "Concat": {
      const parts = inputs.map((c, i) => {
        if (!c || c.kind !== "int" || c.shape.length !== 1) {
          return a.refuse(
            `input ${i}`,
            "a list of integers",
            c?.kind === "float" ? "floats" : "a tensor",
          );
        }
        return c.values;
      });
      const values = parts.flat();
      return ints([values.length], values);
    }
  }
  return a.refuse("inputs", "a data input", "constants only");
}

/** Whether `op` is computed at import when all its inputs are constants. */
export function foldable(op: string): boolean {
  return op in FOLDED_ATTRIBUTES;
}
