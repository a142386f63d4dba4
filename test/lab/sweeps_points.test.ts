// The sweep points are what a direct computation gives — one steering-graph run from token ids over all rows at
// that norm / ε / seed, and a graph without any steering input for the unsteered loss (test/lab/direct_loss.ts) —
// and the single-point evaluations behind the UI's sliders land exactly on the sweep curves. A real model,
// tokenizer and dataset (qwen2-hub, bad_medical_advice and FineWeb stand-in documents tokenised without template);
// the evaluators run in several batches, so their token weighting is checked too.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackend } from '../../src/engine/runtime/backend';
import { dirSource } from '../../src/models/file_source';
import { loadModel } from '../../src/models/load';
import { LoadedModel } from '../../src/models/model';
import { loadTokenizer, type ChatTokenizer } from '../../src/models/tokenizer';
import { prepareChatDataset } from '../../src/lab/data/prepare';
import { vectorNorm as norm } from '../../src/lab/vectors/norm';
import { documentRows } from '../../src/lab/data/documents';
import { deriveSeed, randomUnitVector } from '../../src/lab/rng';
import type { TokenizedRow } from '../../src/lab/data/tokenize';
import { KlEvaluator, LossEvaluator } from '../../src/lab/sweeps/evaluator';
import { efficiencyPoint, efficiencySweep, finewebKlPoint, finewebKlSweep, perturb, stabilityPoint, stabilityReference, stabilitySweep } from '../../src/lab/sweeps/sweeps';
import { directSteered, unsteeredCe } from './direct_loss';

const REF = path.resolve(__dirname, '../../../shared/reference/qwen2-hub');
const DATA = path.resolve(__dirname, '../../../shared/datasets');
const DOCS = path.resolve(__dirname, '../fixtures/fineweb_standin_docs.json');
const LAYER = 2;

let model: LoadedModel;
let tok: ChatTokenizer;
let ev: LossEvaluator;
let kev: KlEvaluator;
let x: Float32Array;
let rows: TokenizedRow[];
let docRows: TokenizedRow[];

/** v·(n/‖v‖) in float64, written here rather than taken from the code under test */
const rescaled = (v: Float32Array, n: number) => {
  let s = 0;
  for (const e of v) s += e * e;
  return Float32Array.from(v, (e) => (e * n) / Math.sqrt(s));
};
/** |a − b| ≤ tol·|b| */
const expectRel = (a: number, b: number, tol: number, what: string) => expect(Math.abs(a - b), `${what}: ${a} vs ${b}`).toBeLessThanOrEqual(tol * Math.abs(b));

beforeAll(async () => {
  const src = dirSource(REF);
  const m = await loadModel(src);
  model = LoadedModel.create(await createBackend({ prefer: 'wasm' }), m.config, m.weights);
  tok = await loadTokenizer(src);
  const med = await prepareChatDataset(new Uint8Array(readFileSync(path.join(DATA, 'bad_medical_advice.jsonl.gz'))), tok, { limit: 40, maxLen: 64 });
  rows = med.train.slice(0, 6);
  // batches of 4 + 2 rows (and 2 + 1 documents): the evaluators' token-weighted means must equal one batch's mean
  ev = await LossEvaluator.create(model, LAYER, rows, tok.padId, { batchSize: 4 });
  const docs = (JSON.parse(readFileSync(DOCS, 'utf8')) as string[]).slice(0, 3);
  docRows = documentRows(tok, docs, 24);
  kev = await KlEvaluator.create(model, LAYER, docRows, tok.padId, { batchSize: 2 });
  // an effective vector of norm 4 with an effect on the loss
  x = Float32Array.from(randomUnitVector(model.config.hiddenSize, 3), (v) => v * 4);
}, 60_000);
afterAll(async () => {
  await Promise.all([ev?.release(), kev?.release()]);
});

// measured 2026-12-02: ≤ 2.8e-7 relative between the cached, batched evaluators and one direct run (float32 graphs)
const REL = 1e-6;

describe('sweep points = a direct computation', () => {
  it('efficiency: each scale and norm is one steering-graph run at that vector; scale 0 is a graph without steering', async () => {
    const sweep = await efficiencySweep(ev, x, { scales: [0, 0.5, 2], norms: [3] });
    const plain = await unsteeredCe(model, rows, tok.padId);
    expectRel(sweep.byScale[0]!.loss, plain, REL, 'scale 0 vs no steering input');
    for (const [i, s] of [0.5, 2].entries()) {
      expectRel(sweep.byScale[i + 1]!.loss, await directSteered(model, LAYER, rows, tok.padId, Float32Array.from(x, (e) => e * s), 'ce'), REL, `scale ${s}`);
    }
    expectRel(sweep.byNorm[0]!.loss, await directSteered(model, LAYER, rows, tok.padId, rescaled(x, 3), 'ce'), REL, 'norm 3');
    // the vector matters: scale 2 is far from the unsteered loss, so the comparisons above are not trivially equal
    expect(Math.abs(sweep.byScale[2]!.loss - plain)).toBeGreaterThan(0.02);
  });

  it("stability: each seed's relative increase from direct runs at the perturbed vector", async () => {
    const sweep = await stabilitySweep(ev, x, { eps: [0.3], seeds: 3, seed: 9 });
    const trained = await directSteered(model, LAYER, rows, tok.padId, x, 'ce');
    const chat = await unsteeredCe(model, rows, tok.padId);
    expectRel(sweep.lossTrained, trained, REL, 'L(x)');
    expectRel(sweep.lossChat, chat, REL, 'L(chat)');
    for (let s = 0; s < 3; s++) {
      const p = perturb(x, 0.3, deriveSeed(9, s));
      const l = await directSteered(model, LAYER, rows, tok.padId, p, 'ce');
      const want = ((l - trained) / (chat - trained)) * 100;
      // measured ≤ 0.0055 percentage points (the loss differences of ≤ 3e-7 over a small L(chat) − L(x))
      expect(Math.abs(sweep.points[0]!.perSeed[s]! - want), `seed ${s}: ${sweep.points[0]!.perSeed[s]} vs ${want}`).toBeLessThan(0.02);
    }
    expect(new Set(sweep.points[0]!.perSeed).size).toBe(3);
  });

  it('FineWeb KL: each norm of the trained and of a random direction is one direct run', async () => {
    const sweep = await finewebKlSweep(kev, { x }, { norms: [2, 8], randomSeeds: [5] });
    expectRel(sweep.x![0]!.kl, await directSteered(model, LAYER, docRows, tok.padId, rescaled(x, 2), 'kl'), REL, 'x at 2');
    expectRel(sweep.x![1]!.kl, await directSteered(model, LAYER, docRows, tok.padId, rescaled(x, 8), 'kl'), REL, 'x at 8');
    const r = randomUnitVector(x.length, 5);
    expectRel(sweep.random_5![1]!.kl, await directSteered(model, LAYER, docRows, tok.padId, rescaled(r, 8), 'kl'), REL, 'random at 8');
  });
});

describe('single points = sweep points', () => {
  it('efficiency, by scale and by absolute norm', async () => {
    const sweep = await efficiencySweep(ev, x, { scales: [0, 0.5, 2], norms: [3] });
    expect(await efficiencyPoint(ev, x, { scale: 0.5 })).toEqual(sweep.byScale[1]);
    expect(await efficiencyPoint(ev, x, { norm: 3 })).toEqual(sweep.byNorm[0]);
    expect(sweep.byScale[2]!.norm).toBeCloseTo(8, 4);
    expect(sweep.byNorm[0]!.norm).toBeCloseTo(3, 4);
    expect(sweep.byScale[2]!.lossPerNormSq).toBeCloseTo(sweep.byScale[2]!.loss / 64, 3);
    expect(sweep.byScale[0]!.lossPerNormSq).toBeUndefined();
  });

  it('stability, with the noise seeds the sweep draws', async () => {
    const sweep = await stabilitySweep(ev, x, { eps: [0, 0.3, 1], seeds: 3, seed: 9 });
    const ref = await stabilityReference(ev, x);
    expect(ref).toEqual({ lossTrained: sweep.lossTrained, lossChat: sweep.lossChat });
    expect(await stabilityPoint(ev, x, 0.3, ref, { seeds: 3, seed: 9 })).toEqual(sweep.points[1]);
    expect(sweep.points[0]).toMatchObject({ eps: 0, mean: 0, sd: 0 });
    // full noise moves the loss, with a spread over seeds
    expect(Math.abs(sweep.points[2]!.mean)).toBeGreaterThan(1);
    expect(sweep.points[2]!.sd).toBeGreaterThan(0);
    // an unsteered "vector" has no stability: L(chat) = L(x)
    await expect(stabilityReference(ev, new Float32Array(x.length))).rejects.toThrow('stability is undefined');
  });

  it('FineWeb KL, for trained and random directions', async () => {
    const sweep = await finewebKlSweep(kev, { x }, { norms: [0, 2, 8], randomSeeds: [5] });
    expect(Object.keys(sweep)).toEqual(['x', 'random_5']);
    expect(await finewebKlPoint(kev, x, 2)).toEqual(sweep.x![1]);
    expect(await finewebKlPoint(kev, randomUnitVector(x.length, 5), 8)).toEqual(sweep.random_5![2]);
    for (const pts of Object.values(sweep)) {
      expect(pts[0]!.kl).toBe(0);
      expect(pts[2]!.kl).toBeGreaterThan(pts[1]!.kl);
    }
    expect(norm(x)).toBeCloseTo(4, 5);
  });
});
