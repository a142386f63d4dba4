// Graph outputs on request: label-position logits are exactly the full logits at those rows, and the CE they
// imply is the CE the graph reports; a cached-prefix graph gives the same loss and gradient as the full one.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createBackend } from '../../src/engine/runtime/backend';
import { CompiledGraph } from '../../src/engine/runtime/session';
import { parseHfConfig } from '../../src/models/config_parse';
import { labelRows } from '../../src/models/losses';
import { LoadedModel } from '../../src/models/model';
import { readSafetensors, readSafetensorsRaw } from '../../src/models/safetensors';
import { weightsFromSafetensors } from '../../src/models/safetensors_weights';
import { buildPrefixGraph, buildSteerGraph } from '../../src/models/steer_graph';

const DIR = path.resolve(__dirname, '../../../shared/reference/gemma2');

describe('steering graph outputs', () => {
  it('label logits, full logits, CE and the cached prefix agree', async () => {
    const cfg = parseHfConfig(JSON.parse(readFileSync(path.join(DIR, 'config.json'), 'utf8')));
    const model = LoadedModel.create(await createBackend({ prefer: 'wasm' }), cfg, weightsFromSafetensors(cfg, readSafetensors(readFileSync(path.join(DIR, 'model.safetensors')))));
    const ref = readSafetensorsRaw(readFileSync(path.join(DIR, 'reference.safetensors')));
    const ids = ref.get('input_ids')!;
    const [B, T] = ids.shape as [number, number];
    const i64 = (a: ArrayLike<number>) => BigInt64Array.from(Array.from(a), BigInt);
    const rows = labelRows(ids.data as Int32Array, ref.get('loss_mask')!.data as Int32Array, B, T);
    const feeds = {
      v: { dtype: 'float32' as const, shape: [cfg.hiddenSize], data: ref.get('steer_vector')!.data as Float32Array },
      alpha: { dtype: 'float32' as const, shape: [], data: new Float32Array([1]) },
      ids: { dtype: 'int64' as const, shape: [B, T], data: i64(ids.data as Int32Array) },
      mask: { dtype: 'int64' as const, shape: [B, T], data: i64(ref.get('attention_mask')!.data as Int32Array) },
      ce_index: { dtype: 'int64' as const, shape: [rows.index.length], data: rows.index },
      ce_target: { dtype: 'int64' as const, shape: [rows.target.length], data: rows.target },
    };
    const be = model.store.backend;
    const full = await CompiledGraph.create(be, buildSteerGraph(model, { layer: 1, labelLogits: true, logits: ['steered'], grads: ['ce'] }).graph, model.store);
    const o = await full.run(feeds);
    const V = cfg.vocabSize;
    const lab = o.logits_labels!.data as Float32Array;
    const all = o.logits_steered!.data as Float32Array;
    expect(o.logits_labels!.shape).toEqual([rows.index.length, V]);
    let ce = 0;
    rows.index.forEach((r, m) => {
      for (let v = 0; v < V; v++) expect(lab[m * V + v]).toBe(all[Number(r) * V + v]);
      const row = Array.from(lab.subarray(m * V, (m + 1) * V));
      const mx = Math.max(...row);
      ce += mx + Math.log(row.reduce((s, z) => s + Math.exp(z - mx), 0)) - row[Number(rows.target[m])]!;
    });
    expect(o.ce!.data[0]).toBeCloseTo(ce / rows.index.length, 5);

    // the same loss and gradient from cached hidden_states[L+1]
    const prefix = await CompiledGraph.create(be, buildPrefixGraph(model, 1).graph, model.store);
    const { hidden } = await prefix.run({ ids: feeds.ids, mask: feeds.mask });
    const cached = await CompiledGraph.create(be, buildSteerGraph(model, { layer: 1, grads: ['ce'], fromCache: true }).graph, model.store);
    const { ids: _ids, ...rest } = feeds;
    void _ids;
    const c = await cached.run({ ...rest, hidden: hidden! });
    expect(c.ce!.data[0]).toBeCloseTo(o.ce!.data[0] as number, 6);
    const g1 = o.grad_ce!.data as Float32Array;
    const g2 = c.grad_ce!.data as Float32Array;
    for (let i = 0; i < g1.length; i++) expect(g2[i]).toBeCloseTo(g1[i]!, 6);
  });
});
