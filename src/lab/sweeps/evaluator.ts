// Loss and KL of a fixed set of rows under any steering vector, fast enough to sweep: the activations below
// the hook (hidden_states[L+1] for blocks.L.hook_resid_post; see models/hooks.ts cachedBlocks) do not depend on
// the vector, so each batch's prefix runs once and every evaluation afterwards runs only the blocks from the
// hook on and the head. The cached activations stay where the prefix left them (on the GPU under WebGPU: no
// read-back, no re-upload per point), and for KL what the unsteered model contributes is cached too (its final
// hidden states, or in float32 its head's per-row statistics), so a point runs only the steered blocks and head.

import type { TensorData } from '../../engine/ir';
import { CompiledGraph, disposeIfGpu, type Feed } from '../../engine/runtime/session';
import type { LoadedModel } from '../../models/model';
import type { HookPoint } from '../../models/hooks';
import { buildPrefixGraph, buildSteerGraph } from '../../models/steer_graph';
import { CHAT_STATS_NAMES, chatStatsApply, defaultKlPrecision } from '../../models/losses';
import { collate, maxBatchRows, type Batch } from '../data/batch';
import type { TokenizedRow } from '../data/tokenize';
import { batchFeeds, f32, klIndexFeed, labelCount, scalar } from '../feeds';

interface CachedBatch {
  batch: Batch;
  /** cached inputs of the per-point graph: hidden (and chat_final for KL), GPU tensors under WebGPU */
  cached: Record<string, Feed>;
  feeds: Record<string, TensorData>;
  weight: number;
}


/** Token-weighted mean over batches of a per-batch mean. */
function weightedMean(parts: { value: number; weight: number }[]): number {
  let s = 0;
  let w = 0;
  for (const p of parts) {
    s += p.value * p.weight;
    w += p.weight;
  }
  return s / w;
}

abstract class CachedEvaluator {
  protected batches: CachedBatch[] = [];
  protected prefix: CompiledGraph | undefined;
  protected constructor(
    readonly model: LoadedModel,
    readonly layer: number,
    protected readonly graph: CompiledGraph,
  ) {}

  /**
   * `cache`: what each batch keeps besides the activations at the hook — nothing (loss), the unsteered final
   * hidden states (KL, two heads per point) or the unsteered head's per-row statistics (KL, one head per point)
   */
  protected static async prefixes(model: LoadedModel, layer: number, rows: TokenizedRow[], padId: number, batchSize: number, cache: 'labels' | 'chatFinal' | 'chatStats', signal?: AbortSignal, hook?: HookPoint, klChunks?: number) {
    if (!rows.length) throw new Error('no rows to evaluate');
    const withLabels = cache === 'labels';
    const outNames = { labels: ['hidden'], chatFinal: ['hidden', 'chat_final'], chatStats: ['hidden', ...Object.values(CHAT_STATS_NAMES)] }[cache];
    const g = buildPrefixGraph(model, layer, hook, { chatFinal: cache === 'chatFinal', chatStats: cache === 'chatStats', klRows: maxBatchRows(rows, batchSize), klChunks }).graph;
    const prefix = await CompiledGraph.create(model.store.backend, g, model.store, { gpuOutputs: outNames });
    const out: CachedBatch[] = [];
    try {
      for (let i = 0; i < rows.length; i += batchSize) {
        if (signal?.aborted) throw new DOMException('cancelled', 'AbortError');
        const batch = collate(rows.slice(i, i + batchSize), padId);
        const f = batchFeeds(batch, '', withLabels);
        const cached = await prefix.runRaw({ ids: f.ids!, mask: f.mask!, ...(cache === 'chatStats' ? { kl_index: klIndexFeed(batch) } : {}) }, outNames);
        const { ids: _ids, ...rest } = f;
        void _ids;
        out.push({ batch, cached, feeds: rest, weight: withLabels ? labelCount(batch) : batch.attentionMask.reduce((a, b) => a + b, 0) });
      }
    } catch (e) {
      for (const b of out) Object.values(b.cached).forEach(disposeIfGpu);
      await prefix.release();
      throw e;
    }
    // GPU outputs belong to the session that made them: it is released after them (release())
    return { batches: out, prefix };
  }

  protected async evaluate(effective: Float32Array, output: string, extra: (b: CachedBatch) => Record<string, TensorData>): Promise<number> {
    const d = this.model.config.hiddenSize;
    if (effective.length !== d) throw new Error(`vector has ${effective.length} dimensions, the model has ${d}`);
    const parts: { value: number; weight: number }[] = [];
    for (const b of this.batches) {
      const out = await this.graph.run({ ...b.feeds, ...extra(b), ...b.cached, v: f32([d], effective), alpha: scalar(1) });
      parts.push({ value: out[output]!.data[0] as number, weight: b.weight });
    }
    return weightedMean(parts);
  }

  async release(): Promise<void> {
    for (const b of this.batches) Object.values(b.cached).forEach(disposeIfGpu);
    this.batches = [];
    await this.prefix?.release();
    this.prefix = undefined;
    await this.graph.release();
  }
}

/** Mean SFT loss (CE over label tokens) of fixed rows as a function of the EFFECTIVE vector α·v. */
export class LossEvaluator extends CachedEvaluator {
  static async create(model: LoadedModel, layer: number, rows: TokenizedRow[], padId: number, opts: { batchSize?: number; signal?: AbortSignal; hook?: HookPoint } = {}): Promise<LossEvaluator> {
    const bs = opts.batchSize ?? 8;
    const g = buildSteerGraph(model, { layer, hook: opts.hook, ce: true, fromCache: true, ceRows: maxBatchRows(rows, bs) });
    const graph = await CompiledGraph.create(model.store.backend, g.graph, model.store);
    const e = new LossEvaluator(model, layer, graph);
    ({ batches: e.batches, prefix: e.prefix } = await CachedEvaluator.prefixes(model, layer, rows, padId, bs, 'labels', opts.signal, opts.hook));
    return e;
  }

  loss(effective: Float32Array): Promise<number> {
    return this.evaluate(effective, 'ce', () => ({}));
  }
}

/**
 * Mean per-token KL(p_chat ‖ p_steered) over the real tokens of fixed rows, for an EFFECTIVE vector. In float32
 * with a linear head (every model but Gemma2) a point runs one head: the unsteered one is reduced to per-row
 * statistics once (losses.chatHeadStats); in float64 (Node's wasm) or with Gemma2's soft-capped head, both heads.
 */
export class KlEvaluator extends CachedEvaluator {
  /** `precision`: the KL head's float type; default float64 where the backend has it (small KLs stay exact); `klChunks`: force the heads' chunk count (tests) */
  static async create(model: LoadedModel, layer: number, rows: TokenizedRow[], padId: number, opts: { batchSize?: number; signal?: AbortSignal; precision?: 'float32' | 'float64'; hook?: HookPoint; klChunks?: number } = {}): Promise<KlEvaluator> {
    const bs = opts.batchSize ?? 4;
    const precision = opts.precision ?? defaultKlPrecision(model);
    const stats = chatStatsApply(model, precision);
    const klRows = maxBatchRows(rows, bs);
    const g = buildSteerGraph(model, { layer, hook: opts.hook, ce: false, kl: 'same', fromCache: true, chatFinal: !stats, chatStats: stats, klPrecision: precision, klRows, klChunks: opts.klChunks });
    const graph = await CompiledGraph.create(model.store.backend, g.graph, model.store);
    const e = new KlEvaluator(model, layer, graph);
    ({ batches: e.batches, prefix: e.prefix } = await CachedEvaluator.prefixes(model, layer, rows, padId, bs, stats ? 'chatStats' : 'chatFinal', opts.signal, opts.hook, opts.klChunks));
    return e;
  }

  kl(effective: Float32Array): Promise<number> {
    return this.evaluate(effective, 'kl', (b) => ({ kl_index: klIndexFeed(b.batch) }));
  }
}
