// The subset of onnx.proto (ONNX IR v8+) steerlab reads and writes, encoded by protobufjs.
// Field numbers follow the public ONNX schema; only messages we use are declared, unknown fields are skipped on read.

import protobuf from 'protobufjs';

const ONNX_PROTO = `
syntax = "proto2";
package onnx;

message AttributeProto {
  optional string name = 1;
  optional string ref_attr_name = 21;
  optional string doc_string = 13;
  optional int32 type = 20;
  optional float f = 2;
  optional int64 i = 3;
  optional bytes s = 4;
  optional TensorProto t = 5;
  optional GraphProto g = 6;
  repeated float floats = 7;
  repeated int64 ints = 8;
  repeated bytes strings = 9;
  repeated TensorProto tensors = 10;
  repeated GraphProto graphs = 11;
}

message ValueInfoProto {
  optional string name = 1;
  optional TypeProto type = 2;
  optional string doc_string = 3;
}

message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  optional string name = 3;
  optional string op_type = 4;
  optional string domain = 7;
  repeated AttributeProto attribute = 5;
  optional string doc_string = 6;
}

message StringStringEntryProto {
  optional string key = 1;
  optional string value = 2;
}

message ModelProto {
  optional int64 ir_version = 1;
  repeated OperatorSetIdProto opset_import = 8;
  optional string producer_name = 2;
  optional string producer_version = 3;
  optional string domain = 4;
  optional int64 model_version = 5;
  optional string doc_string = 6;
  optional GraphProto graph = 7;
  repeated StringStringEntryProto metadata_props = 14;
}

message GraphProto {
  repeated NodeProto node = 1;
  optional string name = 2;
  repeated TensorProto initializer = 5;
  optional string doc_string = 10;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
  repeated ValueInfoProto value_info = 13;
}

message TensorProto {
  repeated int64 dims = 1;
  optional int32 data_type = 2;
  repeated float float_data = 4 [packed = true];
  repeated int32 int32_data = 5 [packed = true];
  repeated bytes string_data = 6;
  repeated int64 int64_data = 7 [packed = true];
  optional string name = 8;
  optional string doc_string = 12;
  optional bytes raw_data = 9;
  repeated StringStringEntryProto external_data = 13;
  optional int32 data_location = 14;
  repeated double double_data = 10 [packed = true];
  repeated uint64 uint64_data = 11 [packed = true];
}

message TensorShapeProto {
  message Dimension {
    oneof value {
      int64 dim_value = 1;
      string dim_param = 2;
    }
    optional string denotation = 3;
  }
  repeated Dimension dim = 1;
}

message TypeProto {
  message Tensor {
    optional int32 elem_type = 1;
    optional TensorShapeProto shape = 2;
  }
  oneof value {
    Tensor tensor_type = 1;
  }
  optional string denotation = 6;
}

message OperatorSetIdProto {
  optional string domain = 1;
  optional int64 version = 2;
}
`;

const root = protobuf.parse(ONNX_PROTO, { keepCase: true }).root;
export const ModelProto = root.lookupType('onnx.ModelProto');

/** AttributeProto.AttributeType codes. */
export const ATTR_TYPE = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;

// Plain-object views of the decoded messages (protobufjs decodes int64 as Long or number; use toNum).
export interface OnnxTensor {
  name?: string;
  dims?: (number | Long)[];
  data_type?: number;
  raw_data?: Uint8Array;
  float_data?: number[];
  int32_data?: number[];
  int64_data?: (number | Long)[];
  double_data?: number[];
  external_data?: { key?: string; value?: string }[];
  data_location?: number;
}
export interface OnnxAttribute {
  name?: string;
  type?: number;
  f?: number;
  i?: number | Long;
  s?: Uint8Array;
  t?: OnnxTensor;
  floats?: number[];
  ints?: (number | Long)[];
  strings?: Uint8Array[];
}
export interface OnnxNode {
  input?: string[];
  output?: string[];
  name?: string;
  op_type?: string;
  domain?: string;
  attribute?: OnnxAttribute[];
}
export interface OnnxValueInfo {
  name?: string;
  type?: { tensor_type?: { elem_type?: number; shape?: { dim?: { dim_value?: number | Long; dim_param?: string }[] } } };
}
export interface OnnxGraph {
  node?: OnnxNode[];
  name?: string;
  initializer?: OnnxTensor[];
  input?: OnnxValueInfo[];
  output?: OnnxValueInfo[];
  value_info?: OnnxValueInfo[];
}
export interface OnnxModel {
  ir_version?: number | Long;
  opset_import?: { domain?: string; version?: number | Long }[];
  producer_name?: string;
  graph?: OnnxGraph;
  metadata_props?: { key?: string; value?: string }[];
}

interface Long {
  toNumber(): number;
}

export function toNum(x: number | Long | undefined | null): number {
  if (x === undefined || x === null) return 0;
  return typeof x === 'number' ? x : x.toNumber();
}

export function encodeModel(m: OnnxModel): Uint8Array {
  const err = ModelProto.verify(m);
  if (err) throw new Error(`internal: invalid ONNX model object: ${err}`);
  return ModelProto.encode(ModelProto.fromObject(m)).finish();
}

export function decodeModel(bytes: Uint8Array): OnnxModel {
  try {
    return ModelProto.decode(bytes) as unknown as OnnxModel;
  } catch (e) {
    throw new Error(`not a readable ONNX file (${(e as Error).message}); the file may be truncated or not ONNX`);
  }
}
