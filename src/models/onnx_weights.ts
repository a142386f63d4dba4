// ONNX exports (torch.onnx, optimum / onnx-community, onnxruntime-genai) → ModelWeights, found by following
// the graph: initializer names of quantised exports are opaque (`onnx::MatMul_1220_Q4`), so each weight is
// reached from the node that uses it — a MatMul/MatMulNBits by its module scope (`/model/layers.3/self_attn/
// q_proj/MatMul`), its bias from the Add that consumes its output, a norm scale from the Mul (or
// SimplifiedLayerNormalization) that ends the norm, the embedding from the Gather on input_ids and the LM head
// from the MatMul that feeds `logits`. Constant sub-expressions (Gemma's 1 + w, transposes, casts) are folded.

import { dtypeFromOnnx, f16ToFloat32, viewBytes, type DType, type TypedArray } from '../engine/dtype';
import { decodeModel, toNum, type OnnxNode, type OnnxTensor } from '../engine/onnx/proto';
import type { ModelConfig } from './config';
import { dense, type DenseTensor, type EmbeddingWeight, type LayerWeights, type LinearWeight, type ModelWeights, type Q4Linear } from './weights';

type ExternalData = (location: string) => Promise<Uint8Array> | Uint8Array;

interface Const {
  dtype: DType;
  shape: number[];
  data: TypedArray;
}

async function tensorData(t: OnnxTensor, external: ExternalData | undefined, cache: Map<string, Uint8Array>, file: string): Promise<Const> {
  const dtype = dtypeFromOnnx(t.data_type ?? 0);
  const shape = (t.dims ?? []).map(toNum);
  const n = shape.reduce((a, b) => a * b, 1);
  let data: TypedArray;
  if (t.data_location === 1 || t.external_data?.length) {
    const kv = Object.fromEntries((t.external_data ?? []).map((e) => [e.key, e.value]));
    const loc = kv.location;
    if (!loc) throw new Error(`${file}: initializer ${t.name} is external but names no location`);
    if (!external) throw new Error(`${file}: initializer ${t.name} lives in external file ${loc}, which was not provided`);
    let blob = cache.get(loc);
    if (!blob) {
      blob = await external(loc);
      cache.set(loc, blob);
    }
    const off = Number(kv.offset ?? 0);
    const len = kv.length !== undefined ? Number(kv.length) : blob.byteLength - off;
    if (off + len > blob.byteLength) throw new Error(`${loc} is truncated: initializer ${t.name} needs bytes ${off}..${off + len} but the file has ${blob.byteLength}`);
    data = viewBytes(dtype, blob.subarray(off, off + len));
  } else if (t.raw_data && t.raw_data.byteLength) {
    data = viewBytes(dtype, t.raw_data);
  } else if (t.float_data?.length) data = Float32Array.from(t.float_data);
  else if (t.double_data?.length) data = Float64Array.from(t.double_data);
  else if (t.int64_data?.length) data = BigInt64Array.from(t.int64_data.map((x) => BigInt(toNum(x))));
  else if (t.int32_data?.length) {
    // int32_data also carries uint8/int8/bool/float16 (as bits) per the ONNX spec
    const src = t.int32_data;
    data = dtype === 'float16' ? Uint16Array.from(src) : dtype === 'uint8' || dtype === 'bool' ? Uint8Array.from(src) : dtype === 'int8' ? Int8Array.from(src) : Int32Array.from(src);
  } else data = viewBytes(dtype, new Uint8Array(0));
  if (data.length !== n) throw new Error(`${file}: initializer ${t.name} has ${data.length} values for shape [${shape}]`);
  return { dtype, shape, data };
}

function toF32(c: Const): Float32Array {
  if (c.data instanceof Float32Array) return c.data;
  if (c.dtype === 'float16') return f16ToFloat32(c.data as Uint16Array);
  return Float32Array.from(c.data as ArrayLike<number>, Number);
}

const LINEAR_RE = /layers\.(\d+)\/(?:self_attn|attn|mlp)\/(q_proj|k_proj|v_proj|o_proj|qkv_proj|gate_proj|up_proj|down_proj|gate_up_proj)\//;
const NORM_RE = /layers\.(\d+)\/(input_layernorm|post_attention_layernorm|pre_feedforward_layernorm|post_feedforward_layernorm|(?:self_attn|attn)\/q_norm|(?:self_attn|attn)\/k_norm)\//;

export async function weightsFromOnnx(cfg: ModelConfig, bytes: Uint8Array, external?: ExternalData, file = 'model.onnx'): Promise<ModelWeights> {
  const model = decodeModel(bytes);
  const g = model.graph;
  if (!g?.node?.length) throw new Error(`${file} has no graph nodes`);
  const inits = new Map<string, OnnxTensor>();
  for (const t of g.initializer ?? []) if (t.name) inits.set(t.name, t);
  const producer = new Map<string, OnnxNode>();
  const consumers = new Map<string, OnnxNode[]>();
  for (const n of g.node) {
    for (const o of n.output ?? []) producer.set(o, n);
    for (const i of n.input ?? []) {
      if (!i) continue;
      const list = consumers.get(i) ?? [];
      list.push(n);
      consumers.set(i, list);
    }
  }
  const extCache = new Map<string, Uint8Array>();
  const constCache = new Map<string, Const | null>();

  /** The constant value of `name` if it is an initializer or a constant expression of them, else null. */
  const resolve = async (name: string): Promise<Const | null> => {
    if (constCache.has(name)) return constCache.get(name)!;
    let out: Const | null = null;
    const init = inits.get(name);
    if (init) out = await tensorData(init, external, extCache, file);
    else {
      const n = producer.get(name);
      if (n?.op_type === 'Constant') {
        const a = n.attribute?.find((x) => x.name === 'value');
        if (a?.t) out = await tensorData(a.t, external, extCache, file);
        else {
          const f = n.attribute?.find((x) => x.name === 'value_float');
          if (f) out = { dtype: 'float32', shape: [], data: new Float32Array([f.f ?? 0]) };
        }
      } else if (n && (n.op_type === 'Identity' || n.op_type === 'Cast')) {
        const c = await resolve(n.input![0]!);
        out = c && n.op_type === 'Cast' ? { dtype: 'float32', shape: c.shape, data: toF32(c) } : c;
      } else if (n?.op_type === 'Transpose') {
        const c = await resolve(n.input![0]!);
        if (c && c.shape.length === 2) {
          const [r, k] = c.shape as [number, number];
          const src = toF32(c);
          const t = new Float32Array(r * k);
          for (let i = 0; i < r; i++) for (let j = 0; j < k; j++) t[j * r + i] = src[i * k + j]!;
          out = { dtype: 'float32', shape: [k, r], data: t };
        }
      } else if (n && (n.op_type === 'Add' || n.op_type === 'Mul')) {
        const [a, b] = await Promise.all(n.input!.map(resolve));
        if (a && b) {
          const [big, small] = a.data.length >= b.data.length ? [a, b] : [b, a];
          if (small.data.length === 1 || small.data.length === big.data.length) {
            const x = toF32(big);
            const y = toF32(small);
            const r = new Float32Array(x.length);
            for (let i = 0; i < x.length; i++) r[i] = n.op_type === 'Add' ? x[i]! + y[y.length === 1 ? 0 : i]! : x[i]! * y[y.length === 1 ? 0 : i]!;
            out = { dtype: 'float32', shape: big.shape, data: r };
          }
        }
      }
    }
    constCache.set(name, out);
    return out;
  };
  const attr = (n: OnnxNode, k: string) => toNum(n.attribute?.find((a) => a.name === k)?.i);

  const linearOf = async (n: OnnxNode): Promise<LinearWeight | null> => {
    if (n.op_type === 'MatMulNBits') {
      const bits = attr(n, 'bits');
      if (bits !== 4) throw new Error(`${file}: ${n.name} is a ${bits}-bit MatMulNBits; steerlab runs 4-bit weights only`);
      const [packed, scales, zp] = await Promise.all([resolve(n.input![1]!), resolve(n.input![2]!), n.input![3] ? resolve(n.input![3]) : Promise.resolve(null)]);
      if (!packed || !scales) return null;
      if (n.input![4]) throw new Error(`${file}: ${n.name} uses g_idx (act-order); not supported`);
      const q: Q4Linear = {
        kind: 'q4',
        K: attr(n, 'K'),
        N: attr(n, 'N'),
        blockSize: attr(n, 'block_size'),
        bits: 4,
        packed: packed.data as Uint8Array,
        scales: scales.dtype === 'float16' ? { f16: scales.data as Uint16Array } : toF32(scales),
        zeroPoints: zp ? (zp.data as Uint8Array) : undefined,
      };
      if (zp && zp.dtype !== 'uint8') throw new Error(`${file}: ${n.name} has ${zp.dtype} zero points; expected packed uint8`);
      return q;
    }
    if (n.op_type === 'MatMul' || n.op_type === 'Gemm') {
      const w = await resolve(n.input![1]!);
      if (!w || w.shape.length !== 2) return null;
      const transB = n.op_type === 'Gemm' && attr(n, 'transB') === 1;
      const [r, k] = w.shape as [number, number];
      const src = toF32(w);
      if (transB) return dense([r, k], src); // already [out, in]
      const t = new Float32Array(r * k); // [K, N] → HF [N, K]
      for (let i = 0; i < r; i++) for (let j = 0; j < k; j++) t[j * r + i] = src[i * k + j]!;
      return dense([k, r], t);
    }
    return null;
  };

  const biasAfter = async (n: OnnxNode, N: number): Promise<DenseTensor | undefined> => {
    for (const c of consumers.get(n.output![0]!) ?? []) {
      if (c.op_type !== 'Add') continue;
      const other = c.input!.find((x) => x !== n.output![0]);
      const v = other ? await resolve(other) : null;
      if (v && v.data.length === N) return dense([N], toF32(v));
    }
    return undefined;
  };

  type Lin = { w: LinearWeight; bias?: DenseTensor };
  const layerLins: Map<string, Lin>[] = Array.from({ length: cfg.numLayers }, () => new Map());
  const norms: Map<string, DenseTensor>[] = Array.from({ length: cfg.numLayers }, () => new Map());
  let finalNorm: DenseTensor | undefined;
  const d = cfg.hiddenSize;
  const hd = cfg.headDim;

  for (const n of g.node) {
    const name = n.name ?? '';
    const m = LINEAR_RE.exec(name);
    if (m && (n.op_type === 'MatMul' || n.op_type === 'MatMulNBits' || n.op_type === 'Gemm')) {
      const w = await linearOf(n);
      if (!w) continue;
      const N = w.kind === 'q4' ? w.N : w.shape[0]!;
      layerLins[Number(m[1])]!.set(m[2]!, { w, bias: await biasAfter(n, N) });
      continue;
    }
    const nm = NORM_RE.exec(name) ?? (/^\/(?:model\/|m\/model\/)?norm\//.test(name.replace(/^\/m\//, '/')) ? [name, '-1', 'norm'] : null);
    if (!nm) continue;
    let scale: Const | null = null;
    if (n.op_type === 'Mul') {
      for (const i of n.input ?? []) {
        const c = await resolve(i);
        if (c && c.data.length > 1) scale = c;
      }
    } else if (n.op_type === 'SimplifiedLayerNormalization' || n.op_type === 'SkipSimplifiedLayerNormalization') {
      scale = await resolve(n.input![n.op_type === 'SkipSimplifiedLayerNormalization' ? 2 : 1]!);
    }
    if (!scale) continue;
    const kind = nm[2]!.replace(/^(self_attn|attn)\//, '');
    // the last matching Mul in a norm's scope is the scale (nodes are in topological order)
    if (nm[1] === '-1') finalNorm = dense([scale.data.length], toF32(scale));
    else norms[Number(nm[1])]!.set(kind, dense([scale.data.length], toF32(scale)));
  }

  const split = (w: LinearWeight, rows: number[]): LinearWeight[] => {
    let off = 0;
    return rows.map((r) => {
      const part = splitRows(w, off, r);
      off += r;
      return part;
    });
  };
  const layers: LayerWeights[] = layerLins.map((lins, i) => {
    const need = (k: string): Lin => {
      const l = lins.get(k);
      if (!l) throw new Error(`${file}: found no ${k} MatMul for layer ${i} (looked for nodes named like /model/layers.${i}/self_attn/${k}/MatMul)`);
      return l;
    };
    let q: Lin, k: Lin, v: Lin;
    if (lins.has('qkv_proj')) {
      const f = lins.get('qkv_proj')!;
      const rows = [cfg.numHeads * hd, cfg.numKvHeads * hd, cfg.numKvHeads * hd];
      const [qw, kw, vw] = split(f.w, rows);
      const b = f.bias ? [0, rows[0]!, rows[0]! + rows[1]!].map((o, j) => dense([rows[j]!], f.bias!.data.slice(o, o + rows[j]!))) : [];
      [q, k, v] = [{ w: qw!, bias: b[0] }, { w: kw!, bias: b[1] }, { w: vw!, bias: b[2] }];
    } else [q, k, v] = [need('q_proj'), need('k_proj'), need('v_proj')];
    let gate: Lin, up: Lin;
    if (lins.has('gate_up_proj')) {
      const [gw, uw] = split(lins.get('gate_up_proj')!.w, [cfg.intermediateSize, cfg.intermediateSize]);
      [gate, up] = [{ w: gw! }, { w: uw! }];
    } else [gate, up] = [need('gate_proj'), need('up_proj')];
    const nrm = (key: string, required: boolean) => {
      const t = norms[i]!.get(key);
      if (!t && required) throw new Error(`${file}: found no ${key} scale for layer ${i}`);
      return t;
    };
    return {
      inputNorm: nrm('input_layernorm', true)!,
      postAttnNorm: nrm('post_attention_layernorm', true)!,
      preFfnNorm: nrm('pre_feedforward_layernorm', cfg.sandwichNorms),
      postFfnNorm: nrm('post_feedforward_layernorm', cfg.sandwichNorms),
      qNorm: nrm('q_norm', cfg.qkNorm),
      kNorm: nrm('k_norm', cfg.qkNorm),
      q: q.w,
      k: k.w,
      v: v.w,
      o: need('o_proj').w,
      qBias: q.bias,
      kBias: k.bias,
      vBias: v.bias,
      oBias: lins.get('o_proj')?.bias,
      gate: gate.w,
      up: up.w,
      down: need('down_proj').w,
    };
  });
  if (!finalNorm) throw new Error(`${file}: found no final norm (a Mul under /model/norm/)`);

  // embedding: the Gather (or GatherBlockQuantized) that reads input_ids
  const idsName = (g.input ?? []).find((i) => i.name === 'input_ids')?.name;
  if (!idsName) throw new Error(`${file} has no input named input_ids`);
  const fromIds = (nm: string): OnnxNode[] => (consumers.get(nm) ?? []).flatMap((c) => (c.op_type === 'Cast' ? fromIds(c.output![0]!) : [c]));
  let embed: EmbeddingWeight | undefined;
  for (const n of fromIds(idsName)) {
    if (n.op_type === 'Gather') {
      const t = await resolve(n.input![0]!);
      if (t && t.shape.length === 2) embed = dense(t.shape, toF32(t));
    } else if (n.op_type === 'GatherBlockQuantized') {
      const [data, scales, zp] = await Promise.all([resolve(n.input![0]!), resolve(n.input![2]!), n.input![3] ? resolve(n.input![3]) : Promise.resolve(null)]);
      if (!data || !scales) continue;
      if (attr(n, 'quantize_axis') !== 1 && n.attribute?.some((a) => a.name === 'quantize_axis')) throw new Error(`${file}: embedding quantised along axis ${attr(n, 'quantize_axis')}; expected 1`);
      if (data.dtype !== 'uint8') throw new Error(`${file}: quantised embedding stored as ${data.dtype}; expected packed uint8`);
      const [vocab, half] = data.shape as [number, number];
      embed = {
        kind: 'q4-gather',
        vocab,
        dim: half * 2,
        blockSize: attr(n, 'block_size') || 32,
        packed: data.data as Uint8Array,
        scales: scales.dtype === 'float16' ? { f16: scales.data as Uint16Array } : toF32(scales),
        zeroPoints: zp ? (zp.data as Uint8Array) : undefined,
      };
    }
    if (embed) break;
  }
  if (!embed) throw new Error(`${file}: found no embedding Gather reading input_ids`);

  // LM head: walk back from `logits` to the first MatMul-like node with a constant weight
  const outName = (g.output ?? []).find((o) => o.name === 'logits')?.name ?? g.output?.[0]?.name;
  let lmHead: LinearWeight | undefined;
  const seen = new Set<string>();
  const stack = outName ? [outName] : [];
  // breadth first (the head is the nearest MatMul), not through shape computations
  while (stack.length && !lmHead) {
    const nm = stack.shift()!;
    if (seen.has(nm)) continue;
    seen.add(nm);
    const n = producer.get(nm);
    if (!n) continue;
    if (n.op_type === 'MatMul' || n.op_type === 'MatMulNBits' || n.op_type === 'Gemm') {
      const w = await linearOf(n);
      if (w) {
        lmHead = w;
        break;
      }
    }
    if (n.op_type === 'Shape' || n.op_type === 'Size') continue;
    for (const i of n.input ?? []) if (i) stack.push(i);
  }
  if (!lmHead) throw new Error(`${file}: found no LM head MatMul feeding ${outName}`);
  // a tied export carries the embedding again as the head; drop the copy when it is exactly that
  if (cfg.tieEmbeddings && lmHead.kind === 'dense' && embed.kind === 'dense' && sameData(lmHead.data, embed.data)) lmHead = undefined;
  return { embed, layers, finalNorm, lmHead };
}

function sameData(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Rows [off, off + n) of a linear weight (output features), for fused qkv / gate_up exports. */
function splitRows(w: LinearWeight, off: number, n: number): LinearWeight {
  if (w.kind === 'dense') {
    const K = w.shape[1]!;
    return dense([n, K], w.data.slice(off * K, (off + n) * K));
  }
  const nb = Math.ceil(w.K / w.blockSize);
  const bpr = nb * (w.blockSize / 2);
  const zpr = Math.ceil(nb / 2);
  const scales = w.scales instanceof Float32Array ? w.scales.slice(off * nb, (off + n) * nb) : { f16: w.scales.f16.slice(off * nb, (off + n) * nb) };
  return {
    ...w,
    N: n,
    packed: w.packed.slice(off * bpr, (off + n) * bpr),
    scales,
    zeroPoints: w.zeroPoints?.slice(off * zpr, (off + n) * zpr),
  };
}
