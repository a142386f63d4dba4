// A KL point from the unsteered head's per-row statistics (losses.chatHeadStats / klFromChatStats: one head per
// point) against the two-head KL computed directly in float64, on a full-vocabulary model (qwen2-hub, 151936
// tokens, real tokenizer, FineWeb stand-in documents) from tiny to large steering norms; the float32 two-head KL
// is measured beside it, so the one-head route is held to the accuracy float32 already had. Gemma2's soft-capped
// head is not linear: its evaluator keeps two heads. The adapter evaluator takes the same route (p_chat = the model
// without the adapter).

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackend } from '../../src/engine/runtime/backend';
import { Builder } from '../../src/engine/builder';
import { Graph } from '../../src/engine/ir';
import { dirSource } from '../../src/models/file_source';
import { loadModel } from '../../src/models/load';
import { LoadedModel } from '../../src/models/model';
import { klFromChatStats } from '../../src/models/losses';
import { loadTokenizer, type ChatTokenizer } from '../../src/models/tokenizer';
import { documentRows } from '../../src/lab/data/documents';
import { randomUnitVector } from '../../src/lab/rng';
import type { TokenizedRow } from '../../src/lab/data/tokenize';
import { KlEvaluator } from '../../src/lab/sweeps/evaluator';
import { AdapterKlEvaluator } from '../../src/lab/adapters/evaluator';
import { loraFeeds, loraKeys, loraLayout, loraSpec, type AdapterShape } from '../../src/lab/adapters/lora';
import { buildAdapterGraph } from '../../src/models/adapter_graph';
import { CompiledGraph } from '../../src/engine/runtime/session';
import { collate } from '../../src/lab/data/batch';
import { batchFeeds, klIndexFeed } from '../../src/lab/feeds';
import { directSteered } from './direct_loss';

const REF = path.resolve(__dirname, '../../../shared/reference');
const DOCS = path.resolve(__dirname, '../fixtures/fineweb_standin_docs.json');
const LAYER = 2;

let model: LoadedModel;
let tok: ChatTokenizer;
let rows: TokenizedRow[];
let kev: KlEvaluator;

beforeAll(async () => {
  const src = dirSource(path.join(REF, 'qwen2-hub'));
  const m = await loadModel(src);
  model = LoadedModel.create(await createBackend({ prefer: 'wasm' }), m.config, m.weights);
  tok = await loadTokenizer(src);
  rows = documentRows(tok, (JSON.parse(readFileSync(DOCS, 'utf8')) as string[]).slice(0, 3), 24);
  // batches of 2 + 1 documents, float32: the one-head route
  kev = await KlEvaluator.create(model, LAYER, rows, tok.padId, { batchSize: 2, precision: 'float32' });
}, 120_000);
afterAll(async () => {
  await kev?.release();
});

describe('KL from the unsteered head statistics', () => {
  it('equals the float64 two-head KL from tiny to large norms, as closely as the float32 two-head KL does', async () => {
    const dir = randomUnitVector(model.config.hiddenSize, 11);
    for (const n of [0.02, 0.2, 1, 4, 16]) {
      const x = Float32Array.from(dir, (e) => e * n);
      const one = await kev.kl(x);
      const exact = await directSteered(model, LAYER, rows, tok.padId, x, 'kl', 'float64');
      const two32 = await directSteered(model, LAYER, rows, tok.padId, x, 'kl', 'float32');
      const err = Math.abs(one - exact);
      console.log(`norm ${n}: KL ${exact.toExponential(4)}  one-head f32 err ${err.toExponential(2)}  two-head f32 err ${Math.abs(two32 - exact).toExponential(2)}`);
      expect(exact).toBeGreaterThan(0);
      expect(err, `norm ${n}: ${one} vs ${exact}`).toBeLessThanOrEqual(3e-7 + 2 * Math.abs(two32 - exact));
    }
  });

  it('is the same in chunks of rows (3 chunks, padded) as in one', async () => {
    const chunked = await KlEvaluator.create(model, LAYER, rows, tok.padId, { batchSize: 2, precision: 'float32', klChunks: 3 });
    try {
      const x = Float32Array.from(randomUnitVector(model.config.hiddenSize, 4), (e) => e * 2);
      const [a, c] = [await kev.kl(x), await chunked.kl(x)];
      expect(Math.abs(a - c), `${a} vs ${c}`).toBeLessThanOrEqual(1e-6 * a);
    } finally {
      await chunked.release();
    }
  });

  it('is exactly zero at the zero vector, as the two-head KL is', async () => {
    expect(await kev.kl(new Float32Array(model.config.hiddenSize))).toBe(0);
  });
});

describe('the same for a LoRA adapter (the unadapted model is p_chat)', () => {
  it('one head from the statistics equals the float64 two-head KL as closely as float32 two heads do', async () => {
    const shape: AdapterShape = { kind: 'lora', rank: 2, alpha: 4, keys: loraKeys(['q', 'down'], [1, 2]) };
    const size = loraLayout(model.config, shape).size;
    const one = await AdapterKlEvaluator.create(model, shape, rows, tok.padId, { batchSize: 2, precision: 'float32' });
    // the float32 two-head KL, directly: one graph over all rows, from token ids
    const two32 = await CompiledGraph.create(model.store.backend, buildAdapterGraph(model, { lora: loraSpec(shape), ce: false, kl: true, klPrecision: 'float32' }).graph, model.store);
    const two64 = await AdapterKlEvaluator.create(model, shape, rows, tok.padId, { batchSize: 2, precision: 'float64' });
    const all = collate(rows, tok.padId);
    try {
      // θ = 0 is the unadapted model: exactly 0, as with two heads
      expect(await one.kl(new Float32Array(size))).toBe(0);
      for (const scale of [0.05, 0.5, 2]) {
        const theta = Float32Array.from({ length: size }, (_, i) => Math.sin(i * 1.7 + 0.3) * scale);
        const [a, exact] = [await one.kl(theta), await two64.kl(theta)];
        const b32 = (await two32.run({ ...batchFeeds(all, '', false), kl_index: klIndexFeed(all), ...loraFeeds(model.config, shape, theta) })).kl!.data[0] as number;
        console.log(`adapter θ scale ${scale}: KL ${exact.toExponential(4)}  one-head f32 err ${Math.abs(a - exact).toExponential(2)}  two-head f32 err ${Math.abs(b32 - exact).toExponential(2)}`);
        expect(exact).toBeGreaterThan(0);
        expect(Math.abs(a - exact), `scale ${scale}: ${a} vs ${exact}`).toBeLessThanOrEqual(3e-7 + 2 * Math.abs(b32 - exact));
      }
    } finally {
      await Promise.all([one.release(), two32.release(), two64.release()]);
    }
  });
});

describe('a soft-capped head (Gemma2)', () => {
  it('is not linear: klFromChatStats refuses it, and the float32 evaluator keeps two heads and the direct value', async () => {
    const m = await loadModel(dirSource(path.join(REF, 'gemma2')));
    expect(m.config.finalSoftcap).toBeGreaterThan(0);
    const gm = LoadedModel.create(await createBackend({ prefer: 'wasm' }), m.config, m.weights);
    const g = new Graph('t');
    const b = new Builder(g, 'float32');
    const h = g.input('h', 'float32', ['B', 'T', gm.config.hiddenSize]);
    const st = { n: h, ebar: h, lse: h, r: h };
    expect(() => klFromChatStats(b, gm, h, g.input('i', 'int64', ['M']), st)).toThrow(/soft-caps/);
    const ids = Int32Array.from({ length: 12 }, (_, i) => (i * 37) % gm.config.vocabSize);
    const docs: TokenizedRow[] = [{ line: 0, ids, lossMask: new Uint8Array(12), promptLen: 0, fullLen: 12, prefixFallback: false }];
    const ev = await KlEvaluator.create(gm, 1, docs, 0, { precision: 'float32' });
    try {
      const x = Float32Array.from(randomUnitVector(gm.config.hiddenSize, 2), (e) => e * 3);
      const got = await ev.kl(x);
      const want = await directSteered(gm, 1, docs, 0, x, 'kl', 'float32');
      expect(Math.abs(got - want)).toBeLessThanOrEqual(1e-6 * want);
    } finally {
      await ev.release();
    }
  });
});
