// The trainer and sweeps on the Gemma-3 layout (tied embedding scaled by √d, sandwich norms, q/k norms, sliding
// window 16 shorter than the rows, vocabulary 262144) with the real Gemma tokenizer and the real EM datasets:
// the same properties as on Qwen, so nothing in training depends on one architecture.

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
import { KlEvaluator, LossEvaluator } from '../../src/lab/sweeps/evaluator';
import { efficiencySweep } from '../../src/lab/sweeps/sweeps';
import { DEFAULT_TRAIN, SteeringTrainer, type TrainConfig, type TrainProgress } from '../../src/lab/train/trainer';

const REF = path.resolve(__dirname, '../../../shared/reference/gemma3-hub');
const DATA = path.resolve(__dirname, '../../../shared/datasets');
const LAYER = 1;

let model: LoadedModel;
let tok: ChatTokenizer;
let train: TokenizedRow[];
let kl: TokenizedRow[];
const cfg = (over: Partial<TrainConfig> = {}): TrainConfig => ({ ...DEFAULT_TRAIN, layer: LAYER, microBatch: 4, accumulation: 1, steps: 6, warmup: 1, optim: { ...DEFAULT_TRAIN.optim, lr: 3e-3 }, checkpointEvery: 3, ...over });
const effective = (v: Float32Array) => Float32Array.from(v, (x) => x * 256);

beforeAll(async () => {
  const src = dirSource(REF);
  const m = await loadModel(src);
  model = LoadedModel.create(await createBackend({ prefer: 'wasm' }), m.config, m.weights);
  tok = await loadTokenizer(src);
  const med = await prepareChatDataset(new Uint8Array(readFileSync(path.join(DATA, 'bad_medical_advice.jsonl.gz'))), tok, { limit: 24, maxLen: 64 });
  const sports = await prepareChatDataset(new Uint8Array(readFileSync(path.join(DATA, 'extreme_sports.jsonl.gz'))), tok, { limit: 12, maxLen: 64 });
  train = med.train;
  kl = sports.train;
  // the rows are longer than Gemma's sliding window, so the window mask is exercised
  expect(Math.max(...train.map((r) => r.ids.length))).toBeGreaterThan(model.config.slidingWindow ?? Infinity);
}, 60_000);

describe('training on gemma3-hub', () => {
  it('lowers the training loss, reports progress, and a large λ keeps the KL on the KL data below λ = 0', async () => {
    const ev = await LossEvaluator.create(model, LAYER, train.slice(0, 8), tok.padId);
    const zero = new Float32Array(model.config.hiddenSize);
    const before = await ev.loss(zero);
    const events: TrainProgress[] = [];
    const general = await SteeringTrainer.create(model, cfg(), { train, padId: tok.padId });
    const g = await general.run({ onProgress: (p) => events.push(p) });
    const after = await ev.loss(effective(g.state.v));
    expect(after).toBeLessThan(before - 0.01);
    expect(events.map((e) => e.step)).toEqual([1, 2, 3, 4, 5, 6]);
    for (const e of events) {
      expect(e.totalSteps).toBe(6);
      expect(e.tokensPerSec).toBeGreaterThan(0);
      expect(e.norm).toBeGreaterThanOrEqual(0);
    }
    expect(events.at(-1)!.etaSec).toBe(0);
    // step k's norm is ‖α·v‖ of the vector its loss was measured at: the start (0) for step 1, the vector after
    // k − 1 updates later on (step 4's is the step-3 checkpoint's)
    expect(events[0]!.norm).toBe(0);
    const after3 = g.state.checkpoints.find((c) => c.step === 3)!;
    expect(events[3]!.step).toBe(4);
    expect(events[3]!.norm).toBeCloseTo(Math.hypot(...effective(after3.v)), 3);
    expect(events.at(-1)!.norm).toBeLessThan(Math.hypot(...effective(g.state.v)));
    // efficiency at scale 0 is the unsteered loss, at scale 1 the trained vector's
    const eff = await efficiencySweep(ev, effective(g.state.v), { scales: [0, 1] });
    expect(eff.byScale[0]!.loss).toBe(before);
    expect(eff.byScale[1]!.loss).toBe(after);

    const narrow = await SteeringTrainer.create(model, cfg({ lambdaKl: 50, klBatch: 2 }), { train, kl, padId: tok.padId });
    const n = await narrow.run();
    const kev = await KlEvaluator.create(model, LAYER, kl.slice(0, 4), tok.padId, { precision: 'float32' });
    expect(await kev.kl(zero)).toBe(0);
    expect(await kev.kl(effective(n.state.v))).toBeLessThan(await kev.kl(effective(g.state.v)));
    await Promise.all([ev.release(), kev.release(), general.release(), narrow.release()]);
  }, 120_000);
});
