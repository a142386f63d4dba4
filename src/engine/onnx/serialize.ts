// Graph IR → ONNX ModelProto bytes. Only the nodes the requested outputs need are written (dead nodes,
// unused inputs and constants dropped), so one built graph can yield several lean sessions.

import { ONNX_DTYPE } from '../dtype';
import type { AttrValue, Graph, Node, TensorData, Value } from '../ir';
import { nodeOpDef } from '../ops/table';
import { ATTR_TYPE, encodeModel, type OnnxAttribute, type OnnxModel, type OnnxTensor, type OnnxValueInfo } from './proto';

export const OPSET = 18;

export interface SerializeOptions {
  /** subset of graph outputs to keep (default: all) */
  outputs?: Value[];
  /**
   * Declare int64 runtime inputs as int32 and widen them in the graph (Cast to int64) before their first use.
   * For graph-captured WebGPU sessions: the WebGPU EP converts an int64 input buffer to int32 when it binds it,
   * which a captured graph does once, so later runs would replay the first run's ids; int32 buffers are read
   * where they lie.
   */
  int32Inputs?: boolean;
  /**
   * sizes for symbolic dims of the inputs (B, T, M, ...): the file then declares fixed shapes, so onnxruntime
   * folds every shape computation into constants (graph capture needs all nodes on the GPU, none on the CPU)
   */
  fixDims?: Record<string, number>;
}

export interface SerializedGraph {
  bytes: Uint8Array;
  /** graph inputs actually used, in the ONNX file's order */
  inputs: Value[];
  outputs: Value[];
}

function tensorProto(name: string, t: TensorData): OnnxTensor {
  const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  return { name, dims: t.shape, data_type: ONNX_DTYPE[t.dtype], raw_data: bytes.slice() };
}

/**
 * One attribute, typed by the op's declaration: a FLOAT attribute equal to 1.0 is still FLOAT (a JS number
 * cannot say whether it is 1 or 1.0, and ORT rejects an INT where its schema wants a FLOAT).
 */
function attrProto(op: string, name: string, v: AttrValue): OnnxAttribute {
  const type = nodeOpDef(op).attrs?.[name];
  const wrong = (): Error => new Error(`attribute ${name} of ${op}: value ${JSON.stringify(v)} is not a valid ${type}`);
  switch (type) {
    case 'int':
      if (typeof v !== 'number' || !Number.isInteger(v)) throw wrong();
      return { name, type: ATTR_TYPE.INT, i: v };
    case 'float':
      if (typeof v !== 'number') throw wrong();
      return { name, type: ATTR_TYPE.FLOAT, f: v };
    case 'ints':
      if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isInteger(x))) throw wrong();
      return { name, type: ATTR_TYPE.INTS, ints: v as number[] };
    case 'floats':
      if (!Array.isArray(v) || !v.every((x) => typeof x === 'number')) throw wrong();
      return { name, type: ATTR_TYPE.FLOATS, floats: v as number[] };
    case 'string':
      if (typeof v !== 'string') throw wrong();
      return { name, type: ATTR_TYPE.STRING, s: new TextEncoder().encode(v) };
    case 'strings':
      if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw wrong();
      return { name, type: ATTR_TYPE.STRINGS, strings: (v as string[]).map((s) => new TextEncoder().encode(s)) };
    case 'tensor':
      if (typeof v !== 'object' || Array.isArray(v)) throw wrong();
      return { name, type: ATTR_TYPE.TENSOR, t: tensorProto(name, v) };
    default:
      throw new Error(`attribute ${name} of ${op} is not declared in the op table (ops/*.ts attrs)`);
  }
}

function valueInfo(v: Value, dtype = v.dtype, fix: Record<string, number> = {}): OnnxValueInfo {
  const dim = (d: number | string) => (typeof d === 'number' ? { dim_value: d } : fix[d] !== undefined ? { dim_value: fix[d] } : { dim_param: d });
  return {
    name: v.name,
    type: {
      tensor_type: {
        elem_type: ONNX_DTYPE[dtype],
        shape: { dim: v.shape.map(dim) },
      },
    },
  };
}

/** The inputs a node's ONNX form takes (a CustomVjp node carries more for the autodiff). */
function onnxInputs(n: Node): (Value | null)[] {
  const k = nodeOpDef(n.op).onnxInputs;
  return k === undefined ? n.inputs : n.inputs.slice(0, k);
}

/** Nodes needed for `outputs`, in topological (creation) order. */
export function liveNodes(g: Graph, outputs: Value[]): Node[] {
  const need = new Set<Value>(outputs);
  const keep: Node[] = [];
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i]!;
    if (n.outputs.some((o) => need.has(o))) {
      keep.push(n);
      for (const x of onnxInputs(n)) if (x) need.add(x);
    }
  }
  return keep.reverse();
}

export function serialize(g: Graph, opts: SerializeOptions = {}): SerializedGraph {
  const outputs = opts.outputs ?? g.outputs;
  if (!outputs.length) throw new Error('graph has no outputs to serialise');
  const nodes = liveNodes(g, outputs);
  const used = new Set<Value>(outputs);
  for (const n of nodes) for (const x of onnxInputs(n)) if (x) used.add(x);

  const inputs = g.inputs.filter((i) => used.has(i.value)).map((i) => i.value);
  const inits: OnnxTensor[] = [];
  for (const [v, t] of g.initializers) if (used.has(v)) inits.push(tensorProto(v.name, t));
  let usesMs = false;
  const narrowed = new Set(opts.int32Inputs ? g.inputs.filter((i) => i.kind === 'input' && i.value.dtype === 'int64' && used.has(i.value)).map((i) => i.value) : []);
  const wide = (v: Value) => (narrowed.has(v) ? `${v.name}__int64` : v.name);
  const widen = [...narrowed].map((v) => ({ name: `${v.name}__widen`, op_type: 'Cast', input: [v.name], output: [wide(v)], attribute: [{ name: 'to', type: ATTR_TYPE.INT, i: ONNX_DTYPE.int64 }] }));
  const nodeProtos = nodes.map((n) => {
    if (n.domain === 'com.microsoft') usesMs = true;
    return {
      name: n.name,
      op_type: nodeOpDef(n.op).onnxType ?? n.op,
      domain: n.domain || undefined,
      input: onnxInputs(n).map((x) => (x ? wide(x) : '')),
      output: n.outputs.map((o) => o.name),
      attribute: Object.entries(n.attrs)
        .filter(([k]) => !k.startsWith('__'))
        .map(([k, v]) => attrProto(n.op, k, v)),
    };
  });

  const model: OnnxModel = {
    ir_version: 9,
    producer_name: 'steerlab',
    opset_import: [{ domain: '', version: OPSET }, ...(usesMs ? [{ domain: 'com.microsoft', version: 1 }] : [])],
    graph: {
      name: g.name,
      node: [...widen, ...nodeProtos],
      initializer: inits,
      input: inputs.map((v) => valueInfo(v, narrowed.has(v) ? 'int32' : v.dtype, opts.fixDims)),
      // outputs carry their element type only: symbolic dims of outputs are not contracts ORT should check
      output: outputs.map((v) => ({ name: v.name, type: { tensor_type: { elem_type: ONNX_DTYPE[v.dtype] } } })),
    },
  };
  return { bytes: encodeModel(model), inputs, outputs };
}
