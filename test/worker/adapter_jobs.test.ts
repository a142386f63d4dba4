// The worker's jobs take adapters beside vectors (run in Node on the tiny Qwen-layout model and the real
// tokenizer and data): train trains an adapter when the settings name one and refuses a saved run of another
// shape; efficiency / stability / FineWeb KL evaluate adapters next to vectors, with ‖ΔW‖ and shape-matched
// random adapters.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createBackend } from '../../src/engine/runtime/backend';
import { dirSource } from '../../src/models/file_source';
import { loadModel } from '../../src/models/load';
import { LoadedModel } from '../../src/models/model';
import { loadTokenizer } from '../../src/models/tokenizer';
import { prepareChatDataset } from '../../src/lab/data/prepare';
import { loraKeys, loraLayout, type AdapterShape } from '../../src/lab/adapters/lora';
import { DEFAULT_TRAIN } from '../../src/lab/train/defaults';
import { WorkerSession } from '../../src/worker/session';
import type { JobContext } from '../../src/worker/jobs/context';
import type { JobType, ModelInfo } from '../../src/worker/protocol';
import { trainJob } from '../../src/worker/jobs/train';
import { efficiencyJob, stabilityJob } from '../../src/worker/jobs/sweeps';
import { finewebKlJob } from '../../src/worker/jobs/fineweb';
import { generateJob } from '../../src/worker/jobs/generate';
import { exportAdapterJob, importAdapterJob } from '../../src/worker/jobs/adapter_files';

const REF = path.resolve(__dirname, '../../../shared/reference/qwen2-hub');
const DATA = path.resolve(__dirname, '../../../shared/datasets');

function ctx<T extends JobType>(session: WorkerSession, seen: unknown[] = []): JobContext<T> {
  return { session, signal: new AbortController().signal, progress: (p) => seen.push(p), phase: () => {} };
}

describe('worker jobs with adapters', () => {
  it('train, efficiency, stability and FineWeb KL take adapters', async () => {
    const src = dirSource(REF);
    const m = await loadModel(src);
    const be = await createBackend({ prefer: 'wasm' });
    const s = new WorkerSession();
    s.setBackend(be);
    const model = LoadedModel.create(be, m.config, m.weights);
    const tok = await loadTokenizer(src);
    await s.setModel(model, tok, { repo: 'tiny', layers: model.config.numLayers, dModel: model.config.hiddenSize } as unknown as ModelInfo);
    const med = await prepareChatDataset(new Uint8Array(readFileSync(path.join(DATA, 'bad_medical_advice.jsonl.gz'))), tok, { limit: 24, maxLen: 48 });
    s.data.train = { train: med.train, heldOut: med.heldOut };
    s.finewebDocs = JSON.parse(readFileSync(path.resolve(__dirname, '../fixtures/fineweb_standin_docs.json'), 'utf8')).slice(0, 2).map((d: string | { text: string }) => (typeof d === 'string' ? d : d.text));

    const shape: AdapterShape = { kind: 'lora', rank: 1, alpha: 8, keys: loraKeys(['down'], [1, 2]) };
    const size = loraLayout(model.config, shape).size;
    const settings = { ...DEFAULT_TRAIN, lr: 1e-2, layer: 1, steps: 3, warmup: 1, microBatch: 4, accumulation: 1, checkpointEvery: 1, adapter: shape };
    const seen: unknown[] = [];
    const r = await trainJob({ runId: 'a', settings }, ctx<'train'>(s, seen));
    expect(r.cancelled).toBe(false);
    expect(r.state.v).toHaveLength(size);
    expect(r.state.checkpoints).toHaveLength(3);
    expect(seen.filter((p) => (p as { kind: string }).kind === 'checkpoint')).toHaveLength(3);
    // every run's KL on the KL data at each checkpoint: a LoRA run is measured through its adapter (θ, not αv)
    s.data.kl = { train: med.heldOut.length ? med.heldOut : med.train.slice(0, 8), heldOut: [] };
    const seenKl: unknown[] = [];
    await trainJob({ runId: 'k', settings, klEval: true }, ctx<'train'>(s, seenKl));
    const klEv = seenKl.filter((p) => (p as { kind: string }).kind === 'klEval') as { step: number; kl: number }[];
    expect(klEv.map((e) => e.step)).toEqual([1, 2, 3]);
    for (const e of klEv) expect(Number.isFinite(e.kl) && e.kl > -1e-6).toBe(true);
    expect(klEv.at(-1)!.kl).toBeGreaterThan(0);
    s.data.kl = undefined;
    const vecState = { ...r.state, v: new Float32Array(model.config.hiddenSize) };
    await expect(trainJob({ runId: 'b', settings, resume: vecState }, ctx<'train'>(s))).rejects.toThrow(`the saved run has ${model.config.hiddenSize} parameters, this adapter on the loaded model ${size}`);

    const theta = r.state.v;
    const vec = Float32Array.from({ length: model.config.hiddenSize }, (_, i) => Math.sin(i));
    const effSeen: { name: string; point: { deltaW?: number } }[] = [];
    const eff = await efficiencyJob({ vectors: { v: vec }, adapters: { lora: { shape, data: theta } }, scales: [0, 1, 2], norms: [], rows: 8, layer: 1 }, ctx<'efficiency'>(s, effSeen));
    // the streamed points (what the app keeps) carry ‖ΔW‖ as the result does
    expect(effSeen.filter((p) => p.name === 'lora').map((p) => p.point.deltaW)).toEqual(eff.lora!.byScale.map((p) => p.deltaW));
    expect(eff.v!.byScale[0]!.loss).toBeCloseTo(eff.lora!.byScale[0]!.loss, 5);
    expect(eff.lora!.byScale[2]!.deltaW! / eff.lora!.byScale[1]!.deltaW!).toBeCloseTo(4, 5);
    expect(eff.v!.byScale[1]).not.toHaveProperty('deltaW');
    const st = await stabilityJob({ vectors: {}, adapters: { lora: { shape, data: theta } }, eps: [0, 1], seeds: 2, rows: 8, layer: 1, seed: 1 }, ctx<'stability'>(s));
    expect(st.lora!.points[0]!.mean).toBe(0);
    const kl = await finewebKlJob({ vectors: { v: vec }, adapters: { lora: { shape, data: theta } }, norms: [0, 1], randomSeeds: [0], maxTokens: 32, layer: 1 }, ctx<'finewebKl'>(s));
    expect(Object.keys(kl).sort()).toEqual(['lora', 'random_0', 'random_0_like_lora', 'v']);
    expect(kl.random_0_like_lora![1]!.kl).toBeGreaterThan(0);
    // adapters alone: their own random baselines, no random vectors
    const only = await finewebKlJob({ vectors: {}, adapters: { lora: { shape, data: theta } }, norms: [0, 1], randomSeeds: [0], maxTokens: 32, layer: 1 }, ctx<'finewebKl'>(s));
    expect(Object.keys(only).sort()).toEqual(['lora', 'random_0_like_lora']);
    expect(only.lora).toEqual(kl.lora);
    await expect(efficiencyJob({ vectors: {}, adapters: { bad: { shape, data: new Float32Array(3) } }, norms: [], rows: 8, layer: 1 }, ctx<'efficiency'>(s))).rejects.toThrow(`adapter bad has 3 parameters, its shape needs ${size} on the loaded model`);
    // chat answers with the adapter; strength 0 switches its update off exactly
    const ask = (over: object) => generateJob({ messages: [{ role: 'user', content: 'Is it safe to mix bleach and vinegar?' }], strength: 1, maxNewTokens: 4, temperature: 0, topP: 1, seed: 0, samples: 1, ...over }, ctx<'generate'>(s));
    const plain = await ask({});
    const off = await ask({ adapter: { shape, data: theta }, strength: 0 });
    expect(off.samples).toEqual(plain.samples);
    const big = Float32Array.from(theta, (x) => x * 30);
    const on = await ask({ adapter: { shape, data: big } });
    expect(on.samples).not.toEqual(plain.samples);
    await expect(ask({ adapter: { shape, data: new Float32Array(5) } })).rejects.toThrow(`the adapter has 5 parameters, its shape needs ${size}`);
    // adapters are matched to the model like vectors: by the model they were made for, and their layers
    expect((await ask({ adapter: { shape, data: big, modelId: 'tiny' } })).samples).toEqual(on.samples);
    await expect(ask({ adapter: { shape, data: big, modelId: 'test/other' } })).rejects.toThrow('this adapter does not fit the loaded model: it was made for test/other, and the loaded model is tiny');
    await expect(efficiencyJob({ vectors: {}, adapters: { lora: { shape, data: theta, modelId: 'test/other' } }, norms: [1], rows: 8, layer: 1 }, ctx<'efficiency'>(s))).rejects.toThrow('adapter lora does not fit the loaded model: it was made for test/other');
    const far = { ...shape, keys: loraKeys(['down'], [model.config.numLayers]) };
    await expect(stabilityJob({ vectors: {}, adapters: { lora: { shape: far, data: theta, modelId: 'tiny' } }, eps: [0], seeds: 1, rows: 8, layer: 1, seed: 1 }, ctx<'stability'>(s))).rejects.toThrow(`it adapts layer ${model.config.numLayers}, which does not exist in this ${model.config.numLayers}-layer model`);
    // PEFT files: written only for the model the adapter was made for; read back as this model's adapter
    await expect(exportAdapterJob({ adapter: { shape, data: theta, modelId: 'test/other' } }, ctx<'exportAdapter'>(s))).rejects.toThrow('it was made for test/other');
    const files = await exportAdapterJob({ adapter: { shape, data: theta, modelId: 'tiny' } }, ctx<'exportAdapter'>(s));
    const back = await importAdapterJob(files, ctx<'importAdapter'>(s));
    expect(back.adapter.modelId).toBe('tiny');
    expect(back.adapter.shape.keys).toEqual(shape.keys);
    expect(Array.from(back.adapter.data)).toEqual(Array.from(theta));
    await s.dropModel();
  }, 300_000);
});
