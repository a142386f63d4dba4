// The decoder forward graph shared by Qwen2/2.5, Qwen3, Llama, Gemma2 and Gemma3-text. Architecture
// differences are config flags (biases, q/k norms, sandwich norms, soft-capping, sliding windows, rope per
// layer type). Attention keeps grouped KV heads unexpanded: q is [B, KVH, rep, T, hd] and k/v are
// [B, KVH, 1, S, hd], so MatMul broadcasting does the head repetition and its VJP sums it back.

import type { Builder } from '../engine/builder';
import type { Value } from '../engine/ir';
import { hookBlockOutput, hookDownProj, type Steering } from './hooks';
import type { LoadedModel } from './model';
import { applyRope, ropeCosSin } from './rope';

/** A rank-r adapter on one linear layer: y += scale · (x·A)·B with A [in, r], B [r, out]. */
export interface LoraFactor {
  A: Value;
  B: Value;
  scale: number;
}

export interface KvPair {
  /** [B, KVH, S_past, hd] */
  k: Value;
  v: Value;
}

export interface DecoderInputs {
  /** int64 [B, T] token ids (omit when starting from a cached hidden state) */
  ids?: Value;
  /** int64 [B, S] attention mask over past + current tokens (1 = real token) */
  mask: Value;
  /** int64 [B, T] positions; default past_len + arange(T) */
  positions?: Value;
  /** per-layer KV cache from earlier steps */
  past?: KvPair[];
}

export interface DecoderOptions {
  steer?: Steering;
  /** start from hidden_states[layer + 1] (the unsteered output of block `layer`; layer −1 = the embeddings) */
  from?: { layer: number; hidden: Value };
  /** stop after block `layer` and return its raw (unsteered) output as `cut` (−1: the scaled embeddings) */
  cutAfter?: number;
  lora?: Map<string, LoraFactor>;
  /** return present KV per layer */
  kv?: boolean;
  /** return every hidden state (HF hidden_states) */
  hidden?: boolean;
}

export interface DecoderOutputs {
  /** final hidden [B, T, d] after the final norm (HF hidden_states[N]) */
  final?: Value;
  /** HF hidden_states[i], when requested */
  hidden: Value[];
  cut?: Value;
  present: KvPair[];
}

const NEG = -1e30;

/** Attention permission [B, 1, 1, T, S] for causal (+ sliding window) attention over real keys. */
function attentionMask(b: Builder, mask: Value, qLen: Value, window: number | undefined, cache: Map<string, Value>): Value {
  const key = `w${window ?? 0}`;
  const hit = cache.get(key);
  if (hit) return hit;
  let base = cache.get('base');
  const S = b.gather(b.shapeOf(mask), b.ints([1]), 0); // [1]
  const sS = b.squeeze(S, [0]);
  const past = b.sub(sS, b.squeeze(qLen, [0]));
  const kpos = b.range(b.scalar(0, 'int64'), sS, b.scalar(1, 'int64'), ['S']); // [S]
  const qpos = b.range(past, sS, b.scalar(1, 'int64'), ['T']); // [T]
  const q2 = b.unsqueeze(qpos, [1]); // [T,1]
  if (!base) {
    const causal = b.lessOrEqual(kpos, q2); // [T,S]
    const real = b.unsqueeze(b.equal(mask, b.scalar(1, 'int64')), [1, 2, 3]); // [B,1,1,1,S]
    base = b.and(real, causal); // [B,1,1,T,S]
    cache.set('base', base);
  }
  let allowed = base;
  if (window) {
    // HF: a sliding layer sees key k from query q iff q - k < window
    const dist = b.sub(q2, kpos);
    allowed = b.and(base, b.less(dist, b.scalar(window, 'int64')));
  }
  cache.set(key, allowed);
  return allowed;
}

export function buildDecoder(b: Builder, model: LoadedModel, inp: DecoderInputs, opts: DecoderOptions = {}): DecoderOutputs {
  const cfg = model.config;
  const H = cfg.numHeads;
  const KVH = cfg.numKvHeads;
  const hd = cfg.headDim;
  const rep = H / KVH;
  if (!Number.isInteger(rep)) throw new Error(`num_attention_heads ${H} is not a multiple of num_key_value_heads ${KVH}`);
  const out: DecoderOutputs = { hidden: [], present: [] };

  let x: Value;
  let first = 0;
  if (opts.from) {
    x = opts.from.hidden;
    first = opts.from.layer + 1;
    x = hookBlockOutput(b, opts.from.layer, x, opts.steer);
  } else {
    if (!inp.ids) throw new Error('decoder needs token ids or a cached hidden state');
    x = model.embedTokens(b, inp.ids);
    if (cfg.embedScale !== 1) x = b.mulScalar(x, cfg.embedScale);
    if (opts.cutAfter === -1) {
      out.cut = x;
      return out;
    }
  }

  // query length T and positions (shared by every layer)
  const ref = inp.ids ?? opts.from!.hidden;
  const qLen = b.gather(b.shapeOf(ref), b.ints([1]), 0);
  let pos: Value;
  let firstPos: Value | undefined; // int64 [1]: the position of the first query token
  if (inp.positions) pos = inp.positions;
  else {
    const S = b.squeeze(b.gather(b.shapeOf(inp.mask), b.ints([1]), 0), [0]);
    const past = b.sub(S, b.squeeze(qLen, [0]));
    pos = b.range(past, S, b.scalar(1, 'int64'), ['T']); // [T]
    firstPos = b.unsqueeze(past, [0]);
  }
  // float32 graphs rotate with onnxruntime's RotaryEmbedding (one kernel, fed the position tables and either the
  // first position [1] or the positions [B, T]); float64 graphs with the elementwise rotate-half (rope.ts)
  const fusedRope = b.float === 'float32';
  const tables = { full: model.ropeTable(b, 'full'), local: cfg.ropeLocal ? model.ropeTable(b, 'local') : undefined };
  const ropePos = inp.positions ?? firstPos!;
  const ropeFull = fusedRope ? undefined : ropeCosSin(b, pos, ...tables.full);
  const ropeLocal = fusedRope ? undefined : tables.local ? ropeCosSin(b, pos, ...tables.local) : ropeFull;
  // broadcast [.., T, hd] against [B, KVH, rep|1, T, hd]
  const ropeFor = (r: { cos: Value; sin: Value }) =>
    inp.positions ? { cos: b.unsqueeze(r.cos, [1, 2]), sin: b.unsqueeze(r.sin, [1, 2]) } : r;
  const rotate = (t: Value, heads: number, rows: number, sliding: boolean): Value => {
    const [cos, sin] = (sliding && tables.local) || tables.full;
    const flat = b.rotaryEmbedding(b.reshape(t, [0, 0, heads * hd]), ropePos, cos, sin, heads);
    return b.reshape(flat, [0, 0, KVH, rows, hd]);
  };
  const masks = new Map<string, Value>();

  /** x·Wᵀ + bias + LoRA of each named linear of this block, reading the same h (stacked ones in one matmul) */
  const proj = (p: string, names: string[], h: Value): Value[] => {
    const keys = names.map((n) => `${p}.${n}`);
    return model.project(b, keys, h).map((y, j) => {
      const lora = opts.lora?.get(keys[j]!);
      return lora ? b.add(y, b.mulScalar(b.matmul(b.matmul(h, lora.A), lora.B), lora.scale)) : y;
    });
  };
  const norm = (key: string, h: Value) => b.rmsNorm(h, model.vec(b, key), cfg.rmsNormEps);

  for (let i = first; i < cfg.numLayers; i++) {
    if (opts.hidden) out.hidden[i] = x;
    const p = `layers.${i}`;
    const sliding = cfg.layerTypes[i] === 'sliding';

    // --- self-attention ---
    const h = norm(`${p}.inputNorm`, x);
    const [qf, kf, vf] = proj(p, ['q', 'k', 'v'], h);
    let q = b.reshape(qf!, [0, 0, KVH, rep, hd]);
    let k = b.reshape(kf!, [0, 0, KVH, 1, hd]);
    let v = b.reshape(vf!, [0, 0, KVH, 1, hd]);
    if (cfg.qkNorm) {
      q = norm(`${p}.qNorm`, q);
      k = norm(`${p}.kNorm`, k);
    }
    if (fusedRope) {
      q = rotate(q, H, rep, sliding);
      k = rotate(k, KVH, 1, sliding);
    }
    q = b.transpose(q, [0, 2, 3, 1, 4]); // [B, KVH, rep, T, hd]
    k = b.transpose(k, [0, 2, 3, 1, 4]); // [B, KVH, 1, T, hd]
    v = b.transpose(v, [0, 2, 3, 1, 4]);
    if (!fusedRope) {
      const r = ropeFor(sliding ? ropeLocal! : ropeFull!);
      q = applyRope(b, q, r.cos, r.sin, hd);
      k = applyRope(b, k, r.cos, r.sin, hd);
    }
    const past = inp.past?.[i];
    if (past) {
      k = b.concat([b.unsqueeze(past.k, [2]), k], 3);
      v = b.concat([b.unsqueeze(past.v, [2]), v], 3);
    }
    if (opts.kv) out.present[i] = { k: b.squeeze(k, [2]), v: b.squeeze(v, [2]) };
    let scores = b.mulScalar(b.matmul(q, b.transposeLast2(k)), cfg.attnScale); // [B, KVH, rep, T, S]
    if (cfg.attnSoftcap) scores = b.softcap(scores, cfg.attnSoftcap);
    const allowed = attentionMask(b, inp.mask, qLen, sliding ? cfg.slidingWindow : undefined, masks);
    scores = b.where(allowed, scores, b.scalar(NEG));
    const probs = b.softmax(scores, -1);
    let attn = b.matmul(probs, v); // [B, KVH, rep, T, hd]
    attn = b.reshape(b.transpose(attn, [0, 3, 1, 2, 4]), [0, 0, H * hd]);
    attn = proj(p, ['o'], attn)[0]!;
    if (cfg.sandwichNorms) attn = norm(`${p}.postAttnNorm`, attn);
    x = b.add(x, attn);

    // --- MLP ---
    const m = norm(cfg.sandwichNorms ? `${p}.preFfnNorm` : `${p}.postAttnNorm`, x);
    const [gate, up] = proj(p, ['gate', 'up'], m);
    const act = cfg.activation === 'silu' ? b.silu(gate!) : b.geluTanh(gate!);
    let mlp = proj(p, ['down'], b.mul(act, up!))[0]!;
    mlp = hookDownProj(b, i, mlp, opts.steer);
    if (cfg.sandwichNorms) mlp = norm(`${p}.postFfnNorm`, mlp);
    x = b.add(x, mlp);

    if (opts.cutAfter === i) {
      out.cut = x;
      return out;
    }
    x = hookBlockOutput(b, i, x, opts.steer);
  }
  const final = norm('finalNorm', x);
  if (opts.hidden) out.hidden[cfg.numLayers] = final;
  out.final = final;
  return out;
}

/** logits [M, vocab] for final hidden rows [M, d], with Gemma2's final soft-capping. */
export function logitsOf(b: Builder, model: LoadedModel, rows: Value): Value {
  let z = model.head(b, rows);
  if (model.config.finalSoftcap) z = b.softcap(z, model.config.finalSoftcap);
  return z;
}

/** Rows of [B, T, d] at flat positions `index` (b·T + t), int64 [M] → [M, d]. */
export function gatherRows(b: Builder, h: Value, index: Value, d: number): Value {
  return b.gather(b.reshape(h, [-1, d]), index, 0);
}
