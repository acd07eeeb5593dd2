/**
 * A node's attributes, read by name and type, with the refusal of any attribute the importer does
 * not know for that operator.
 *
 * @module
 */
import type onnxProto from "onnx-proto";
import { DataError } from "../data/data_error.ts";
import { int, onnx } from "./_proto.ts";

type NodeProto = onnxProto.onnx.INodeProto;
type AttributeProto = onnxProto.onnx.IAttributeProto;
const { AttributeType } = onnx.AttributeProto;

/** How errors name a node: by its name, else by its position; with its operator. */
export function nodeLabel(node: NodeProto, index: number): string {
  return `${node.name ? `node "${node.name}"` : `node ${index}`} (${node.opType})`;
}

/** The attributes of one node, read with their defaults; every error names the node. */
export class Attributes {
  readonly #byName: Map<string, AttributeProto>;
  readonly #source: string;
  /** How errors name the node. */
  readonly label: string;

  /**
   * The attributes of `node`, which may only be among `known`.
   *
   * @throws {DataError} When the node has an attribute outside `known`.
   */
  constructor(node: NodeProto, index: number, source: string, known: readonly string[]) {
    this.#source = source;
    this.label = nodeLabel(node, index);
    this.#byName = new Map((node.attribute ?? []).map((a) => [a.name ?? "", a]));
    const unknown = [...this.#byName.keys()].filter((name) => !known.includes(name));
    if (unknown.length > 0) {
      this.refuse(
        `attribute "${unknown[0]}"`,
        known.length ? `only attributes ${known.join(", ")}` : "no attributes",
        `${unknown.join(", ")}`,
      );
    }
  }

  /** Whether the node sets `name`. */
  has(name: string): boolean {
    return this.#byName.has(name);
  }

  /** An integer attribute. */
  int(name: string, fallback: number): number {
    const a = this.#get(name, AttributeType.INT);
    return a ? int(a.i) : fallback;
  }

  /** A float attribute. */
  float(name: string, fallback: number): number {
    const a = this.#get(name, AttributeType.FLOAT);
    return a ? a.f ?? 0 : fallback;
  }

  /** A string attribute. */
  string(name: string, fallback: string): string {
    const a = this.#get(name, AttributeType.STRING);
    return a ? new TextDecoder().decode(a.s ?? new Uint8Array()) : fallback;
  }

  /** A list of integers. */
  ints(name: string, fallback: readonly number[] | undefined): number[] | undefined {
    const a = this.#get(name, AttributeType.INTS);
    return a ? (a.ints ?? []).map(int) : fallback && [...fallback];
  }

  /** A list of floats. */
  floats(name: string): number[] | undefined {
    return this.#get(name, AttributeType.FLOATS)?.floats ?? undefined;
  }

  /** A tensor attribute. */
  tensor(name: string): onnxProto.onnx.ITensorProto | undefined {
    return this.#get(name, AttributeType.TENSOR)?.t ?? undefined;
  }

  /** Throws the DataError for something of this node: `what` (an attribute, an input). */
  refuse(what: string, expected: string, found: string): never {
    throw new DataError(this.#source, { field: `${this.label} ${what}`, expected, found });
  }

  /** Refuses unless attribute `name`'s value `value` passes `ok`; `expected` says what passes. */
  require<T>(name: string, value: T, ok: boolean, expected: string): T {
    if (!ok) this.refuse(`attribute "${name}"`, expected, JSON.stringify(value));
    return value;
  }

  #get(name: string, type: number): AttributeProto | undefined {
    const a = this.#byName.get(name);
    if (a && a.type !== type && a.type !== undefined && a.type !== AttributeType.UNDEFINED) {
      this.refuse(
        `attribute "${name}"`,
        `type ${AttributeType[type]}`,
        AttributeType[a.type ?? 0] ?? `${a.type}`,
      );
    }
    return a;
  }
}
