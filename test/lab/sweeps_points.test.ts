// The single-point evaluations behind the UI's sliders land exactly on the sweep curves, on a real model,
// tokenizer and dataset (qwen2-hub, bad_medical_advice and FineWeb stand-in documents tokenised without template).

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackend } from '../../src/engine/runtime/backend';
import { dirSource } from '../../src/models/file_source';
import { loadModel } from '../../src/models/load';
import { LoadedModel } from '../../src/models/model';
import { loadTokenizer, type ChatTokenizer } from '../../src/models/tokenizer';
import { prepareChatDataset } from '../../src/lab/data/prepare';
import { norm } from '../../src/lab/feeds';
import { documentRows } from '../../src/lab/plan/run';
import { randomUnitVector } from '../../src/lab/rng';
import { KlEvaluator, LossEvaluator } from '../../src/lab/sweeps/evaluator';
import { efficiencyPoint, efficiencySweep, finewebKlPoint, finewebKlSweep, stabilityPoint, stabilityReference, stabilitySweep } from '../../src/lab/sweeps/sweeps';

const REF = path.resolve(__dirname, '../../../shared/reference/qwen2-hub');
const DATA = path.resolve(__dirname, '../../../shared/datasets');
const DOCS = path.resolve(__dirname, '../fixtures/fineweb_standin_docs.json');
const LAYER = 2;

let model: LoadedModel;
let tok: ChatTokenizer;
let ev: LossEvaluator;
let kev: KlEvaluator;
let x: Float32Array;

beforeAll(async () => {
  const src = dirSource(REF);
  const m = await loadModel(src);
  model = LoadedModel.create(await createBackend({ prefer: 'wasm' }), m.config, m.weights);
  tok = await loadTokenizer(src);
  const med = await prepareChatDataset(new Uint8Array(readFileSync(path.join(DATA, 'bad_medical_advice.jsonl.gz'))), tok, { limit: 12, maxLen: 48 });
  ev = await LossEvaluator.create(model, LAYER, med.train.slice(0, 6), tok.padId);
  const docs = (JSON.parse(readFileSync(DOCS, 'utf8')) as string[]).slice(0, 2);
  kev = await KlEvaluator.create(model, LAYER, documentRows(tok, docs, 24), tok.padId);
  // an effective vector of norm 4 with an effect on the loss
  x = Float32Array.from(randomUnitVector(model.config.hiddenSize, 3), (v) => v * 4);
}, 60_000);
afterAll(async () => {
  await Promise.all([ev?.release(), kev?.release()]);
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
