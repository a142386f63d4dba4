// LoRA adapters through the lab on a real (tiny, random) Qwen-layout model with the real Qwen tokenizer and the
// real EM datasets: the same trainer trains them (CE, CE + λ·KL, resume), and the sweeps' properties hold for θ.

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
import { pcaTrajectories } from '../../src/lab/pca';
import { LossEvaluator } from '../../src/lab/sweeps/evaluator';
import { finewebKlSweep, perturb, stabilitySweep } from '../../src/lab/sweeps/sweeps';
import { DEFAULT_TRAIN, SteeringTrainer, type TrainConfig } from '../../src/lab/train/trainer';
import { AdapterKlEvaluator, AdapterLossEvaluator } from '../../src/lab/adapters/evaluator';
import { deltaWNorm, loraKeys, loraLayout, type AdapterShape } from '../../src/lab/adapters/lora';
import { adapterEfficiencySweep } from '../../src/lab/adapters/sweeps';
import { adapterTarget } from '../../src/lab/adapters/target';

const REF = path.resolve(__dirname, '../../../shared/reference/qwen2-hub');
const DATA = path.resolve(__dirname, '../../../shared/datasets');

let model: LoadedModel;
let tok: ChatTokenizer;
let train: TokenizedRow[];
let kl: TokenizedRow[];
// rank 2 on down_proj and q_proj of blocks 1 and 2: a cached prefix (block 0) and an attention + MLP module
const SHAPE: AdapterShape = { kind: 'lora', rank: 2, alpha: 4, keys: loraKeys(['q', 'down'], [1, 2]) };
const cfg = (over: Partial<TrainConfig> = {}): TrainConfig => ({ ...DEFAULT_TRAIN, layer: 1, microBatch: 4, accumulation: 2, steps: 8, warmup: 2, optim: { ...DEFAULT_TRAIN.optim, lr: 1e-2 }, checkpointEvery: 2, ...over });

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

describe('adapter training', () => {
  it('starts at PEFT init (B = 0, the base model), lowers the loss, and λ keeps the KL below the λ = 0 run', async () => {
    const ev = await AdapterLossEvaluator.create(model, SHAPE, train.slice(0, 16), tok.padId);
    const vev = await LossEvaluator.create(model, 1, train.slice(0, 16), tok.padId);
    const size = loraLayout(model.config, SHAPE).size;
    const unsteered = await vev.loss(new Float32Array(model.config.hiddenSize));
    const t = await SteeringTrainer.create(model, cfg(), { train, padId: tok.padId }, adapterTarget(model, SHAPE));
    const init = t.initialState().v;
    expect(init.length).toBe(size);
    // the initial adapter is the identity: the same loss as the graph without any adapter
    expect(Math.abs((await ev.loss(init)) - unsteered)).toBeLessThan(1e-6);
    const g = await t.run();
    const after = await ev.loss(g.state.v);
    expect(after).toBeLessThan(unsteered - 0.01);
    expect(g.state.history).toHaveLength(8);
    expect(g.state.checkpoints.map((c) => c.step)).toEqual([2, 4, 6, 8]);
    // step k's norm is ‖θ‖ measured before its update (after k − 1 updates): step 1 at init, step 3 at the step-2 checkpoint
    expect(g.state.history[0]!.norm).toBeCloseTo(norm(init), 4);
    expect(g.state.history[2]!.norm).toBeCloseTo(norm(g.state.checkpoints[0]!.v), 4);
    expect(g.state.history[2]!.norm).not.toBeCloseTo(g.state.history[0]!.norm, 4);

    const n = await (await SteeringTrainer.create(model, cfg({ lambdaKl: 50, klBatch: 2 }), { train, kl, padId: tok.padId }, adapterTarget(model, SHAPE))).run();
    expect(n.state.history.every((h) => h.kl >= 0)).toBe(true);
    expect(n.state.history.at(-1)!.kl).toBeGreaterThan(0);
    const kev = await AdapterKlEvaluator.create(model, SHAPE, kl.slice(0, 8), tok.padId);
    expect(await kev.kl(n.state.v)).toBeLessThan(await kev.kl(g.state.v));

    // the remove-KL continuation starts from the narrow adapter
    const ct = await SteeringTrainer.create(model, cfg({ steps: 2, init: n.state.v }), { train, padId: tok.padId }, adapterTarget(model, SHAPE));
    expect(Array.from(ct.initialState().v)).toEqual(Array.from(n.state.v));
    const cont = await ct.run();
    expect(cont.state.history.map((h) => h.kl)).toEqual([0, 0]);
    expect(Array.from(cont.state.v)).not.toEqual(Array.from(n.state.v));

    // PCA of adapter checkpoints
    const p = pcaTrajectories([{ name: 'general', checkpoints: g.state.checkpoints.map((c) => c.v) }, { name: 'narrow', checkpoints: n.state.checkpoints.map((c) => c.v) }], { k: 3 });
    expect(p.projections.map((r) => r.coords.length)).toEqual([4, 4]);
    expect(p.explainedVarianceRatio[0]!).toBeGreaterThan(0);
    await Promise.all([ev.release(), vev.release(), kev.release(), t.release(), ct.release()]);
  });

  it('resumes from a saved state exactly as an uninterrupted run', async () => {
    const target = adapterTarget(model, SHAPE);
    const full = await (await SteeringTrainer.create(model, cfg({ steps: 4 }), { train, padId: tok.padId }, target)).run();
    const ac = new AbortController();
    const t = await SteeringTrainer.create(model, cfg({ steps: 4 }), { train, padId: tok.padId }, target);
    const part = await t.run({ signal: ac.signal, onProgress: (p) => p.step === 2 && ac.abort() });
    expect(part.cancelled).toBe(true);
    expect(part.state.step).toBe(2);
    const rest = await t.run({ resume: part.state });
    expect(Array.from(rest.state.v)).toEqual(Array.from(full.state.v));
  });
});

describe('adapter sweeps', () => {
  it('scale 0 is the unsteered loss, ‖ΔW‖ is quadratic in the scale, ε = 0 is 0 %, perturbed θ keeps its norm', async () => {
    const size = loraLayout(model.config, SHAPE).size;
    const theta = Float32Array.from({ length: size }, (_, i) => Math.sin(i + 1) * 0.3);
    const ev = await AdapterLossEvaluator.create(model, SHAPE, train.slice(0, 8), tok.padId);
    const vev = await LossEvaluator.create(model, 1, train.slice(0, 8), tok.padId);
    const eff = await adapterEfficiencySweep(ev, model.config, SHAPE, theta, { scales: [0, 1, 2], norms: [1] });
    expect(Math.abs(eff.byScale[0]!.loss - (await vev.loss(new Float32Array(model.config.hiddenSize))))).toBeLessThan(1e-6);
    expect(eff.byScale[0]!.deltaW).toBe(0);
    expect(eff.byScale[1]!.deltaW).toBeCloseTo(deltaWNorm(model.config, SHAPE, theta), 6);
    expect(eff.byScale[2]!.deltaW / eff.byScale[1]!.deltaW).toBeCloseTo(4, 5);
    expect(eff.byNorm[0]!.norm).toBeCloseTo(1, 5);
    expect(eff.byScale[1]!.loss).not.toBeCloseTo(eff.byScale[0]!.loss, 3);

    const st = await stabilitySweep(ev, theta, { eps: [0, 0.5, 1], seeds: 2 });
    expect(st.points[0]!.mean).toBe(0);
    for (const eps of [0.1, 0.5, 1]) expect(norm(perturb(theta, eps, 3))).toBeCloseTo(norm(theta), 3);
    const cos = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i]!, 0) / (norm(a) * norm(b));
    expect(cos(perturb(theta, 0.6, 3), theta)).toBeCloseTo(0.8, 5);
    await Promise.all([ev.release(), vev.release()]);
  });

  it('FineWeb-style KL: zero at norm 0, random adapters of the same shape as the baseline', async () => {
    const size = loraLayout(model.config, SHAPE).size;
    const theta = Float32Array.from({ length: size }, (_, i) => Math.cos(i) * 0.3);
    const kev = await AdapterKlEvaluator.create(model, SHAPE, kl.slice(0, 4), tok.padId);
    const r = await finewebKlSweep(kev, { general: theta }, { norms: [0, 2, 4], randomSeeds: [0] });
    expect(Object.keys(r).sort()).toEqual(['general', 'random_0']);
    expect(r.general![0]!.kl).toBeLessThan(1e-9);
    expect(r.general![2]!.kl).toBeGreaterThan(r.general![1]!.kl);
    expect(r.random_0![2]!.kl).toBeGreaterThan(0);
    await kev.release();
  });
});
