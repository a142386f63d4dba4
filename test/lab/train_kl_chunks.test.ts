// The KL batch runs in chunks to bound memory; the step it produces must not depend on the chunk size, and must
// equal the step the joint CE + λ·KL graph (one run over the whole KL batch) gives.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createBackend } from '../../src/engine/runtime/backend';
import { CompiledGraph } from '../../src/engine/runtime/session';
import { dirSource } from '../../src/models/file_source';
import { loadModel } from '../../src/models/load';
import { LoadedModel } from '../../src/models/model';
import { buildSteerGraph } from '../../src/models/steer_graph';
import { loadTokenizer } from '../../src/models/tokenizer';
import { collate } from '../../src/lab/data/batch';
import { prepareChatDataset } from '../../src/lab/data/prepare';
import { batchFeeds, f32, klIndexFeed, scalar } from '../../src/lab/feeds';
import { DEFAULT_TRAIN, SteeringTrainer } from '../../src/lab/train/trainer';

const REF = path.resolve(__dirname, '../../../shared/reference/qwen2-hub');
const DATA = path.resolve(__dirname, '../../../shared/datasets');

describe('chunked KL', () => {
  it('gives the same training step whatever the chunk size, equal to the joint graph', async () => {
    const src = dirSource(REF);
    const m = await loadModel(src);
    const model = LoadedModel.create(await createBackend({ prefer: 'wasm' }), m.config, m.weights);
    const tok = await loadTokenizer(src);
    const read = (f: string, n: number) => prepareChatDataset(new Uint8Array(readFileSync(path.join(DATA, f))), tok, { limit: n, maxLen: 96 });
    const train = (await read('bad_medical_advice.jsonl.gz', 12)).train;
    const kl = (await read('extreme_sports.jsonl.gz', 12)).train;
    const cfg = { ...DEFAULT_TRAIN, layer: 2, microBatch: 2, accumulation: 1, steps: 2, warmup: 0, lambdaKl: 3, klBatch: 4, checkpointEvery: 1, optim: { ...DEFAULT_TRAIN.optim, lr: 1e-3 } };
    const run = async (klChunk: number) => {
      const t = await SteeringTrainer.create(model, { ...cfg, klChunk }, { train, kl, padId: tok.padId });
      const r = await t.run();
      await t.release();
      return r.state;
    };
    const [a, b] = [await run(1), await run(4)];
    for (let i = 0; i < a.v.length; i++) expect(a.v[i]).toBeCloseTo(b.v[i]!, 6);
    expect(a.history[1]!.kl).toBeCloseTo(b.history[1]!.kl, 6);
    expect(a.history[1]!.kl).toBeGreaterThan(0);

    // the joint graph's total loss at the first step's vector equals the trainer's CE + λ·KL record of step 2
    const joint = await CompiledGraph.create(model.store.backend, buildSteerGraph(model, { layer: 2, ce: true, kl: 'separate', grads: ['total'], klPrecision: 'float32' }).graph, model.store);
    const v1 = a.checkpoints[0]!.v;
    // the trainer's step-2 batches: micro-batch 1 of epoch 0 and KL rows 4..7 of its shuffled KL order
    const t = await SteeringTrainer.create(model, { ...cfg, klChunk: 2 }, { train, kl, padId: tok.padId });
    const rowsCe = (t as unknown as { microRows(g: number): typeof train }).microRows(1);
    const rowsKl = (t as unknown as { klRows(g: number): typeof kl }).klRows(1);
    const cb = collate(rowsCe, tok.padId);
    const kb = collate(rowsKl, tok.padId);
    const o = await joint.run({ ...batchFeeds(cb), ...batchFeeds(kb, 'kl_', false), kl_index: klIndexFeed(kb), v: f32([v1.length], v1), alpha: scalar(256), lambda: scalar(3) });
    expect(o.total!.data[0] as number).toBeCloseTo(a.history[1]!.loss, 4);
    await Promise.all([joint.release(), t.release()]);
  });
});
