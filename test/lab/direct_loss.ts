// Losses computed the direct way, to check the cached evaluators, sweeps and reports against: ONE graph run over
// all rows at once, from token ids (no cached prefix, no per-batch weighting), and, for the unsteered loss, a
// graph built without any steering input at all (so a bug in how a zero vector is fed cannot cancel out).

import { Builder } from '../../src/engine/builder';
import { Graph } from '../../src/engine/ir';
import { CompiledGraph } from '../../src/engine/runtime/session';
import { buildDecoder } from '../../src/models/decoder';
import { crossEntropy } from '../../src/models/losses';
import type { LoadedModel } from '../../src/models/model';
import { buildSteerGraph } from '../../src/models/steer_graph';
import { collate } from '../../src/lab/data/batch';
import type { TokenizedRow } from '../../src/lab/data/tokenize';
import { batchFeeds, f32, klIndexFeed, scalar } from '../../src/lab/feeds';

/** Mean CE over every label position of `rows`, from a decoder graph that has no steering input. */
export async function unsteeredCe(model: LoadedModel, rows: TokenizedRow[], padId: number): Promise<number> {
  const g = new Graph('unsteered');
  const b = new Builder(g, 'float32');
  const ids = g.input('ids', 'int64', ['B', 'T']);
  const mask = g.input('mask', 'int64', ['B', 'T']);
  const final = buildDecoder(b, model, { ids, mask }).final!;
  g.output(crossEntropy(b, model, final, g.input('ce_index', 'int64', ['M']), g.input('ce_target', 'int64', ['M'])).loss, 'ce');
  const cg = await CompiledGraph.create(model.store.backend, g, model.store);
  try {
    const out = await cg.run(batchFeeds(collate(rows, padId)));
    return out.ce!.data[0] as number;
  } finally {
    await cg.release();
  }
}

/** Mean CE (kind 'ce') or mean per-token KL (kind 'kl', two heads in `klPrecision`) of all `rows` in one batch, steered by `effective` at `layer`. */
export async function directSteered(model: LoadedModel, layer: number, rows: TokenizedRow[], padId: number, effective: Float32Array, kind: 'ce' | 'kl', klPrecision?: 'float32' | 'float64'): Promise<number> {
  const spec = kind === 'ce' ? { layer, ce: true } : { layer, ce: false, kl: 'same' as const, klPrecision };
  const cg = await CompiledGraph.create(model.store.backend, buildSteerGraph(model, spec).graph, model.store);
  try {
    const batch = collate(rows, padId);
    const feeds = { ...batchFeeds(batch, '', kind === 'ce'), v: f32([effective.length], effective), alpha: scalar(1) };
    const out = await cg.run(kind === 'ce' ? feeds : { ...feeds, kl_index: klIndexFeed(batch) });
    return out[kind]!.data[0] as number;
  } finally {
    await cg.release();
  }
}
