// What kind of ONNX export a graph is, read from its structure alone (no weights are decoded): which exporter
// laid it out, which weight dtype it carries, which external files hold its data, and — for the layouts
// steerlab cannot run — why not, in words a student can act on. `inspect` and the Model panel report this, and
// weightsFromOnnx refuses an unsupported file with the same reason instead of "found no q_proj MatMul".
//
// Layouts (the exporters the Hub's files come from):
//   optimum      Optimum's text-generation-with-past export (transformers.js scripts/convert.py): inputs
//                past_key_values.N.key/value, outputs present.N.*, plain ONNX attention
//   gemma-build  onnx-community Gemma 3 exports: com.microsoft GroupQueryAttention, RotaryEmbedding,
//                SimplifiedLayerNormalization, tied LM head as MatMul(x, Transpose(embedding))
//   genai        onnxruntime-genai's model builder: GroupQueryAttention, fused qkv_proj, the LM head its own
//                MatMul(NBits) or GatherBlockQuantized shared with the embedding
//   torch-export a torch.onnx export without a KV cache (node scopes /model/layers.N/...)

import { toNum, type OnnxGraph, type OnnxModel, type OnnxNode } from '../engine/onnx/proto';

export type OnnxLayout = 'optimum' | 'gemma-build' | 'genai' | 'torch-export' | 'unknown';
/** transformers.js's names for the variants (q8 = its `_quantized` file) */
export type OnnxDtype = 'fp32' | 'fp16' | 'q4' | 'q4f16' | 'q8' | 'int8' | 'uint8' | 'bnb4' | 'unknown';

export interface OnnxFacts {
  layout: OnnxLayout;
  dtype: OnnxDtype;
  /** external data files the initializers name, in first-use order */
  externalFiles: string[];
  /** op types, domain-qualified for non-default domains (com.microsoft.MatMulNBits) */
  ops: string[];
  inputs: string[];
  outputs: string[];
  /** set when steerlab cannot run this file */
  refusal?: string;
}

const ONNX_FLOAT = 1;
const ONNX_FLOAT16 = 10;
const ONNX_INT8 = 3;
const ONNX_UINT8 = 2;

/** ops of transformers.js's q8 / int8 / uint8 files (onnxruntime quantize_dynamic) */
const INTEGER_OPS = new Set(['MatMulInteger', 'DynamicQuantizeLinear', 'ConvInteger', 'QLinearMatMul', 'DynamicQuantizeMatMul']);

export function describeOnnx(m: OnnxModel, file = 'model.onnx'): OnnxFacts {
  const g = m.graph ?? {};
  const nodes = g.node ?? [];
  const ops = new Set<string>();
  for (const n of nodes) ops.add(n.domain && n.domain !== 'ai.onnx' ? `${n.domain}.${n.op_type}` : n.op_type ?? '');
  const inputs = (g.input ?? []).map((i) => i.name ?? '');
  const outputs = (g.output ?? []).map((o) => o.name ?? '');
  const externalFiles: string[] = [];
  for (const t of g.initializer ?? []) {
    const loc = t.external_data?.find((e) => e.key === 'location')?.value;
    if (loc && !externalFiles.includes(loc)) externalFiles.push(loc);
  }
  const dtype = dtypeOf(g, nodes, file);
  const layout = layoutOf(g, nodes, inputs);
  return { layout, dtype, externalFiles, ops: [...ops].sort(), inputs, outputs, refusal: refusalOf(dtype, nodes) };
}

function dtypeOf(g: OnnxGraph, nodes: OnnxNode[], file: string): OnnxDtype {
  const inits = new Map((g.initializer ?? []).map((t) => [t.name ?? '', t]));
  if (nodes.some((n) => n.op_type === 'MatMulBnb4')) return 'bnb4';
  const integer = nodes.find((n) => INTEGER_OPS.has(n.op_type ?? ''));
  if (integer) {
    if (/_int8\.onnx$/.test(file)) return 'int8';
    if (/_uint8\.onnx$/.test(file)) return 'uint8';
    return 'q8';
  }
  const floatTypes = new Set<number>();
  for (const t of inits.values()) if (t.data_type === ONNX_FLOAT || t.data_type === ONNX_FLOAT16) floatTypes.add(t.data_type);
  for (const v of [...(g.input ?? []), ...(g.output ?? []), ...(g.value_info ?? [])]) {
    const et = v.type?.tensor_type?.elem_type;
    if (et === ONNX_FLOAT16) floatTypes.add(ONNX_FLOAT16);
  }
  const anyF16 = floatTypes.has(ONNX_FLOAT16) || nodes.some((n) => n.op_type === 'Cast' && n.attribute?.some((a) => a.name === 'to' && toNum(a.i) === ONNX_FLOAT16));
  const nbits = nodes.find((n) => n.op_type === 'MatMulNBits');
  if (nbits) {
    const bits = toNum(nbits.attribute?.find((a) => a.name === 'bits')?.i ?? 4);
    if (bits === 8) return inits.get(nbits.input?.[1] ?? '')?.data_type === ONNX_INT8 ? 'int8' : 'uint8';
    if (bits !== 4) return 'unknown';
    return anyF16 ? 'q4f16' : 'q4';
  }
  const gbq = nodes.find((n) => n.op_type === 'GatherBlockQuantized');
  if (gbq) return anyF16 ? 'q4f16' : 'q4';
  const bigFloat = [...inits.values()].filter((t) => (t.dims ?? []).length === 2);
  if (!bigFloat.length) return 'unknown';
  const f16 = bigFloat.filter((t) => t.data_type === ONNX_FLOAT16).length;
  if (f16 > bigFloat.length / 2) return 'fp16';
  if (bigFloat.some((t) => t.data_type === ONNX_INT8 || t.data_type === ONNX_UINT8)) return 'q8';
  return 'fp32';
}

function layoutOf(g: OnnxGraph, nodes: OnnxNode[], inputs: string[]): OnnxLayout {
  const hasPast = inputs.some((i) => /^past_key_values\.\d+\.(key|value)$/.test(i));
  const gqa = nodes.some((n) => n.op_type === 'GroupQueryAttention');
  if (gqa) return headIsTransposedEmbedding(g, nodes) ? 'gemma-build' : 'genai';
  if (hasPast) return 'optimum';
  if (nodes.some((n) => /(?:^|\/)layers\.\d+\//.test(n.name ?? ''))) return 'torch-export';
  return 'unknown';
}

/** the tied head of the Gemma build: a Transpose whose input is the table of the Gather that reads input_ids */
function headIsTransposedEmbedding(g: OnnxGraph, nodes: OnnxNode[]): boolean {
  const inits = new Set((g.initializer ?? []).map((t) => t.name));
  const tables = new Set(nodes.filter((n) => n.op_type === 'Gather' && inits.has(n.input?.[0]) && n.input?.[1] === 'input_ids').map((n) => n.input![0]!));
  return nodes.some((n) => n.op_type === 'Transpose' && tables.has(n.input?.[0] ?? ''));
}

/** onnxruntime quantize_dynamic's integer ops (q8 / int8 / uint8); 8-bit MatMulNBits is refused by the loader itself */
function refusalOf(dtype: OnnxDtype, nodes: OnnxNode[]): string | undefined {
  // name the weight op (MatMulInteger) rather than the activation quantiser that precedes it
  const op = nodes.find((n) => n.op_type === 'MatMulInteger')?.op_type ?? nodes.find((n) => INTEGER_OPS.has(n.op_type ?? ''))?.op_type;
  return op ? `${dtype} ${op} weights are not supported: choose q4 or q4f16` : undefined;
}

/** Throws the refusal of a decoded model, if it has one (called by weightsFromOnnx before reading weights). */
export function refuseUnsupported(m: OnnxModel, file: string): void {
  const r = describeOnnx(m, file).refusal;
  if (r) throw new UnsupportedOnnxError(`${file}: ${r}`);
}

export class UnsupportedOnnxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedOnnxError';
  }
}
