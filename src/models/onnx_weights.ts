// ONNX exports (torch.onnx / optimum / onnx-community, onnxruntime-genai) → ModelWeights, found by FOLLOWING
// THE GRAPH. Initializer names of quantised exports are opaque (`onnx::MatMul_1220_Q4`), so each weight is
// reached from the node that uses it:
//   - linear layers: a MatMul / Gemm / MatMulNBits whose node name carries the module scope
//     (`/model/layers.3/self_attn/q_proj/MatMul`, `/m/model/...`, genai `/model/layers.3/attn/qkv_proj/...`);
//     fused qkv_proj / gate_up_proj are split by head counts; a bias is the constant operand of the Add that
//     consumes the product (or MatMulNBits' own bias input);
//   - norms: the Mul with a constant vector operand that ends an RMSNorm pattern in the norm's scope, or the scale
//     input of (Skip)SimplifiedLayerNormalization / RMSNormalization;
//   - the embedding: the Gather (or com.microsoft GatherBlockQuantized) that reads input_ids;
//   - the LM head: the nearest MatMul(NBits) upstream of `logits`.
// Constant sub-expressions (Gemma's 1 + w, transposes, casts) are folded by ConstantResolver, so a norm scale is
// always the value the graph multiplies by, i.e. the EFFECTIVE scale ModelWeights stores.

import { ConstantResolver, toFloat32, transpose2d, type ConstValue, type ExternalDataReader } from '../engine/onnx/initializers';
import { decodeModel, toNum, type OnnxGraph, type OnnxNode } from '../engine/onnx/proto';
import type { ModelConfig } from './config';
import { dequantBnb4 } from './bnb4';
import { refuseUnsupported } from './onnx_layout';
import { dense, type DenseTensor, type EmbeddingWeight, type LayerWeights, type LinearWeight, type ModelWeights, type Q4Linear } from './weights';

export type { ExternalDataReader };

const LINEAR_RE = /(?:^|\/)layers\.(\d+)\/(?:self_attn|attn|mlp)\/(q_proj|k_proj|v_proj|o_proj|qkv_proj|gate_proj|up_proj|down_proj|gate_up_proj)\//;
const LAYER_NORM_RE =
  /(?:^|\/)layers\.(\d+)\/(input_layernorm|post_attention_layernorm|pre_feedforward_layernorm|post_feedforward_layernorm|(?:self_attn|attn)\/q_norm|(?:self_attn|attn)\/k_norm|final_norm_layernorm)\//;
/** `/model/norm/Mul_1`, `/m/model/norm/...`: a node in a `norm` scope outside the layers */
const FINAL_NORM_RE = /^(?!.*layers\.\d+\/)(?:.*\/)?norm\/[^/]*$/;
const ATTN_PROJ = new Set(['q_proj', 'k_proj', 'v_proj', 'o_proj', 'qkv_proj']);
const MATMULS = new Set(['MatMul', 'MatMulNBits', 'Gemm', 'MatMulBnb4']);
/** ops input_ids may pass through on its way to the embedding lookup (data input 0) */
const ID_PASSTHROUGH = new Set(['Cast', 'Identity', 'Reshape', 'Unsqueeze', 'Squeeze', 'Flatten']);

type Lin = { w: LinearWeight; bias?: DenseTensor; node: string };

/** What the scan of the graph's module scopes found, before it is checked against config.json. */
interface ScopeScan {
  /** per layer: linear layers by module name (q_proj, qkv_proj, ...) */
  lins: Map<string, Lin>[];
  /** per layer: effective norm scales by norm name (input_layernorm, q_norm, ...) */
  norms: Map<string, DenseTensor>[];
  finalNorm?: DenseTensor;
}

export async function weightsFromOnnx(cfg: ModelConfig, bytes: Uint8Array, external?: ExternalDataReader, file = 'model.onnx'): Promise<ModelWeights> {
  const model = decodeModel(bytes);
  refuseUnsupported(model, file); // q8 / bnb4 files: say so, instead of "found no q_proj MatMul"
  const g = model.graph;
  if (!g?.node?.length) throw new Error(`${file} has no graph nodes`);
  const reader = new OnnxGraphReader(g, cfg, file, external);
  const scan = await reader.scanScopes();
  const layers = assembleLayers(cfg, scan, file);
  if (!scan.finalNorm) throw new Error(`${file}: found no final norm (a Mul with a constant vector under /model/norm/, or /model/layers.${cfg.numLayers}/final_norm_layernorm/)`);
  const embed = await findEmbedding(g.input?.map((i) => i.name ?? '') ?? [], reader.consumers, reader.resolve, cfg, file);
  let lmHead: LinearWeight | undefined = await reader.findLmHead();
  // a tied export carries the embedding again as the head; drop the copy when it is exactly that
  if (cfg.tieEmbeddings && lmHead.kind === 'dense' && embed.kind === 'dense' && sameData(lmHead.data, embed.data)) lmHead = undefined;
  return { embed, layers, finalNorm: scan.finalNorm, lmHead };
}

/** The decoded graph with its constants resolved on demand and each value's consumers indexed. */
class OnnxGraphReader {
  readonly consts: ConstantResolver;
  readonly consumers = new Map<string, OnnxNode[]>();
  readonly resolve = (name: string | undefined): Promise<ConstValue | null> => (name ? this.consts.resolve(name) : Promise.resolve(null));

  constructor(
    private readonly g: OnnxGraph,
    private readonly cfg: ModelConfig,
    private readonly file: string,
    external?: ExternalDataReader,
  ) {
    this.consts = new ConstantResolver(g, { external, file });
    for (const n of g.node ?? []) {
      for (const i of n.input ?? []) {
        if (!i) continue;
        const list = this.consumers.get(i) ?? [];
        list.push(n);
        this.consumers.set(i, list);
      }
    }
  }

  /** Linear layers and norm scales, found by the module scope in their node names (nodes are in topological order, so for a norm the LAST scaling node in its scope wins). */
  async scanScopes(): Promise<ScopeScan> {
    const { cfg, file } = this;
    const L = cfg.numLayers;
    const scan: ScopeScan = { lins: Array.from({ length: L }, () => new Map()), norms: Array.from({ length: L }, () => new Map()) };
    const layerIndex = (s: string, name: string, allowFinal = false) => {
      const i = Number(s);
      if (i >= L && !(allowFinal && i === L)) throw new Error(`${file}: node ${name} is in layers.${i} but config.json has num_hidden_layers = ${L}`);
      return i;
    };
    for (const n of this.g.node ?? []) {
      const name = n.name ?? '';
      const m = LINEAR_RE.exec(name);
      if (m && MATMULS.has(n.op_type ?? '')) {
        const i = layerIndex(m[1]!, name);
        const r = await this.linearOf(n);
        if (!r) continue;
        const N = r.w.kind === 'q4' ? r.w.N : r.w.shape[0]!;
        scan.lins[i]!.set(m[2]!, { w: r.w, bias: r.bias ?? (await this.biasAfter(n, N)), node: name });
        continue;
      }
      const nm = LAYER_NORM_RE.exec(name);
      const isFinal = !nm && FINAL_NORM_RE.test(name);
      if (!nm && !isFinal) continue;
      const scale = await this.normScale(n);
      if (!scale) continue;
      const kind = nm ? nm[2]!.replace(/^(self_attn|attn)\//, '') : 'final';
      const i = nm ? layerIndex(nm[1]!, name, kind === 'final_norm_layernorm') : L;
      const want = kind === 'q_norm' || kind === 'k_norm' ? cfg.headDim : cfg.hiddenSize;
      if (scale.length !== want) throw new Error(`${file}: norm scale of ${name} has ${scale.length} values; config.json implies ${want}`);
      if (kind === 'final' || kind === 'final_norm_layernorm') scan.finalNorm = dense([want], scale);
      else scan.norms[i]!.set(kind, dense([want], scale));
    }
    return scan;
  }

  /** The LM head: breadth first from `logits` to the nearest MatMul-like node with a constant weight. */
  async findLmHead(): Promise<LinearWeight> {
    const { g, cfg, file } = this;
    const outName = (g.output ?? []).find((o) => o.name === 'logits')?.name ?? g.output?.[0]?.name;
    const producer = this.consts.producer;
    const seen = new Set<string>();
    const queue = outName ? [outName] : [];
    while (queue.length) {
      const nm = queue.shift()!;
      if (seen.has(nm)) continue;
      seen.add(nm);
      const n = producer.get(nm);
      if (!n) continue;
      if (MATMULS.has(n.op_type ?? '')) {
        const r = await this.linearOf(n);
        if (r) {
          checkShape({ w: r.w, node: n.name ?? '' }, cfg.vocabSize, cfg.hiddenSize, `${file}: LM head (${n.name})`);
          return r.w;
        }
      }
      if (n.op_type === 'Shape' || n.op_type === 'Size') continue; // shape arithmetic, not data
      for (const i of n.input ?? []) if (i) queue.push(i);
    }
    throw new Error(`${file}: found no LM head MatMul feeding ${outName ?? 'the graph output'}`);
  }

  /** The weight of a MatMul-like node in HF orientation [out, in], or null when its weight is not constant. */
  private async linearOf(n: OnnxNode): Promise<{ w: LinearWeight; bias?: DenseTensor } | null> {
    const { file, resolve } = this;
    const ins = n.input ?? [];
    if (n.op_type === 'MatMulNBits') {
      const bits = intAttr(n, 'bits', 4);
      if (bits !== 4) throw new Error(`${file}: ${n.name} is a ${bits}-bit MatMulNBits; steerlab runs 4-bit weights only (pick a q4 / q4f16 export)`);
      if (ins[4]) throw new Error(`${file}: ${n.name} uses g_idx (act-order quantisation), which steerlab does not support`);
      const [packed, scales, zp, bias] = await Promise.all([resolve(ins[1]), resolve(ins[2]), resolve(ins[3]), resolve(ins[5])]);
      if (!packed || !scales) return null;
      if (packed.dtype !== 'uint8') throw new Error(`${file}: ${n.name} stores its 4-bit weight as ${packed.dtype}; expected packed uint8`);
      if (zp && zp.dtype !== 'uint8') throw new Error(`${file}: ${n.name} has ${zp.dtype} zero points; steerlab reads packed uint8 zero points only`);
      if (scales.dtype !== 'float16' && scales.dtype !== 'float32') throw new Error(`${file}: ${n.name} has ${scales.dtype} scales`);
      const q: Q4Linear = {
        kind: 'q4',
        K: intAttr(n, 'K', 0),
        N: intAttr(n, 'N', 0),
        blockSize: intAttr(n, 'block_size', 0),
        bits: 4,
        packed: packed.data as Uint8Array,
        scales: scales.dtype === 'float16' ? { f16: scales.data as Uint16Array } : toFloat32(scales),
        zeroPoints: zp ? (zp.data as Uint8Array) : undefined,
      };
      checkQ4(q, `${file}: ${n.name}`);
      return { w: q, bias: bias ? dense([bias.data.length], toFloat32(bias)) : undefined };
    }
    if (n.op_type === 'MatMulBnb4') {
      // bnb4 files: NF4 / FP4 blocks, dequantised to a dense float32 weight (bnb4.ts)
      const [packed, absmax] = await Promise.all([resolve(ins[1]), resolve(ins[2])]);
      if (!packed || !absmax) return null;
      const K = intAttr(n, 'K', 0);
      const N = intAttr(n, 'N', 0);
      return { w: dequantBnb4(packed.data as Uint8Array, toFloat32(absmax), K, N, intAttr(n, 'block_size', 64), intAttr(n, 'quant_type', 1), `${file}: ${n.name}`) };
    }
    if (n.op_type === 'MatMul' || n.op_type === 'Gemm') {
      const w = await resolve(ins[1]);
      if (!w || w.shape.length !== 2) return null;
      const [r, k] = w.shape as [number, number];
      const src = toFloat32(w);
      if (n.op_type === 'Gemm') {
        if (intAttr(n, 'transA', 0) !== 0) return null;
        const alpha = attrOf(n, 'alpha')?.f ?? 1;
        if (alpha !== 1) throw new Error(`${file}: ${n.name} is a Gemm with alpha ${alpha}; expected a plain linear layer`);
        const c = await resolve(ins[2]);
        const bias = c ? dense([c.data.length], toFloat32(c)) : undefined;
        // transB = 1 keeps W as [out, in] already
        return intAttr(n, 'transB', 0) === 1 ? { w: dense([r, k], src), bias } : { w: dense([k, r], transpose2d(src, r, k)), bias };
      }
      // MatMul's B is [K in, N out] = Wᵀ
      return { w: dense([k, r], transpose2d(src, r, k)) };
    }
    return null;
  }

  /** A bias: the constant operand (N values) of an Add that consumes the node's output. */
  private async biasAfter(n: OnnxNode, N: number): Promise<DenseTensor | undefined> {
    const out = n.output?.[0];
    if (!out) return undefined;
    for (const c of this.consumers.get(out) ?? []) {
      if (c.op_type !== 'Add') continue;
      const v = await this.resolve(c.input?.find((x) => x !== out));
      if (v && v.data.length === N) return dense([N], toFloat32(v));
    }
    return undefined;
  }

  /** The effective scale a norm node applies, or null when this node is not the scaling step. */
  private async normScale(n: OnnxNode): Promise<Float32Array | null> {
    const ins = n.input ?? [];
    if (n.op_type === 'SimplifiedLayerNormalization' || n.op_type === 'RMSNormalization') return vec(await this.resolve(ins[1]));
    if (n.op_type === 'SkipSimplifiedLayerNormalization') return vec(await this.resolve(ins[2]));
    if (n.op_type !== 'Mul') return null;
    const vals = await Promise.all(ins.map((i) => this.resolve(i)));
    const ci = vals.findIndex((c) => c !== null && c.data.length > 1);
    if (ci < 0 || vals.some((c, j) => j !== ci && c !== null)) return null;
    const scale = toFloat32(vals[ci]!);
    // Gemma exported as x·w + x (the "+1" applied at run time): the Add consuming the product re-adds the
    // normalised input, so the effective scale is 1 + w
    const x = ins[1 - ci];
    const out = n.output?.[0];
    const readds = (this.consumers.get(out ?? '') ?? []).some((c) => c.op_type === 'Add' && c.input?.includes(out!) && c.input?.includes(x!));
    return readds ? scale.map((s) => 1 + s) : scale;
  }
}

function attrOf(n: OnnxNode, k: string) {
  return n.attribute?.find((a) => a.name === k);
}

function intAttr(n: OnnxNode, k: string, dflt: number): number {
  const a = attrOf(n, k);
  return a ? toNum(a.i) : dflt;
}

/** Each layer's weights from the scan, fused projections split, every shape and bias checked against config.json. */
function assembleLayers(cfg: ModelConfig, scan: ScopeScan, file: string): LayerWeights[] {
  const d = cfg.hiddenSize;
  const qRows = cfg.numHeads * cfg.headDim;
  const kvRows = cfg.numKvHeads * cfg.headDim;
  const I = cfg.intermediateSize;
  return scan.lins.map((ls, i) => {
    const need = (k: string, rows: number, cols: number): Lin => {
      const l = ls.get(k);
      const scope = ATTN_PROJ.has(k) ? 'self_attn' : 'mlp';
      if (!l) throw new Error(`${file}: found no ${k} MatMul for layer ${i} (looked for a MatMul / MatMulNBits named like /model/layers.${i}/${scope}/${k}/MatMul)`);
      checkShape(l, rows, cols, `${file}: layers.${i} ${k} (${l.node})`);
      return l;
    };
    let q: Lin, k: Lin, v: Lin;
    if (ls.has('qkv_proj')) {
      const f = need('qkv_proj', qRows + 2 * kvRows, d);
      [q, k, v] = splitLin(f, [qRows, kvRows, kvRows]) as [Lin, Lin, Lin];
    } else [q, k, v] = [need('q_proj', qRows, d), need('k_proj', kvRows, d), need('v_proj', kvRows, d)];
    let gate: Lin, up: Lin;
    if (ls.has('gate_up_proj')) [gate, up] = splitLin(need('gate_up_proj', 2 * I, d), [I, I]) as [Lin, Lin];
    else [gate, up] = [need('gate_proj', I, d), need('up_proj', I, d)];
    const o = need('o_proj', d, qRows);
    const down = need('down_proj', d, I);
    if (cfg.qkvBias && !(q.bias && k.bias && v.bias)) throw new Error(`${file}: config.json says q/k/v projections have biases, but layer ${i} has no Add with a constant after them`);
    if (cfg.oBias && !o.bias) throw new Error(`${file}: config.json says o_proj has a bias, but layer ${i} has none`);
    const nrm = (key: string, required: boolean) => {
      const t = scan.norms[i]!.get(key);
      if (!t && required) throw new Error(`${file}: found no ${key} scale for layer ${i} (a Mul with a constant vector, or a SimplifiedLayerNormalization, under /model/layers.${i}/${key}/)`);
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
      o: o.w,
      qBias: q.bias,
      kBias: k.bias,
      vBias: v.bias,
      oBias: o.bias,
      gate: gate.w,
      up: up.w,
      down: down.w,
    };
  });
}

function vec(c: ConstValue | null): Float32Array | null {
  return c ? toFloat32(c) : null;
}

/** The embedding table: the Gather / GatherBlockQuantized whose indices are input_ids (through casts and reshapes). */
async function findEmbedding(
  inputs: string[],
  consumers: Map<string, OnnxNode[]>,
  resolve: (n: string | undefined) => Promise<ConstValue | null>,
  cfg: ModelConfig,
  file: string,
): Promise<EmbeddingWeight> {
  if (!inputs.includes('input_ids')) throw new Error(`${file} has no input named input_ids`);
  const lookups: { node: OnnxNode; ids: string }[] = [];
  const walk = (name: string, depth: number) => {
    for (const c of consumers.get(name) ?? []) {
      if ((c.op_type === 'Gather' || c.op_type === 'GatherBlockQuantized') && c.input?.[1] === name) lookups.push({ node: c, ids: name });
      else if (depth < 4 && ID_PASSTHROUGH.has(c.op_type ?? '') && c.input?.[0] === name) walk(c.output![0]!, depth + 1);
    }
  };
  walk('input_ids', 0);
  const attr = intAttr;
  for (const { node: n } of lookups) {
    const where = `${file}: embedding ${n.name}`;
    if (n.op_type === 'Gather') {
      const t = await resolve(n.input![0]);
      if (!t || t.shape.length !== 2) continue;
      if (t.shape[0] !== cfg.vocabSize || t.shape[1] !== cfg.hiddenSize) {
        throw new Error(`${where} is [${t.shape}]; config.json implies [${cfg.vocabSize},${cfg.hiddenSize}]`);
      }
      return dense(t.shape, toFloat32(t));
    }
    const [data, scales, zp] = await Promise.all([resolve(n.input![0]), resolve(n.input![2]), resolve(n.input![3])]);
    if (!data || !scales) continue;
    if (attr(n, 'gather_axis', 0) !== 0) throw new Error(`${where} gathers along axis ${attr(n, 'gather_axis', 0)}; expected 0`);
    if (attr(n, 'bits', 4) !== 4) throw new Error(`${where} is ${attr(n, 'bits', 4)}-bit; steerlab reads 4-bit embeddings only`);
    if (data.dtype !== 'uint8' || data.shape.length !== 2) throw new Error(`${where} stores ${data.dtype} [${data.shape}]; expected packed uint8 [vocab, dim/2]`);
    const qa = attr(n, 'quantize_axis', 1);
    if (qa !== 1 && qa !== -1) throw new Error(`${where} is quantised along axis ${qa}; expected the last axis`);
    if (zp && zp.dtype !== 'uint8') throw new Error(`${where} has ${zp.dtype} zero points; expected packed uint8`);
    const [vocab, half] = data.shape as [number, number];
    const blockSize = attr(n, 'block_size', 128); // the contrib op's default
    const dim = half * 2;
    if (vocab !== cfg.vocabSize || dim !== cfg.hiddenSize) throw new Error(`${where} is [${vocab},${dim}]; config.json implies [${cfg.vocabSize},${cfg.hiddenSize}]`);
    const nb = Math.ceil(dim / blockSize);
    if (scales.data.length !== vocab * nb) throw new Error(`${where} has ${scales.data.length} scales; [${vocab},${dim}] in blocks of ${blockSize} needs ${vocab * nb}`);
    return {
      kind: 'q4-gather',
      vocab,
      dim,
      blockSize,
      packed: data.data as Uint8Array,
      scales: scales.dtype === 'float16' ? { f16: scales.data as Uint16Array } : toFloat32(scales),
      zeroPoints: zp ? (zp.data as Uint8Array) : undefined,
    };
  }
  throw new Error(`${file}: found no embedding Gather reading input_ids`);
}

/** MatMulNBits attributes against the sizes of its packed data (a mismatch means a different layout). */
function checkQ4(q: Q4Linear, where: string): void {
  const bs = q.blockSize;
  if (!(q.K > 0 && q.N > 0)) throw new Error(`${where} lacks the K / N attributes`);
  if (!(bs >= 16 && (bs & (bs - 1)) === 0)) throw new Error(`${where} has block_size ${bs}; expected a power of 2 >= 16`);
  const nb = Math.ceil(q.K / bs);
  const nScales = q.scales instanceof Float32Array ? q.scales.length : q.scales.f16.length;
  if (q.packed.length !== q.N * nb * (bs / 2)) throw new Error(`${where}: packed weight has ${q.packed.length} bytes; N=${q.N} K=${q.K} block ${bs} needs ${q.N * nb * (bs / 2)}`);
  if (nScales !== q.N * nb) throw new Error(`${where}: ${nScales} scales; N=${q.N} K=${q.K} block ${bs} needs ${q.N * nb}`);
  if (q.zeroPoints && q.zeroPoints.length !== q.N * Math.ceil(nb / 2)) {
    throw new Error(`${where}: ${q.zeroPoints.length} zero-point bytes; expected ${q.N * Math.ceil(nb / 2)} (packed 4-bit)`);
  }
}

function checkShape(l: { w: LinearWeight; bias?: DenseTensor; node: string }, rows: number, cols: number, where: string): void {
  const [r, c] = l.w.kind === 'q4' ? [l.w.N, l.w.K] : [l.w.shape[0]!, l.w.shape[1]!];
  if (r !== rows || c !== cols) throw new Error(`${where} has weight [out ${r}, in ${c}]; config.json implies [${rows}, ${cols}]`);
  if (l.bias && l.bias.data.length !== rows) throw new Error(`${where} has a bias of ${l.bias.data.length}; expected ${rows}`);
}

function sameData(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Splits a fused projection (qkv_proj, gate_up_proj) by output rows, bias included. */
function splitLin(l: Lin, rows: number[]): Lin[] {
  let off = 0;
  return rows.map((r) => {
    const part: Lin = { w: splitRows(l.w, off, r), bias: l.bias ? dense([r], l.bias.data.slice(off, off + r)) : undefined, node: l.node };
    off += r;
    return part;
  });
}

/** Rows [off, off + n) of a linear weight (output features). */
function splitRows(w: LinearWeight, off: number, n: number): LinearWeight {
  if (w.kind === 'dense') {
    const K = w.shape[1]!;
    return dense([n, K], w.data.slice(off * K, (off + n) * K));
  }
  const nb = Math.ceil(w.K / w.blockSize);
  const bpr = nb * (w.blockSize / 2);
  const zpr = Math.ceil(nb / 2);
  const scales = w.scales instanceof Float32Array ? w.scales.slice(off * nb, (off + n) * nb) : { f16: w.scales.f16.slice(off * nb, (off + n) * nb) };
  return { ...w, N: n, packed: w.packed.slice(off * bpr, (off + n) * bpr), scales, zeroPoints: w.zeroPoints?.slice(off * zpr, (off + n) * zpr) };
}
