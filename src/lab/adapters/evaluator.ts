// Loss and KL of fixed rows under any adapter parameters θ, for the sweeps. Blocks below the first adapted layer
// do not depend on θ, so each batch's prefix runs once and is cached where it was made (on the GPU under WebGPU);
// an adapter on block 0 has no such prefix, and then every evaluation runs the whole model. For KL in float32 the
// unadapted model's head is reduced to per-row statistics in the same prefix run (losses.chatHeadStats), so a point
// runs the adapted blocks and one head. The same `loss(θ)` / `kl(θ)` shape as the vector evaluators, so sweeps.ts
// runs unchanged on adapters.

import type { TensorData } from '../../engine/ir';
import { CompiledGraph, disposeIfGpu, type Feed } from '../../engine/runtime/session';
import type { LoadedModel } from '../../models/model';
import { buildAdapterGraph, buildAdapterPrefixGraph, firstAdaptedLayer } from '../../models/adapter_graph';
import { CHAT_STATS_NAMES, chatStatsApply, defaultKlPrecision } from '../../models/losses';
import { collate, maxBatchRows, type Batch } from '../data/batch';
import type { TokenizedRow } from '../data/tokenize';
import { batchFeeds, klIndexFeed, labelCount } from '../feeds';
import { loraFeeds, loraLayout, loraSpec, type AdapterShape } from './lora';

interface PreparedBatch {
  batch: Batch;
  feeds: Record<string, TensorData>;
  /** the prefix's outputs (hidden, and the chat statistics for KL), GPU tensors under WebGPU */
  cached: Record<string, Feed>;
  weight: number;
}

class AdapterEvaluator {
  protected batches: PreparedBatch[] = [];
  readonly size: number;
  protected constructor(
    readonly model: LoadedModel,
    readonly shape: AdapterShape,
    protected readonly graph: CompiledGraph,
  ) {
    this.size = loraLayout(model.config, shape).size;
  }

  protected prefix: CompiledGraph | undefined;

  protected static cached(shape: AdapterShape): boolean {
    return firstAdaptedLayer(shape.keys) > 0;
  }

  /** the KL head runs from the unadapted model's statistics: float32, a linear head and a cacheable prefix */
  protected static statsKl(model: LoadedModel, shape: AdapterShape, precision: 'float32' | 'float64'): boolean {
    return chatStatsApply(model, precision) && AdapterEvaluator.cached(shape);
  }

  protected static async prepare(model: LoadedModel, shape: AdapterShape, rows: TokenizedRow[], padId: number, batchSize: number, kind: 'ce' | 'kl', signal?: AbortSignal, chatStats = false): Promise<{ batches: PreparedBatch[]; prefix?: CompiledGraph }> {
    if (!rows.length) throw new Error('no rows to evaluate');
    const cached = AdapterEvaluator.cached(shape);
    const outNames = chatStats ? ['hidden', ...Object.values(CHAT_STATS_NAMES)] : ['hidden'];
    const prefix = cached ? await CompiledGraph.create(model.store.backend, buildAdapterPrefixGraph(model, loraSpec(shape), { chatStats, klRows: maxBatchRows(rows, batchSize) }).graph, model.store, { gpuOutputs: outNames }) : undefined;
    const out: PreparedBatch[] = [];
    try {
      for (let i = 0; i < rows.length; i += batchSize) {
        if (signal?.aborted) throw new DOMException('cancelled', 'AbortError');
        const batch = collate(rows.slice(i, i + batchSize), padId);
        const f = batchFeeds(batch, '', kind === 'ce');
        if (kind === 'kl') f.kl_index = klIndexFeed(batch);
        let c: Record<string, Feed> = {};
        if (prefix) {
          c = await prefix.runRaw({ ids: f.ids!, mask: f.mask!, ...(chatStats ? { kl_index: f.kl_index! } : {}) }, outNames);
          delete f.ids;
        }
        out.push({ batch, feeds: f, cached: c, weight: kind === 'ce' ? labelCount(batch) : batch.attentionMask.reduce((a, b) => a + b, 0) });
      }
    } catch (e) {
      for (const b of out) Object.values(b.cached).forEach(disposeIfGpu);
      await prefix?.release();
      throw e;
    }
    // GPU outputs belong to the session that made them: it is released after them (release())
    return { batches: out, prefix };
  }

  protected async evaluate(theta: Float32Array, output: 'ce' | 'kl'): Promise<number> {
    if (theta.length !== this.size) throw new Error(`adapter has ${theta.length} parameters, its shape needs ${this.size}`);
    const lora = loraFeeds(this.model.config, this.shape, theta);
    let s = 0;
    let w = 0;
    for (const b of this.batches) {
      const out = await this.graph.run({ ...b.feeds, ...b.cached, ...lora });
      s += (out[output]!.data[0] as number) * b.weight;
      w += b.weight;
    }
    return s / w;
  }

  async release(): Promise<void> {
    for (const b of this.batches) Object.values(b.cached).forEach(disposeIfGpu);
    this.batches = [];
    await this.prefix?.release();
    this.prefix = undefined;
    await this.graph.release();
  }
}

/** Mean SFT loss (CE over label tokens) of fixed rows for adapter parameters θ. */
export class AdapterLossEvaluator extends AdapterEvaluator {
  static async create(model: LoadedModel, shape: AdapterShape, rows: TokenizedRow[], padId: number, opts: { batchSize?: number; signal?: AbortSignal } = {}): Promise<AdapterLossEvaluator> {
    const g = buildAdapterGraph(model, { lora: loraSpec(shape), ce: true, fromCache: AdapterEvaluator.cached(shape) });
    const e = new AdapterLossEvaluator(model, shape, await CompiledGraph.create(model.store.backend, g.graph, model.store));
    ({ batches: e.batches, prefix: e.prefix } = await AdapterEvaluator.prepare(model, shape, rows, padId, opts.batchSize ?? 8, 'ce', opts.signal));
    return e;
  }

  loss(theta: Float32Array): Promise<number> {
    return this.evaluate(theta, 'ce');
  }
}

/** Mean per-token KL(p_chat ‖ p_adapted) over the real tokens of fixed rows, p_chat = adapter disabled. */
export class AdapterKlEvaluator extends AdapterEvaluator {
  static async create(model: LoadedModel, shape: AdapterShape, rows: TokenizedRow[], padId: number, opts: { batchSize?: number; signal?: AbortSignal; precision?: 'float32' | 'float64' } = {}): Promise<AdapterKlEvaluator> {
    const precision = opts.precision ?? defaultKlPrecision(model);
    const stats = AdapterEvaluator.statsKl(model, shape, precision);
    const bs = opts.batchSize ?? 4;
    const g = buildAdapterGraph(model, { lora: loraSpec(shape), ce: false, kl: true, fromCache: AdapterEvaluator.cached(shape), klPrecision: precision, chatStats: stats, klRows: maxBatchRows(rows, bs) });
    const e = new AdapterKlEvaluator(model, shape, await CompiledGraph.create(model.store.backend, g.graph, model.store));
    ({ batches: e.batches, prefix: e.prefix } = await AdapterEvaluator.prepare(model, shape, rows, padId, bs, 'kl', opts.signal, stats));
    return e;
  }

  kl(theta: Float32Array): Promise<number> {
    return this.evaluate(theta, 'kl');
  }
}
