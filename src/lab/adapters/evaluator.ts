// Loss and KL of fixed rows under any adapter parameters θ, for the sweeps. Blocks below the first adapted layer
// do not depend on θ, so each batch's prefix runs once and is cached (an adapter on block 0 has no such prefix;
// then every evaluation runs the whole model). The same `loss(θ)` / `kl(θ)` shape as the vector evaluators, so
// sweeps.ts runs unchanged on adapters.

import type { TensorData } from '../../engine/ir';
import { CompiledGraph } from '../../engine/runtime/session';
import type { LoadedModel } from '../../models/model';
import { buildAdapterGraph, buildAdapterPrefixGraph, firstAdaptedLayer } from '../../models/adapter_graph';
import { collate, type Batch } from '../data/batch';
import type { TokenizedRow } from '../data/tokenize';
import { batchFeeds, klIndexFeed, labelCount } from '../feeds';
import { loraFeeds, loraLayout, loraSpec, type AdapterShape } from './lora';

interface PreparedBatch {
  batch: Batch;
  feeds: Record<string, TensorData>;
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

  protected static cached(shape: AdapterShape): boolean {
    return firstAdaptedLayer(shape.keys) > 0;
  }

  protected static async prepare(model: LoadedModel, shape: AdapterShape, rows: TokenizedRow[], padId: number, batchSize: number, kind: 'ce' | 'kl', signal?: AbortSignal): Promise<PreparedBatch[]> {
    if (!rows.length) throw new Error('no rows to evaluate');
    const cached = AdapterEvaluator.cached(shape);
    const prefix = cached ? await CompiledGraph.create(model.store.backend, buildAdapterPrefixGraph(model, loraSpec(shape)).graph, model.store) : undefined;
    const out: PreparedBatch[] = [];
    try {
      for (let i = 0; i < rows.length; i += batchSize) {
        if (signal?.aborted) throw new DOMException('cancelled', 'AbortError');
        const batch = collate(rows.slice(i, i + batchSize), padId);
        const f = batchFeeds(batch, '', kind === 'ce');
        if (kind === 'kl') f.kl_index = klIndexFeed(batch);
        if (prefix) {
          const { hidden } = await prefix.run({ ids: f.ids!, mask: f.mask! });
          delete f.ids;
          f.hidden = hidden!;
        }
        out.push({ batch, feeds: f, weight: kind === 'ce' ? labelCount(batch) : batch.attentionMask.reduce((a, b) => a + b, 0) });
      }
    } finally {
      await prefix?.release();
    }
    return out;
  }

  protected async evaluate(theta: Float32Array, output: 'ce' | 'kl'): Promise<number> {
    if (theta.length !== this.size) throw new Error(`adapter has ${theta.length} parameters, its shape needs ${this.size}`);
    const lora = loraFeeds(this.model.config, this.shape, theta);
    let s = 0;
    let w = 0;
    for (const b of this.batches) {
      const out = await this.graph.run({ ...b.feeds, ...lora });
      s += (out[output]!.data[0] as number) * b.weight;
      w += b.weight;
    }
    return s / w;
  }

  async release(): Promise<void> {
    await this.graph.release();
  }
}

/** Mean SFT loss (CE over label tokens) of fixed rows for adapter parameters θ. */
export class AdapterLossEvaluator extends AdapterEvaluator {
  static async create(model: LoadedModel, shape: AdapterShape, rows: TokenizedRow[], padId: number, opts: { batchSize?: number; signal?: AbortSignal } = {}): Promise<AdapterLossEvaluator> {
    const g = buildAdapterGraph(model, { lora: loraSpec(shape), ce: true, fromCache: AdapterEvaluator.cached(shape) });
    const e = new AdapterLossEvaluator(model, shape, await CompiledGraph.create(model.store.backend, g.graph, model.store));
    e.batches = await AdapterEvaluator.prepare(model, shape, rows, padId, opts.batchSize ?? 8, 'ce', opts.signal);
    return e;
  }

  loss(theta: Float32Array): Promise<number> {
    return this.evaluate(theta, 'ce');
  }
}

/** Mean per-token KL(p_chat ‖ p_adapted) over the real tokens of fixed rows, p_chat = adapter disabled. */
export class AdapterKlEvaluator extends AdapterEvaluator {
  static async create(model: LoadedModel, shape: AdapterShape, rows: TokenizedRow[], padId: number, opts: { batchSize?: number; signal?: AbortSignal; precision?: 'float32' | 'float64' } = {}): Promise<AdapterKlEvaluator> {
    const g = buildAdapterGraph(model, { lora: loraSpec(shape), ce: false, kl: true, fromCache: AdapterEvaluator.cached(shape), klPrecision: opts.precision });
    const e = new AdapterKlEvaluator(model, shape, await CompiledGraph.create(model.store.backend, g.graph, model.store));
    e.batches = await AdapterEvaluator.prepare(model, shape, rows, padId, opts.batchSize ?? 4, 'kl', opts.signal);
    return e;
  }

  kl(theta: Float32Array): Promise<number> {
    return this.evaluate(theta, 'kl');
  }
}
