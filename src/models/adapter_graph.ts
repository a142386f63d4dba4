// Graphs for LoRA adapters (the paper's other half): the model with rank-r factors on chosen linear layers,
// y = W·x + scale·B·(A·x), against the same model with the adapters disabled (p_chat). Factors are graph inputs
// in PEFT's layout, so the flat parameter vector θ and the exported file hold the same numbers:
//   lora.<key>.A [r, in], lora.<key>.B [out, r]            (key = 'layers.<i>.<q|k|v|o|gate|up|down>')
// Losses follow steer_graph.ts: ce over label rows (ce_index/ce_target), kl = mean over kl_index rows of
// KL(p_chat ‖ p_lora) on the same batch, total = ce + λ·kl; gradients w.r.t. every factor are outputs
// grad_<ce|kl|total>/lora.<key>.A and .B.
//
// Blocks below the first adapted layer F do not depend on θ: both passes share them, and with `fromCache` the
// graph starts from hidden_states[F] (the output of block F−1, fed as `hidden`), which buildPrefixGraph(F−1)
// makes. With an adapter on block 0 there is nothing to cache.

import { grad } from '../engine/autodiff';
import { Builder } from '../engine/builder';
import { Graph, type Value } from '../engine/ir';
import { buildDecoder, logitsOf, type LoraFactor } from './decoder';
import { chatStatsInputs, crossEntropy, defaultKlPrecision, headChunks, klDivergence, klFromChatStats, type HeadResult } from './losses';
import type { LoadedModel } from './model';
import { buildPrefixGraph, type SteerGraph } from './steer_graph';

export interface LoraSpec {
  /** linear-layer keys, e.g. 'layers.3.down' */
  keys: string[];
  rank: number;
  /** the multiplier of B·A (PEFT: lora_alpha / r) */
  scale: number;
}

export interface AdapterGraphSpec {
  lora: LoraSpec;
  ce?: boolean;
  kl?: boolean;
  grads?: ('ce' | 'kl' | 'total')[];
  /** start from cached hidden_states[firstAdaptedLayer] (input `hidden`) instead of token ids */
  fromCache?: boolean;
  klPrecision?: 'float32' | 'float64';
  /** full logits [B, T, V]: logits_lora, logits_chat */
  logits?: ('lora' | 'chat')[];
  /** bounds on the CE / KL rows, so the heads chunk their vocabulary-sized tensors (losses.headChunks) */
  ceRows?: number;
  /** take ce_weight [M] (1 real, 0 padding): label rows padded to a fixed count (graph capture) */
  ceWeighted?: boolean;
  klRows?: number;
  /**
   * with fromCache and kl: take the unadapted model's per-row statistics (chat_n, chat_ebar, chat_lse, chat_r from
   * buildAdapterPrefixGraph's chatStats) and run one head (losses.klFromChatStats); float32, no gradient
   */
  chatStats?: boolean;
}

export function loraLayerOf(key: string): number {
  const m = /^layers\.(\d+)\.(q|k|v|o|gate|up|down)$/.exec(key);
  if (!m) throw new Error(`LoRA key "${key}" is not layers.<i>.<q|k|v|o|gate|up|down>`);
  return Number(m[1]);
}

/** The lowest adapted block: everything below it is the same with and without the adapter. */
export function firstAdaptedLayer(keys: string[]): number {
  if (!keys.length) throw new Error('the adapter has no modules');
  return Math.min(...keys.map(loraLayerOf));
}

export function buildAdapterGraph(model: LoadedModel, spec: AdapterGraphSpec): SteerGraph {
  const cfg = model.config;
  const d = cfg.hiddenSize;
  const { keys, rank: r, scale } = spec.lora;
  if (!Number.isInteger(r) || r < 1) throw new Error(`LoRA rank must be a positive integer, got ${r}`);
  const F = firstAdaptedLayer(keys);
  if (F >= cfg.numLayers) throw new Error(`LoRA layer ${F} is outside 0..${cfg.numLayers - 1}`);
  if (spec.fromCache && F === 0) throw new Error('an adapter on block 0 has no unadapted prefix to cache');
  const g = new Graph('adapter');
  const b = new Builder(g, 'float32');
  const outputs: Record<string, Value> = {};
  const out = (name: string, v: Value) => {
    const val = g.inputs.some((i) => i.value === v) ? b.identity(v) : v;
    outputs[name] = g.output(val, name);
  };

  const inputs: { name: string; v: Value }[] = [];
  const lora = new Map<string, LoraFactor>();
  for (const key of keys) {
    const ref = model.linears.get(key);
    if (!ref) throw new Error(`no linear layer ${key} for LoRA`);
    const A = g.input(`lora.${key}.A`, 'float32', [r, ref.K]);
    const B = g.input(`lora.${key}.B`, 'float32', [ref.N, r]);
    inputs.push({ name: `lora.${key}.A`, v: A }, { name: `lora.${key}.B`, v: B });
    // the decoder computes (x·A')·B' with A' [in, r], B' [r, out]
    lora.set(key, { A: b.transpose(A, [1, 0]), B: b.transpose(B, [1, 0]), scale });
  }

  const mask = g.input('mask', 'int64', ['B', 'T']);
  let ids: Value | undefined;
  let start: { layer: number; hidden: Value } | undefined;
  if (spec.fromCache) start = { layer: F - 1, hidden: g.input('hidden', 'float32', ['B', 'T', d]) };
  else {
    ids = g.input('ids', 'int64', ['B', 'T']);
    if (F > 0) start = { layer: F - 1, hidden: buildDecoder(b, model, { ids, mask }, { cutAfter: F - 1 }).cut! };
  }
  const pass = (withLora: boolean) => buildDecoder(b, model, { ids, mask }, { ...(start ? { from: start } : {}), ...(withLora ? { lora } : {}) }).final!;
  const adapted = pass(true);
  if (spec.chatStats && !(spec.fromCache && spec.kl)) throw new Error('chatStats needs fromCache and kl');
  const wantChat = (!!spec.kl && !spec.chatStats) || !!spec.logits?.includes('chat');
  const chat = wantChat ? pass(false) : undefined;

  // the heads hand their chunked gradients to one backward pass through the body (losses.ts surrogate)
  const wantGrad = !!spec.grads?.length;
  const V = cfg.vocabSize;
  let ce: HeadResult | undefined;
  let kl: HeadResult | undefined;
  if (spec.ce !== false) {
    const idx = g.input('ce_index', 'int64', ['M']);
    const tgt = g.input('ce_target', 'int64', ['M']);
    const rowWeight = spec.ceWeighted ? g.input('ce_weight', 'float32', ['M']) : undefined;
    ce = crossEntropy(b, model, adapted, idx, tgt, { chunks: headChunks(spec.ceRows, V), grad: wantGrad, rowWeight });
    out('ce', ce.loss);
  }
  if (spec.kl) {
    const idx = g.input('kl_index', 'int64', ['M2']);
    const precision = spec.klPrecision ?? defaultKlPrecision(model);
    if (spec.chatStats) {
      if (wantGrad || precision !== 'float32') throw new Error('chatStats KL is a float32 evaluation head: no gradient');
      kl = klFromChatStats(b, model, adapted, idx, chatStatsInputs(b, d), { chunks: headChunks(spec.klRows, V, 2) });
    } else kl = klDivergence(b, model, chat!, adapted, idx, precision, { chunks: headChunks(spec.klRows, V, 6, precision === 'float64' ? 8 : 4), grad: wantGrad });
    out('kl', kl.loss);
  }
  let total: HeadResult | undefined;
  if (ce && kl) {
    const lambda = g.input('lambda', 'float32', []);
    total = { loss: b.add(ce.loss, b.mul(lambda, kl.loss)), surrogate: wantGrad ? b.add(ce.surrogate!, b.mul(lambda, kl.surrogate!)) : undefined };
    out('total', total.loss);
  } else total = ce ?? kl;

  for (const which of spec.grads ?? []) {
    const loss = which === 'ce' ? ce : which === 'kl' ? kl : total;
    if (!loss) throw new Error(`grad_${which} requested but the graph computes no ${which}`);
    const gs = grad(b, loss.surrogate!, inputs.map((i) => i.v));
    inputs.forEach((i, j) => out(`grad_${which}/${i.name}`, gs[j]!));
  }

  const fullLogits = (h: Value) => {
    const z = logitsOf(b, model, b.reshape(h, [-1, d]));
    return b.reshape(z, b.concat([b.slice(b.shapeOf(h), [0], [2], [0]), b.ints([cfg.vocabSize])], 0), ['B', 'T', cfg.vocabSize]);
  };
  if (spec.logits?.includes('lora')) out('logits_lora', fullLogits(adapted));
  if (spec.logits?.includes('chat')) out('logits_chat', fullLogits(chat!));
  return { graph: g, outputs };
}

/**
 * The θ-independent prefix for caching: hidden_states[F] (output of block F−1, F = first adapted layer), and with
 * `chatStats` the unadapted model's KL statistics per kl_index row (the rest of the model run without the adapter).
 */
export function buildAdapterPrefixGraph(model: LoadedModel, lora: LoraSpec, opts: { chatStats?: boolean; klRows?: number } = {}): SteerGraph {
  const F = firstAdaptedLayer(lora.keys);
  if (F === 0) throw new Error('an adapter on block 0 has no unadapted prefix to cache');
  return buildPrefixGraph(model, F - 1, undefined, opts);
}
