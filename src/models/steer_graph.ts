// Assembles the graphs steering needs from the decoder and loss heads: steered and unsteered passes that share
// the blocks below the hook, CE on a training batch, KL(p_chat ‖ p_steered) on a KL batch (or the same one),
// total = CE + λ·KL, and gradients w.r.t. the raw vector v (the graph applies α·v).
//
// Inputs (names are the session's feed names):
//   v [d] float32, alpha [] float32, lambda [] float32
//   ids, mask [B, T] int64                — CE batch (or `hidden` [B, T, d] = cached hidden_states[L+1])
//   ce_index, ce_target [M] int64         — label rows (see losses.labelRows)
//   ce_weight [M] float32                 — with ceWeighted: 1 for real label rows, 0 for padding
//   kl_ids, kl_mask [B2, T2], kl_index    — KL batch when kl = 'separate' (kl_hidden when cached)
//   kl_index alone when kl = 'same'

import { grad } from '../engine/autodiff';
import { Builder } from '../engine/builder';
import { Graph, type Value } from '../engine/ir';
import { buildDecoder, gatherRows, logitsOf, type LoraFactor } from './decoder';
import { cachedBlocks, type HookPoint } from './hooks';
import { CHAT_STATS_NAMES, chatHeadStats, chatStatsInputs, crossEntropy, defaultKlPrecision, headChunks, klDivergence, klFromChatStats, type HeadResult } from './losses';
import type { LoadedModel } from './model';

export interface SteerGraphSpec {
  layer: number;
  /** where in block `layer` the vector is added (hooks.ts); default 'resid_post' */
  hook?: HookPoint;
  ce?: boolean;
  kl?: 'same' | 'separate';
  /** gradients to output, w.r.t. v: grad_ce, grad_kl, grad_total */
  grads?: ('ce' | 'kl' | 'total')[];
  /** full logits [B, T, V] of the CE batch: logits_steered, logits_chat */
  logits?: ('steered' | 'chat')[];
  /** steered logits [M, V] at the label rows only (ce_index): what the CE sees, without the full [B, T, V] */
  labelLogits?: boolean;
  /** unsteered hidden states hidden_0..hidden_N of the CE batch */
  hidden?: boolean;
  /** start the batches from the cached output of block cachedBlocks(L, hook) instead of token ids */
  fromCache?: boolean;
  /** LoRA factors to add (graph inputs lora.<key>.A / .B), for gradient tests and future adapters */
  lora?: { keys: string[]; rank: number; scale: number };
  /** float type of the KL head; default float64 where the backend has it (Node's wasm: exact to ~1e-7 relative), else float32 */
  klPrecision?: 'float32' | 'float64';
  /** extra gradients w.r.t. the LoRA factors: grad_lora.<key>.A / .B (of `total` if present, else ce) */
  loraGrads?: boolean;
  /**
   * upper bounds on the CE label rows and KL rows a run will see (e.g. batch × max length): the heads are then
   * computed in chunks so their memory stays under losses.HEAD_CHUNK_BYTES whatever the vocabulary
   */
  ceRows?: number;
  klRows?: number;
  /** take ce_weight [M] (1 real, 0 padding) so label rows can be padded to a fixed count (graph capture) */
  ceWeighted?: boolean;
  /** force the number of head chunks (tests); default from ceRows / klRows */
  ceChunks?: number;
  klChunks?: number;
  /** with fromCache and kl 'same': take the unsteered final hidden states as input `chat_final` instead of recomputing them */
  chatFinal?: boolean;
  /**
   * with fromCache and kl 'same': take the unsteered model's per-row statistics chat_n, chat_ebar [M2, d],
   * chat_lse and chat_r [M2] (buildPrefixGraph's chatStats, rows in kl_index order) and run one head (losses.klFromChatStats)
   */
  chatStats?: boolean;
}

export interface SteerGraph {
  graph: Graph;
  outputs: Record<string, Value>;
}

export function buildSteerGraph(model: LoadedModel, spec: SteerGraphSpec): SteerGraph {
  const cfg = model.config;
  const d = cfg.hiddenSize;
  const L = spec.layer;
  if (!Number.isInteger(L) || L < 0 || L >= cfg.numLayers) throw new Error(`steering layer ${L} is outside 0..${cfg.numLayers - 1}`);
  const g = new Graph('steer');
  const b = new Builder(g, 'float32');
  const outputs: Record<string, Value> = {};
  const out = (name: string, v: Value) => {
    // graph outputs must be produced by a node
    const val = g.inputs.some((i) => i.value === v) ? b.identity(v) : v;
    outputs[name] = g.output(val, name);
  };

  const v = g.input('v', 'float32', [d]);
  const alpha = g.input('alpha', 'float32', []);
  const steer = { layer: L, vector: b.mul(alpha, v), point: spec.hook };
  const cutAt = cachedBlocks(L, spec.hook);

  const lora = new Map<string, LoraFactor>();
  for (const key of spec.lora?.keys ?? []) {
    const ref = model.linears.get(key);
    if (!ref) throw new Error(`no linear layer ${key} for LoRA`);
    const r = spec.lora!.rank;
    lora.set(key, { A: g.input(`lora.${key}.A`, 'float32', [ref.K, r]), B: g.input(`lora.${key}.B`, 'float32', [r, ref.N]), scale: spec.lora!.scale });
  }

  /** steered and (on request) unsteered final hidden states of one batch, sharing blocks 0..L */
  const passes = (prefix: string, wantChat: boolean, chatInput = false) => {
    // each batch gets its own dim names: ORT plans memory assuming equal dim_params are equal sizes
    const [B, T] = [`${prefix}B`, `${prefix}T`];
    const mask = g.input(`${prefix}mask`, 'int64', [B, T]);
    let cut: Value;
    let ids: Value | undefined;
    if (spec.fromCache) cut = g.input(`${prefix}hidden`, 'float32', [B, T, d]);
    else {
      ids = g.input(`${prefix}ids`, 'int64', [B, T]);
      cut = buildDecoder(b, model, { ids, mask }, { cutAfter: cutAt, lora }).cut!;
    }
    const steered = buildDecoder(b, model, { ids, mask }, { from: { layer: cutAt, hidden: cut }, steer, lora }).final!;
    const chat = chatInput
      ? g.input(`${prefix}chat_final`, 'float32', [B, T, d])
      : wantChat
        ? buildDecoder(b, model, { ids, mask }, { from: { layer: cutAt, hidden: cut }, lora }).final!
        : undefined;
    return { steered, chat, mask, cut };
  };

  if ((spec.chatFinal || spec.chatStats) && !(spec.fromCache && spec.kl === 'same')) throw new Error('chatFinal and chatStats need fromCache and kl: same');
  const needChatOnCe = (spec.kl === 'same' && !spec.chatStats) || !!spec.logits?.includes('chat');
  const main = passes('', needChatOnCe, !!spec.chatFinal);
  const wantGrad = !!spec.grads?.length || !!spec.loraGrads;
  const V = cfg.vocabSize;
  let ce: HeadResult | undefined;
  let kl: HeadResult | undefined;
  if (spec.ce !== false) {
    const idx = g.input('ce_index', 'int64', ['M']);
    const tgt = g.input('ce_target', 'int64', ['M']);
    const rowWeight = spec.ceWeighted ? g.input('ce_weight', 'float32', ['M']) : undefined;
    ce = crossEntropy(b, model, main.steered, idx, tgt, { chunks: spec.ceChunks ?? headChunks(spec.ceRows, V), grad: wantGrad, rowWeight });
    out('ce', ce.loss);
    if (spec.labelLogits) out('logits_labels', logitsOf(b, model, gatherRows(b, main.steered, idx, d)));
  }
  if (spec.kl) {
    const batch = spec.kl === 'same' ? main : passes('kl_', true);
    const idx = g.input('kl_index', 'int64', ['M2']);
    const precision = spec.klPrecision ?? defaultKlPrecision(model);
    if (spec.chatStats) {
      if (wantGrad) throw new Error('chatStats KL is for evaluation: it has no gradient');
      if (precision !== 'float32') throw new Error('chatStats KL is a float32 head');
      kl = klFromChatStats(b, model, batch.steered, idx, chatStatsInputs(b, d), { chunks: spec.klChunks ?? headChunks(spec.klRows, V, 2) });
    } else kl = klDivergence(b, model, batch.chat!, batch.steered, idx, precision, { chunks: spec.klChunks ?? headChunks(spec.klRows, V, 6, precision === 'float64' ? 8 : 4), grad: wantGrad });
    out('kl', kl.loss);
  }
  let total: { loss: Value; surrogate?: Value } | undefined;
  if (ce && kl) {
    const lambda = g.input('lambda', 'float32', []);
    total = { loss: b.add(ce.loss, b.mul(lambda, kl.loss)), surrogate: wantGrad ? b.add(ce.surrogate!, b.mul(lambda, kl.surrogate!)) : undefined };
    out('total', total.loss);
  } else total = ce ?? kl;

  // gradients: one backward pass through the body per requested loss, seeded by the heads' chunked gradients
  const wrtLora = spec.loraGrads ? [...lora.entries()].flatMap(([k, f]) => [{ name: `grad_lora.${k}.A`, v: f.A }, { name: `grad_lora.${k}.B`, v: f.B }]) : [];
  for (const which of spec.grads ?? []) {
    const loss = which === 'ce' ? ce : which === 'kl' ? kl : total;
    if (!loss) throw new Error(`grad_${which} requested but the graph computes no ${which}`);
    const [gv] = grad(b, loss.surrogate!, [v]);
    out(`grad_${which}`, gv!);
  }
  if (wrtLora.length) {
    const gs = grad(b, total!.surrogate!, wrtLora.map((w) => w.v));
    wrtLora.forEach((w, i) => out(w.name, gs[i]!));
  }

  const fullLogits = (h: Value) => {
    const rows = b.reshape(h, [-1, d]);
    const z = logitsOf(b, model, rows);
    return b.reshape(z, b.concat([b.slice(b.shapeOf(h), [0], [2], [0]), b.ints([cfg.vocabSize])], 0), ['B', 'T', cfg.vocabSize]);
  };
  if (spec.logits?.includes('steered')) out('logits_steered', fullLogits(main.steered));
  if (spec.logits?.includes('chat')) out('logits_chat', fullLogits(main.chat!));
  if (spec.hidden) {
    if (spec.fromCache) throw new Error('hidden states need the full pass, not a cached one');
    const full = buildDecoder(b, model, { ids: g.inputNamed('ids')!.value, mask: main.mask }, { hidden: true, lora });
    full.hidden.forEach((h, i) => out(`hidden_${i}`, h));
  }
  return { graph: g, outputs };
}

/**
 * The prefix graph that produces the unsteered activations below the hook for caching (hidden_states[L+1] for
 * resid_post, hidden_states[L] for down_proj): inputs ids, mask; output `hidden` (and `chat_final`, the unsteered
 * final hidden states, on request).
 */
export function buildPrefixGraph(model: LoadedModel, layer: number, hook?: HookPoint, opts: { chatFinal?: boolean; chatStats?: boolean; klRows?: number; klChunks?: number } = {}): SteerGraph {
  const g = new Graph('prefix');
  const b = new Builder(g, 'float32');
  const ids = g.input('ids', 'int64', ['B', 'T']);
  const mask = g.input('mask', 'int64', ['B', 'T']);
  const cutAt = cachedBlocks(layer, hook);
  const cut = buildDecoder(b, model, { ids, mask }, { cutAfter: cutAt }).cut!;
  const outputs: Record<string, Value> = { hidden: g.output(cut, 'hidden') };
  // the unsteered final hidden states too: what KL evaluations compare against, constant per row
  if (opts.chatFinal || opts.chatStats) {
    const final = buildDecoder(b, model, { ids, mask }, { from: { layer: cutAt, hidden: cut } }).final!;
    if (opts.chatFinal) outputs.chat_final = g.output(final, 'chat_final');
    if (opts.chatStats) {
      // per KL row: what klFromChatStats needs of the unsteered model (input kl_index [M2], the rows it scores)
      const st = chatHeadStats(b, model, final, g.input('kl_index', 'int64', ['M2']), { chunks: opts.klChunks ?? headChunks(opts.klRows, model.config.vocabSize, 3) });
      for (const [k, name] of Object.entries(CHAT_STATS_NAMES)) outputs[name] = g.output(st[k as keyof typeof st], name);
    }
  }
  return { graph: g, outputs };
}
