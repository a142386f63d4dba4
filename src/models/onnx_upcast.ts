// The exact-arithmetic form of a graph, for checking that we read its weights: onnxruntime then runs the file's
// own weights with the arithmetic our graphs do.
//   - float16 graphs (transformers.js fp16 / q4f16, the Gemma build's q4f16): every float16 initializer, Constant
//     and Cast target becomes float32 (weights upcast, float32 math). As they are, onnxruntime's float16 rounding
//     (≈3e-3 on the fixtures' logits) would dominate.
//   - MatMulNBits accuracy_level (genai and Gemma builds use 4: activations quantised to int8, which the WebGPU EP
//     does — 0.05 on the genai fixture's logits): removed, so the product is computed in float.

import { f16ToFloat32 } from '../engine/dtype';
import { decodeModel, encodeModel, toNum, type OnnxTensor, type OnnxValueInfo } from '../engine/onnx/proto';

const FLOAT = 1;
const FLOAT16 = 10;

/** The exact-arithmetic form, or null when the graph already is one (no float16, no accuracy_level). */
export function exactReference(bytes: Uint8Array, external: Map<string, Uint8Array>, hasF16: boolean): Uint8Array | null {
  const m = decodeModel(bytes);
  let changed = false;
  for (const n of m.graph?.node ?? []) {
    if (n.op_type !== 'MatMulNBits') continue;
    const before = n.attribute?.length ?? 0;
    n.attribute = (n.attribute ?? []).filter((a) => !(a.name === 'accuracy_level' && toNum(a.i) !== 0));
    if (n.attribute.length !== before) changed = true;
  }
  if (hasF16) return upcastFloat16(encodeModel(m), external);
  return changed ? encodeModel(m) : null;
}

export function upcastFloat16(bytes: Uint8Array, external: Map<string, Uint8Array>): Uint8Array {
  const m = decodeModel(bytes);
  const g = m.graph!;
  for (const t of g.initializer ?? []) upcastTensor(t, external);
  for (const n of g.node ?? []) {
    for (const a of n.attribute ?? []) {
      if (a.t) upcastTensor(a.t, external);
      if (n.op_type === 'Cast' && a.name === 'to' && toNum(a.i) === FLOAT16) a.i = FLOAT;
    }
  }
  const fix = (v: OnnxValueInfo) => {
    const tt = v.type?.tensor_type;
    if (tt?.elem_type === FLOAT16) tt.elem_type = FLOAT;
  };
  for (const v of [...(g.input ?? []), ...(g.output ?? [])]) fix(v);
  // intermediate types are re-inferred by onnxruntime
  g.value_info = [];
  return encodeModel(m);
}

function upcastTensor(t: OnnxTensor, external: Map<string, Uint8Array>): void {
  if (t.data_type !== FLOAT16) return;
  const n = (t.dims ?? []).reduce<number>((a, d) => a * toNum(d), 1);
  let half: Uint16Array;
  if (t.data_location === 1 || t.external_data?.length) {
    const kv = Object.fromEntries((t.external_data ?? []).map((e) => [e.key, e.value]));
    const blob = external.get(kv.location ?? '');
    if (!blob) throw new Error(`float16 initializer ${t.name} lives in ${kv.location}, which was not provided`);
    const off = Number(kv.offset ?? 0);
    half = halfOf(blob.subarray(off, off + n * 2));
  } else if (t.raw_data?.byteLength) half = halfOf(t.raw_data);
  else half = Uint16Array.from(t.int32_data ?? []);
  const f = f16ToFloat32(half);
  t.data_type = FLOAT;
  t.raw_data = new Uint8Array(f.buffer, f.byteOffset, f.byteLength);
  t.int32_data = [];
  t.external_data = [];
  t.data_location = 0;
}

/** float16 bits from bytes at any offset (Node's Buffer.slice is a view, so copy explicitly) */
function halfOf(bytes: Uint8Array): Uint16Array {
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return new Uint16Array(copy.buffer);
}
