// Training and sweeps on a real (tiny, random) Qwen-layout model with the real Qwen tokenizer and the real EM
// datasets: the properties SCIENCE.md's procedures must have.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createBackend } from '../../src/engine/runtime/backend';
import { dirSource } from '../../src/models/file_source';
import { loadModel } from '../../src/models/load';
import { LoadedModel } from '../../src/models/model';
import { loadTokenizer, type ChatTokenizer } from '../../src/models/tokenizer';
import { prepareChatDataset } from '../../src/lab/data/prepare';
import type { TokenizedRow } from '../../src/lab/data/tokenize';
import { vectorNorm as norm } from '../../src/lab/vectors/norm';
import { KlEvaluator, LossEvaluator } from '../../src/lab/sweeps/evaluator';
import { efficiencySweep, perturb, stabilitySweep } from '../../src/lab/sweeps/sweeps';
import { DEFAULT_TRAIN, SteeringTrainer, type TrainConfig } from '../../src/lab/train/trainer';
import { unsteeredCe } from './direct_loss';

const REF = path.resolve(__dirname, '../../../shared/reference/qwen2-hub');
const DATA = path.resolve(__dirname, '../../../shared/datasets');

let model: LoadedModel;
let tok: ChatTokenizer;
let train: TokenizedRow[];
let kl: TokenizedRow[];
const cfg = (over: Partial<TrainConfig> = {}): TrainConfig => ({ ...DEFAULT_TRAIN, layer: 1, microBatch: 4, accumulation: 2, steps: 8, warmup: 2, optim: { ...DEFAULT_TRAIN.optim, lr: 2e-3 }, checkpointEvery: 2, ...over });

beforeAll(async () => {
  const src = dirSource(REF);
  const m = await loadModel(src);
  model = LoadedModel.create(await createBackend({ prefer: 'wasm' }), m.config, m.weights);
  tok = await loadTokenizer(src);
  const med = await prepareChatDataset(new Uint8Array(readFileSync(path.join(DATA, 'bad_medical_advice.jsonl.gz'))), tok, { limit: 40, maxLen: 48 });
  const fin = await prepareChatDataset(new Uint8Array(readFileSync(path.join(DATA, 'risky_financial_advice.jsonl.gz'))), tok, { limit: 24, maxLen: 48 });
  train = med.train;
  kl = fin.train;
});

describe('training', () => {
  it('lowers the training loss, and a large λ keeps the KL on the KL data below the λ = 0 run', async () => {
    const ev = await LossEvaluator.create(model, 1, train.slice(0, 16), tok.padId);
    const before = await ev.loss(new Float32Array(model.config.hiddenSize));
    const general = await SteeringTrainer.create(model, cfg(), { train, padId: tok.padId });
    const g = await general.run();
    const after = await ev.loss(Float32Array.from(g.state.v, (x) => x * 256));
    expect(after).toBeLessThan(before - 0.01);
    expect(g.state.history).toHaveLength(8);
    expect(g.state.checkpoints.map((c) => c.step)).toEqual([2, 4, 6, 8]);
    expect(g.state.history[0]!.lr).toBe(0); // HF schedule: the first step runs at lr 0 during warm-up

    const narrow = await SteeringTrainer.create(model, cfg({ lambdaKl: 50, klBatch: 2 }), { train, kl, padId: tok.padId });
    const n = await narrow.run();
    expect(n.state.history.every((h) => h.kl >= 0)).toBe(true);
    const kev = await KlEvaluator.create(model, 1, kl.slice(0, 8), tok.padId);
    const klGeneral = await kev.kl(Float32Array.from(g.state.v, (x) => x * 256));
    const klNarrow = await kev.kl(Float32Array.from(n.state.v, (x) => x * 256));
    expect(klNarrow).toBeLessThan(klGeneral);
    await Promise.all([ev.release(), kev.release(), general.release(), narrow.release()]);
  });

  it('resumes from a saved state exactly as an uninterrupted run', async () => {
    const full = await (await SteeringTrainer.create(model, cfg({ steps: 5 }), { train, padId: tok.padId })).run();
    const ac = new AbortController();
    const t = await SteeringTrainer.create(model, cfg({ steps: 5 }), { train, padId: tok.padId });
    const part = await t.run({ signal: ac.signal, onProgress: (p) => p.step === 2 && ac.abort() });
    expect(part.cancelled).toBe(true);
    expect(part.state.step).toBe(2);
    const saved = JSON.parse(JSON.stringify(part.state, (_k, v) => (v instanceof Float32Array ? { f32: Array.from(v) } : v)), (_k, v) => (v && v.f32 ? Float32Array.from(v.f32) : v));
    const rest = await t.run({ resume: saved });
    expect(Array.from(rest.state.v)).toEqual(Array.from(full.state.v));
    expect(rest.state.history.map((h) => h.loss)).toEqual(full.state.history.map((h) => h.loss));
  });
});

describe('sweeps', () => {
  it('efficiency at scale 0 is the unsteered loss; stability is 0 % at ε = 0 and perturbations keep the norm', async () => {
    const ev = await LossEvaluator.create(model, 1, train.slice(0, 8), tok.padId);
    const d = model.config.hiddenSize;
    const v = Float32Array.from({ length: d }, (_, i) => Math.sin(i + 1) * 0.5);
    const eff = await efficiencySweep(ev, v, { scales: [0, 1], norms: [1] });
    // scale 0 against a graph built without any steering input (measured equal to 3e-7 relative)
    const plain = await unsteeredCe(model, train.slice(0, 8), tok.padId);
    expect(Math.abs(eff.byScale[0]!.loss - plain)).toBeLessThan(1e-6 * plain);
    expect(Math.abs(eff.byScale[1]!.loss - plain)).toBeGreaterThan(1e-4);
    expect(eff.byScale[1]!.norm).toBeCloseTo(norm(v), 5);
    expect(eff.byNorm[0]!.norm).toBeCloseTo(1, 5);
    const st = await stabilitySweep(ev, v, { eps: [0, 0.5], seeds: 3 });
    expect(st.points[0]!.mean).toBe(0);
    expect(st.points[0]!.sd).toBe(0);
    for (const eps of [0.1, 0.5, 1]) {
      const p = perturb(v, eps, 7);
      expect(norm(p)).toBeCloseTo(norm(v), 4);
      // the noise part p − √(1−ε²)v is orthogonal to v
      const a = Math.sqrt(1 - eps * eps);
      let dot = 0;
      for (let i = 0; i < d; i++) dot += (p[i]! - a * v[i]!) * v[i]!;
      expect(Math.abs(dot)).toBeLessThan(1e-4 * norm(v) ** 2);
      let cos = 0;
      for (let i = 0; i < d; i++) cos += p[i]! * v[i]!;
      expect(cos / norm(v) ** 2).toBeCloseTo(a, 4);
    }
    await ev.release();
  });
});
