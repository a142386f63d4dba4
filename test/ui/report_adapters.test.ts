// The app's study export with LoRA runs: the plan it writes trains every run as the chosen adapter preset (and the
// CLI accepts it), the report carries θ with ‖θ‖ and the adapter's shape, and importing a report puts only
// steering vectors into the library.
import { describe, expect, it } from 'vitest';
import { loraKeys } from '../../src/lab/adapters/lora';
import { parsePlan } from '../../src/lab/plan/schema';
import { formsFromPlan, parseLabJson, planFromState, reportFromState } from '../../src/ui/lib/report';
import { DEFAULT_DATA_FORM, DEFAULT_TRAIN_FORM, useLab, type LabState } from '../../src/ui/store/store';
import type { RunRecord } from '../../src/ui/store/types';

function state(): LabState {
  const adapter = { kind: 'lora' as const, rank: 1, alpha: 256, keys: loraKeys(['down'], [1]) };
  const theta = Float32Array.from({ length: 96 }, (_, i) => Math.sin(i) * 0.1);
  const vec = Float32Array.from({ length: 32 }, (_, i) => Math.cos(i) * 0.01);
  const base = { layer: 1, alpha: 256, lr: 1e-4, microBatch: 4, accumulation: 4, epochs: 2, warmup: 5, lambdaKl: 0, klBatch: 8, checkpointEvery: 5, seed: 42 };
  const rec = (id: 'general' | 'narrow', v: Float32Array, settings: RunRecord['settings']): RunRecord => ({
    id,
    modelRepo: 'test/qwen2-hub',
    dModel: 32,
    dataLabel: 'Bad medical advice',
    settings,
    status: 'done',
    history: [{ step: 1, loss: 2, ce: 2, kl: 0, norm: 1, lr: 1e-4 }],
    state: { step: 1, totalSteps: 1, v, adam: { m: new Float32Array(v.length), v: new Float32Array(v.length), t: 1 }, history: [{ step: 1, loss: 2, ce: 2, kl: 0, norm: 1, lr: 1e-4 }], checkpoints: [{ step: 1, v }] },
    startedAt: '2026-01-01T00:00:00Z',
    updatedAt: '2026-01-01T00:00:00Z',
  });
  return {
    ...useLab.getState(),
    model: { status: 'ready', repo: 'test/qwen2-hub', files: {}, info: { repo: 'test/qwen2-hub', defaultLayer: 1, layers: 4, dModel: 32, format: 'safetensors', arch: 'qwen2' } as LabState['model']['info'] },
    trainForm: { ...DEFAULT_TRAIN_FORM, layer: 1, adapterPreset: 'r1-down-steer' },
    dataForm: { ...DEFAULT_DATA_FORM },
    runs: { general: rec('general', theta, { ...base, adapter }), narrow: rec('narrow', vec, { ...base, lambdaKl: 5 }) },
  };
}

describe('study export with adapters', () => {
  it('plans adapter runs, reports θ and its shape, imports only vectors', () => {
    const s = state();
    const plan = parsePlan(JSON.parse(JSON.stringify(planFromState(s))));
    expect(plan.runs.map((r) => r.adapter?.preset)).toEqual(['r1-down-steer', 'r1-down-steer', 'r1-down-steer']);
    expect(formsFromPlan(plan).train.adapterPreset).toBe('r1-down-steer');
    const report = reportFromState(s, { app: 'test' });
    const g = report.runs.general!;
    expect(g.adapter).toMatchObject({ kind: 'lora', rank: 1, keys: ['layers.1.down'], params: 96 });
    expect(g.final_norm).toBeCloseTo(Math.hypot(...s.runs.general!.state!.v), 5);
    expect(report.runs.narrow!.adapter).toBeUndefined();
    expect(report.runs.narrow!.final_norm).toBeCloseTo(256 * Math.hypot(...s.runs.narrow!.state!.v), 3);
    const back = parseLabJson(JSON.stringify(report), 'study.json');
    expect(back.kind === 'report' && back.vectors.map((v) => v.name)).toEqual(['narrow (from study.json)']);
    const onlyAdapters = { ...report, runs: { general: g } };
    expect(() => parseLabJson(JSON.stringify(onlyAdapters), 'a.json')).toThrow('a.json: the report has no steering-vector runs');
  });
});
