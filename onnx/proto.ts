/**
 * ONNX messages as plain objects (the field names of `onnx.proto`) and their
 * protobuf encoding, done by protobufjs from the schema in `onnx_proto.ts`.
 *
 * @module
 */

import protobuf from "protobufjs";
import { ONNX_PROTO } from "./onnx_proto.ts";

/** `TensorProto.DataType` values the exporter writes. */
export const DataType = {
  FLOAT: 1,
  UINT8: 2,
  INT32: 6,
  INT64: 7,
  BOOL: 9,
  DOUBLE: 11,
} as const;

/** `AttributeProto.AttributeType` values the exporter writes. */
export const AttributeType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;

/** `TensorProto`: an initializer or a constant attribute. */
export interface TensorMsg {
  /** Its name (initializers are referred to by it). */
  name?: string;
  /** Its shape. */
  dims: number[];
  /** A {@link DataType} value. */
  data_type: number;
  /** The elements, little-endian, row-major. */
  raw_data: Uint8Array;
}

/** `AttributeProto`. */
export interface AttributeMsg {
  /** The attribute's name. */
  name: string;
  /** An {@link AttributeType} value. */
  type: number;
  /** FLOAT. */
  f?: number;
  /** INT. */
  i?: number;
  /** STRING (UTF-8). */
  s?: Uint8Array;
  /** TENSOR. */
  t?: TensorMsg;
  /** FLOATS. */
  floats?: number[];
  /** INTS. */
  ints?: number[];
  /** STRINGS. */
  strings?: Uint8Array[];
}

/** `NodeProto`. */
export interface NodeMsg {
  /** Names of the inputs ("" for an absent optional one). */
  input: string[];
  /** Names of the outputs. */
  output: string[];
  /** A name for the node. */
  name: string;
  /** The operator (`Conv`, `Relu`). */
  op_type: string;
  /** Its attributes. */
  attribute: AttributeMsg[];
}

/** One dim of `TensorShapeProto`: a size or a symbolic name. */
export type DimMsg = { dim_value: number } | { dim_param: string };

/** `ValueInfoProto` of a tensor. */
export interface ValueInfoMsg {
  /** The value's name. */
  name: string;
  /** Its type. */
  type: { tensor_type: { elem_type: number; shape: { dim: DimMsg[] } } };
}

/** `GraphProto`. */
export interface GraphMsg {
  /** The graph's name. */
  name: string;
  /** Nodes in topological order. */
  node: NodeMsg[];
  /** Constant tensors (weights). */
  initializer: TensorMsg[];
  /** The graph's inputs. */
  input: ValueInfoMsg[];
  /** The graph's outputs. */
  output: ValueInfoMsg[];
}

/** `ModelProto`. */
export interface ModelMsg {
  /** IR version of the format. */
  ir_version: number;
  /** Operator sets used (`""` is the default ONNX domain). */
  opset_import: { domain: string; version: number }[];
  /** The producing tool. */
  producer_name: string;
  /** Its version. */
  producer_version: string;
  /** The graph. */
  graph: GraphMsg;
}

let schema: protobuf.Root | null = null;

function modelType(): protobuf.Type {
  schema ??= protobuf.parse(ONNX_PROTO, { keepCase: true }).root;
  return schema.lookupType("onnx.ModelProto");
}

/** Encodes a model as ONNX protobuf bytes (throws when protobufjs finds a field of the wrong type). */
export function encodeModel(model: ModelMsg): Uint8Array {
  const type = modelType();
  const problem = type.verify(model);
  if (problem) throw new Error(`onnx: the model does not fit onnx.proto: ${problem}`);
  return type.encode(type.fromObject(model)).finish();
}

/** Decodes ONNX protobuf bytes into plain objects (64-bit integers as numbers): for tests and inspection. */
export function decodeModel(bytes: Uint8Array): ModelMsg {
  const type = modelType();
  return type.toObject(type.decode(bytes), { longs: Number, bytes: Uint8Array, defaults: false }) as ModelMsg;
}
