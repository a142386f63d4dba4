// A float32 copy of a graph that computes in float16 (transformers.js fp16 / q4f16 files, the Gemma build's
// q4f16): every float16 initializer, Constant and Cast target becomes float32, so onnxruntime runs the file's
// own weights with the arithmetic our graphs do (weights upcast, float32 math). Comparing with the file as it is
// would measure onnxruntime's float16 rounding (≈3e-3 on the fixtures' logits), not whether we read the weights.

import { f16ToFloat32 } from '../engine/dtype';
import { decodeModel, encodeModel, toNum, type OnnxTensor, type OnnxValueInfo } from '../engine/onnx/proto';

const FLOAT = 1;
const FLOAT16 = 10;

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
    half = new Uint16Array(blob.slice(off, off + n * 2).buffer);
  } else if (t.raw_data?.byteLength) half = new Uint16Array(t.raw_data.slice().buffer);
  else half = Uint16Array.from(t.int32_data ?? []);
  const f = f16ToFloat32(half);
  t.data_type = FLOAT;
  t.raw_data = new Uint8Array(f.buffer, f.byteOffset, f.byteLength);
  t.int32_data = [];
  t.external_data = [];
  t.data_location = 0;
}
