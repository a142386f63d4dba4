// Loss and KL of a fixed set of rows under any steering vector, fast enough to sweep: the activations below
// the hook (hidden_states[L+1] for blocks.L.hook_resid_post; see models/hooks.ts cachedBlocks) do not depend on
// the vector, so each batch's prefix runs once and every evaluation afterwards runs only the blocks from the
// hook on and the head.

import type { TensorData } from '../../engine/ir';
import { CompiledGraph } from '../../engine/runtime/session';
import type { LoadedModel } from '../../models/model';
import type { HookPoint } from '../../models/hooks';
import { buildPrefixGraph, buildSteerGraph } from '../../models/steer_graph';
import { collate, type Batch } from '../data/batch';
import type { TokenizedRow } from '../data/tokenize';
import { batchFeeds, f32, klIndexFeed, labelCount, scalar } from '../feeds';

interface CachedBatch {
  batch: Batch;
  hidden: TensorData;
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
  protected constructor(
    readonly model: LoadedModel,
    readonly layer: number,
    protected readonly graph: CompiledGraph,
  ) {}

  protected static async prefixes(model: LoadedModel, layer: number, rows: TokenizedRow[], padId: number, batchSize: number, withLabels: boolean, signal?: AbortSignal, hook?: HookPoint) {
    if (!rows.length) throw new Error('no rows to evaluate');
    const prefix = await CompiledGraph.create(model.store.backend, buildPrefixGraph(model, layer, hook).graph, model.store);
    const out: CachedBatch[] = [];
    for (let i = 0; i < rows.length; i += batchSize) {
      if (signal?.aborted) throw new DOMException('cancelled', 'AbortError');
      const batch = collate(rows.slice(i, i + batchSize), padId);
      const f = batchFeeds(batch, '', withLabels);
      const { hidden } = await prefix.run({ ids: f.ids!, mask: f.mask! });
      const { ids: _ids, ...rest } = f;
      void _ids;
      out.push({ batch, hidden: hidden!, feeds: rest, weight: withLabels ? labelCount(batch) : batch.attentionMask.reduce((a, b) => a + b, 0) });
    }
    await prefix.release();
    return out;
  }

  protected async evaluate(effective: Float32Array, output: string, extra: (b: CachedBatch) => Record<string, TensorData>): Promise<number> {
    const d = this.model.config.hiddenSize;
    if (effective.length !== d) throw new Error(`vector has ${effective.length} dimensions, the model has ${d}`);
    const parts: { value: number; weight: number }[] = [];
    for (const b of this.batches) {
      const out = await this.graph.run({ ...b.feeds, ...extra(b), hidden: b.hidden, v: f32([d], effective), alpha: scalar(1) });
      parts.push({ value: out[output]!.data[0] as number, weight: b.weight });
    }
    return weightedMean(parts);
  }

  async release(): Promise<void> {
    await this.graph.release();
  }
}

/** Mean SFT loss (CE over label tokens) of fixed rows as a function of the EFFECTIVE vector α·v. */
export class LossEvaluator extends CachedEvaluator {
  static async create(model: LoadedModel, layer: number, rows: TokenizedRow[], padId: number, opts: { batchSize?: number; signal?: AbortSignal; hook?: HookPoint } = {}): Promise<LossEvaluator> {
    const g = buildSteerGraph(model, { layer, hook: opts.hook, ce: true, fromCache: true });
    const graph = await CompiledGraph.create(model.store.backend, g.graph, model.store);
    const e = new LossEvaluator(model, layer, graph);
    e.batches = await CachedEvaluator.prefixes(model, layer, rows, padId, opts.batchSize ?? 8, true, opts.signal, opts.hook);
    return e;
  }

  loss(effective: Float32Array): Promise<number> {
    return this.evaluate(effective, 'ce', () => ({}));
  }
}

/** Mean per-token KL(p_chat ‖ p_steered) over the real tokens of fixed rows, for an EFFECTIVE vector. */
export class KlEvaluator extends CachedEvaluator {
  /** `precision`: the KL head's float type; default float64 where the backend has it (small KLs stay exact) */
  static async create(model: LoadedModel, layer: number, rows: TokenizedRow[], padId: number, opts: { batchSize?: number; signal?: AbortSignal; precision?: 'float32' | 'float64'; hook?: HookPoint } = {}): Promise<KlEvaluator> {
    const g = buildSteerGraph(model, { layer, hook: opts.hook, ce: false, kl: 'same', fromCache: true, klPrecision: opts.precision });
    const graph = await CompiledGraph.create(model.store.backend, g.graph, model.store);
    const e = new KlEvaluator(model, layer, graph);
    e.batches = await CachedEvaluator.prefixes(model, layer, rows, padId, opts.batchSize ?? 4, false, opts.signal, opts.hook);
    return e;
  }

  kl(effective: Float32Array): Promise<number> {
    return this.evaluate(effective, 'kl', (b) => ({ kl_index: klIndexFeed(b.batch) }));
  }
}
