// The app's study export and import: the plan it writes is one the CLI accepts, the report carries each run's
// final vector in standard base64 (what Python's b64decode reads) and comes back into the library unchanged, and
// bad files are refused with the file and field named. The vector is the qwen2-hub reference steering vector.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePlan } from '../../src/lab/plan/schema';
import { vectorToGguf } from '../../src/lab/vectors/gguf';
import { vectorToSafetensors } from '../../src/lab/vectors/safetensors';
import { readSafetensorsRaw } from '../../src/models/safetensors';
import { formsFromPlan, parseLabJson, planFromState, reportFromState } from '../../src/ui/lib/report';
import { readVectorFile } from '../../src/ui/lib/vector_files';
import { byHook } from '../../src/ui/lib/study';
import { DEFAULT_DATA_FORM, DEFAULT_TRAIN_FORM, useLab, type LabState } from '../../src/ui/store/store';
import type { RunRecord } from '../../src/ui/store/types';

const REF = path.resolve(__dirname, '../../../shared/reference/qwen2-hub');
const refJson = JSON.parse(readFileSync(path.join(REF, 'reference.json'), 'utf8'));
const steer = readSafetensorsRaw(new Uint8Array(readFileSync(path.join(REF, 'reference.safetensors'))), 'reference.safetensors').get('steer_vector')!.data as Float32Array;
/** ‖steer_vector‖ of the qwen2-hub fixture (32 float32 values), computed once in Python from the file */
const FIXTURE_NORM = 3.4474862;
const asFile = (name: string, bytes: Uint8Array | string) => ({ name, arrayBuffer: async () => new Uint8Array(typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes).buffer as ArrayBuffer });

function studyState(): LabState {
  const layer = refJson.steer_layer as number;
  const settings = { layer, alpha: 256, lr: 1e-4, microBatch: 4, accumulation: 4, epochs: 2, warmup: 5, lambdaKl: 0, klBatch: 8, checkpointEvery: 5, seed: 42 };
  const v = Float32Array.from(steer, (x) => x / 256);
  const run: RunRecord = {
    id: 'general',
    modelRepo: 'test/qwen2-hub',
    dModel: v.length,
    dataLabel: 'Bad medical advice',
    settings,
    status: 'done',
    history: [{ step: 1, loss: 2, ce: 2, kl: 0, norm: 1, lr: 1e-4 }],
    state: { step: 1, totalSteps: 1, v, adam: { m: new Float32Array(v.length), v: new Float32Array(v.length), t: 1 }, history: [{ step: 1, loss: 2, ce: 2, kl: 0, norm: 1, lr: 1e-4 }], checkpoints: [{ step: 1, v }] },
    startedAt: '2026-01-01T00:00:00Z',
    updatedAt: '2026-01-01T00:00:00Z',
  };
  return {
    ...useLab.getState(),
    model: { status: 'ready', repo: 'test/qwen2-hub', files: {}, info: { repo: 'test/qwen2-hub', defaultLayer: layer, layers: 4, dModel: v.length, format: 'safetensors', arch: 'qwen2' } as LabState['model']['info'] },
    sources: { hubUrl: 'http://127.0.0.1:9', datasetsBase: 'x', questionsUrl: 'y', fineweb: 'hub' },
    trainForm: { ...DEFAULT_TRAIN_FORM, layer },
    dataForm: { ...DEFAULT_DATA_FORM, limit: 64 },
    runs: { general: run },
  };
}

describe('plan and report export', () => {
  it('writes a plan the CLI accepts, from the forms', () => {
    const s = studyState();
    const plan = parsePlan(JSON.parse(JSON.stringify(planFromState(s))));
    expect(plan.model).toBe('test/qwen2-hub');
    expect(plan.hub_base_url).toBe('http://127.0.0.1:9');
    expect([plan.layer, plan.alpha, plan.train.lr, plan.train.batch, plan.train.accumulation, plan.train.rows]).toEqual([2, 256, 1e-4, 4, 4, 64]);
    expect(plan.runs.map((r) => [r.name, r.lambda_kl > 0, r.init_from])).toEqual([
      ['general', false, undefined],
      ['narrow', true, undefined],
      ['narrow_remove_kl', false, 'narrow'],
    ]);
    expect(plan.runs[1]!.kl_data).toEqual(['risky_financial_advice', 'extreme_sports', 'bad_legal_advice', 'non_med_aligned']);
    // and reading it back fills the same forms
    const f = formsFromPlan(plan);
    expect(f.train).toMatchObject({ layer: 2, lr: 1e-4, microBatch: 4, accumulation: 4, narrowLambda: 6.6 });
    expect(f.data).toMatchObject({ trainPresets: ['bad_medical_advice'], limit: 64 });
  });

  it('stores final vectors as standard base64 and imports them back exactly', () => {
    const report = reportFromState(studyState(), { app: 'test' });
    const b64 = report.runs.general!.final_vector;
    expect(b64).toMatch(/^[A-Za-z0-9+/]*={0,2}$/);
    const raw = Buffer.from(b64, 'base64');
    expect(Array.from(new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4))).toEqual(Array.from(Float32Array.from(steer, (x) => x / 256)));
    // the norms are of the effective vector α·v (the fixture's steer_vector, whose norm is written here)
    expect(report.runs.general!.final_norm).toBeCloseTo(FIXTURE_NORM, 5);
    expect(report.runs.general!.checkpoint_norms).toEqual([{ step: 1, norm: report.runs.general!.final_norm }]);
    expect(report.model.hook).toBe('blocks.2.hook_resid_post');
    const back = parseLabJson(JSON.stringify(report), 'study.json');
    expect(back.kind).toBe('report');
    if (back.kind !== 'report') return;
    const [v] = back.vectors;
    expect([v!.modelId, v!.layer, v!.alpha]).toEqual(['test/qwen2-hub', 2, 256]);
    expect(Array.from(v!.data, (x) => x * 256)).toEqual(Array.from(steer, (x) => Math.fround(Math.fround(x / 256) * 256)));
  });

  it('says once what its numbers are: PCA explained variance as fractions in [0, 1], stability in percent', () => {
    const s = studyState();
    s.pca = { explainedVarianceRatio: [0.6, 0.25, 0.1], projections: [{ name: 'general', coords: [[1, 0, 0]] }] } as LabState['pca'];
    const report = JSON.parse(JSON.stringify(reportFromState(s, {})));
    expect(report.units.fractions).toMatch(/every share or ratio in this report is a fraction in \[0, 1\], not a percentage/);
    expect(report.units['pca.explained_variance_ratio']).toMatch(/fraction .* in \[0, 1\]/);
    expect(report.units['stability.mean, stability.sd']).toMatch(/^PERCENT/);
    expect(report.pca.explained_variance_ratio).toEqual([0.6, 0.25, 0.1]);
    for (const f of report.pca.explained_variance_ratio) expect(f >= 0 && f <= 1).toBe(true);
    // the app keeps only the ratios: no empty explained_variance pretending to be a measurement
    expect('explained_variance' in report.pca).toBe(false);
    expect(report.pca.coords.general).toEqual([[1, 0, 0]]);
  });

  it('gives the general run (λ = 0) its KL on the KL data, measured at its last checkpoint, and never a negative KL', () => {
    const s = studyState();
    expect(reportFromState(s, {}).runs.general!.kl_eval).toBeUndefined();
    s.runs.general = { ...s.runs.general!, klEval: [{ step: 1, kl: 0.0123 }] };
    expect(reportFromState(s, {}).runs.general!.kl_eval).toBe(0.0123);
    // float rounding below zero is reported as 0; a KL measured before the run's last step is not its final KL
    s.runs.general = { ...s.runs.general!, klEval: [{ step: 1, kl: -1.26e-8 }] };
    expect(reportFromState(s, {}).runs.general!.kl_eval).toBe(0);
    s.runs.general = { ...s.runs.general!, klEval: [{ step: 0, kl: 0.5 }] };
    expect(reportFromState(s, {}).runs.general!.kl_eval).toBeUndefined();
  });

  it("carries Gemma's mlp.down_proj hook choice into the plan and report, and not to a model without it", () => {
    const gemma = studyState();
    gemma.model = { ...gemma.model, info: { ...gemma.model.info!, arch: 'gemma2', hookPoints: ['resid_post', 'down_proj'] } };
    gemma.trainForm = { ...gemma.trainForm, hook: 'down_proj' };
    const plan = parsePlan(JSON.parse(JSON.stringify(planFromState(gemma))));
    expect(plan.hook).toBe('down_proj');
    expect(reportFromState(gemma, {}).model.hook).toBe('model.layers.2.mlp.down_proj');
    expect(formsFromPlan(plan).train.hook).toBe('down_proj');
    // the same form on a model where the two points are one: the plain block-output hook
    const qwen = { ...gemma, model: { ...gemma.model, info: { ...gemma.model.info!, hookPoints: ['resid_post' as const] } } };
    expect(parsePlan(JSON.parse(JSON.stringify(planFromState(qwen)))).hook).toBe('resid_post');
  });

  it('groups study vectors by hook, so each analysis job runs at one layer and point', () => {
    const v = (key: string, layer: number, hook?: 'down_proj') => ({ key, label: key, layer, ...(hook ? { hook } : {}), effective: new Float32Array(1), norm: 1, color: '', print: key });
    const groups = byHook([v('a', 2), v('b', 2, 'down_proj'), v('c', 2), v('d', 3)]);
    expect(groups.map(([h, vs]) => [h, vs.map((x) => x.key)])).toEqual([
      [{ layer: 2 }, ['a', 'c']],
      [{ layer: 2, hook: 'down_proj' }, ['b']],
      [{ layer: 3 }, ['d']],
    ]);
  });

  it('refuses bad JSON with the file and field named', () => {
    expect(() => parseLabJson('{"runs": ', 'a.json')).toThrow(/a\.json is not valid JSON/);
    const report = reportFromState(studyState(), {});
    delete (report.runs.general as Partial<typeof report.runs.general>).final_vector;
    expect(() => parseLabJson(JSON.stringify(report), 'r.json')).toThrow(/r\.json: runs\.general\.final_vector is missing/);
    expect(() => parseLabJson(JSON.stringify({ ...planFromState(studyState()), layer: -1 }), 'p.json')).toThrow(/plan\.layer must be >= 0/);
  });
});

describe('vector files', () => {
  const vec = { name: 'ref', modelId: 'test/qwen2-hub', layer: refJson.steer_layer as number, alpha: 256, data: Float32Array.from(steer, (x) => x / 256), createdAt: '2026-01-01T00:00:00.000Z', provenance: null };

  it('tells GGUF, safetensors and JSON apart by their bytes, even renamed', async () => {
    const g = await readVectorFile(asFile('renamed.bin', vectorToGguf(vec, 'qwen2')));
    expect(g.kind === 'vectors' && g.format).toBe('GGUF');
    const s = await readVectorFile(asFile('v.safetensors', vectorToSafetensors(vec)));
    expect(s.kind === 'vectors' && s.vectors[0]!.layer).toBe(vec.layer);
    const p = await readVectorFile(asFile('plan.json', JSON.stringify(planFromState(studyState()))));
    expect(p.kind).toBe('plan');
  });

  it('says what a bad file is not, and what is wrong with a broken one', async () => {
    await expect(readVectorFile(asFile('empty.gguf', new Uint8Array()))).rejects.toThrow(/empty\.gguf is empty/);
    await expect(readVectorFile(asFile('notes.txt', 'hello there'))).rejects.toThrow(/notes\.txt is not a GGUF control vector, a safetensors vector or a steerlab plan\/report JSON/);
    const cut = vectorToGguf(vec, 'qwen2').slice(0, 200);
    await expect(readVectorFile(asFile('cut.gguf', cut))).rejects.toThrow(/cut\.gguf/);
  });
});
