// Loss and KL of a fixed set of rows under any steering vector, fast enough to sweep: the activations below
// the hook (hidden_states[L+1] for blocks.L.hook_resid_post; see models/hooks.ts cachedBlocks) do not depend on
// the vector, so each batch's prefix runs once and every evaluation afterwards runs only the blocks from the
// hook on and the head. The cached activations stay where the prefix left them (on the GPU under WebGPU: no
// read-back, no re-upload per point), and for KL the unsteered final hidden states are cached too, so a point
// runs the steered blocks only.

import type { TensorData } from '../../engine/ir';
import { CompiledGraph, type Feed } from '../../engine/runtime/session';
import type { LoadedModel } from '../../models/model';
import type { HookPoint } from '../../models/hooks';
import { buildPrefixGraph, buildSteerGraph } from '../../models/steer_graph';
import { collate, type Batch } from '../data/batch';
import type { TokenizedRow } from '../data/tokenize';
import { batchFeeds, f32, klIndexFeed, labelCount, scalar } from '../feeds';

interface CachedBatch {
  batch: Batch;
  /** cached inputs of the per-point graph: hidden (and chat_final for KL), GPU tensors under WebGPU */
  cached: Record<string, Feed>;
  feeds: Record<string, TensorData>;
  weight: number;
}

const disposeGpu = (t: Feed) => {
  const x = t as { location?: string; dispose?: () => void };
  if (x.location === 'gpu-buffer') x.dispose?.();
};

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

  protected static async prefixes(model: LoadedModel, layer: number, rows: TokenizedRow[], padId: number, batchSize: number, withLabels: boolean, signal?: AbortSignal, hook?: HookPoint) {
    if (!rows.length) throw new Error('no rows to evaluate');
    const chatFinal = !withLabels;
    const outNames = chatFinal ? ['hidden', 'chat_final'] : ['hidden'];
    const prefix = await CompiledGraph.create(model.store.backend, buildPrefixGraph(model, layer, hook, { chatFinal }).graph, model.store, { gpuOutputs: outNames });
    const out: CachedBatch[] = [];
    try {
      for (let i = 0; i < rows.length; i += batchSize) {
        if (signal?.aborted) throw new DOMException('cancelled', 'AbortError');
        const batch = collate(rows.slice(i, i + batchSize), padId);
        const f = batchFeeds(batch, '', withLabels);
        const cached = await prefix.runRaw({ ids: f.ids!, mask: f.mask! }, outNames);
        const { ids: _ids, ...rest } = f;
        void _ids;
        out.push({ batch, cached, feeds: rest, weight: withLabels ? labelCount(batch) : batch.attentionMask.reduce((a, b) => a + b, 0) });
      }
    } catch (e) {
      for (const b of out) Object.values(b.cached).forEach(disposeGpu);
      await prefix.release();
      throw e;
    }
    // GPU outputs belong to the session that made them: it is released after them (release())
    return { batches: out, prefix };
  }

  /** the longest padded batch, for the heads' chunk bounds */
  protected static maxRows(rows: TokenizedRow[], batchSize: number): number {
    return batchSize * Math.max(1, ...rows.map((r) => r.ids.length));
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
    for (const b of this.batches) Object.values(b.cached).forEach(disposeGpu);
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
    const g = buildSteerGraph(model, { layer, hook: opts.hook, ce: true, fromCache: true, ceRows: CachedEvaluator.maxRows(rows, bs) });
    const graph = await CompiledGraph.create(model.store.backend, g.graph, model.store);
    const e = new LossEvaluator(model, layer, graph);
    ({ batches: e.batches, prefix: e.prefix } = await CachedEvaluator.prefixes(model, layer, rows, padId, bs, true, opts.signal, opts.hook));
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
    const bs = opts.batchSize ?? 4;
    const g = buildSteerGraph(model, { layer, hook: opts.hook, ce: false, kl: 'same', fromCache: true, chatFinal: true, klPrecision: opts.precision, klRows: CachedEvaluator.maxRows(rows, bs) });
    const graph = await CompiledGraph.create(model.store.backend, g.graph, model.store);
    const e = new KlEvaluator(model, layer, graph);
    ({ batches: e.batches, prefix: e.prefix } = await CachedEvaluator.prefixes(model, layer, rows, padId, bs, false, opts.signal, opts.hook));
    return e;
  }

  kl(effective: Float32Array): Promise<number> {
    return this.evaluate(effective, 'kl', (b) => ({ kl_index: klIndexFeed(b.batch) }));
  }
}
