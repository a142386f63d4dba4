// Which vectors an analysis or the chat may use with the loaded model: matched by model id and layer, not by
// width alone (two models with the same d_model are not interchangeable).

import { describe, expect, it } from 'vitest';
import { vectorMismatch } from '../../src/lab/vectors/match';
import { adapterMismatch } from '../../src/lab/adapters/match';
import { loraKeys } from '../../src/lab/adapters/lora';
import { studyVectors } from '../../src/ui/lib/study';
import type { LabState } from '../../src/ui/store/store';
import type { RunRecord, StoredAdapter, StoredVector } from '../../src/ui/store/types';

const info = { repo: 'test/qwen2-hub', layers: 4, dModel: 32 };
const vec = (id: string, modelId: string, layer: number, d = 32): StoredVector => ({
  id,
  name: id,
  modelId,
  layer,
  alpha: 1,
  data: new Float32Array(d).fill(0.1),
  createdAt: '2026-01-01T00:00:00Z',
  provenance: {},
  norm: 1,
  how: 'test',
});
const run = (modelRepo: string, layer: number): RunRecord =>
  ({ id: 'general', modelRepo, dModel: 32, settings: { layer, alpha: 2 }, state: { v: new Float32Array(32).fill(1) }, status: 'done', history: [] }) as unknown as RunRecord;

const adapter = (id: string, modelId: string, layers: number[]): StoredAdapter => ({
  id,
  name: id,
  modelId,
  adapter: { kind: 'lora', rank: 1, alpha: 1, keys: loraKeys(['down'], layers), data: new Float32Array(8).fill(0.1) },
  createdAt: '2026-01-01T00:00:00Z',
  provenance: {},
  norm: 1,
  how: 'test',
});

function state(vectors: StoredVector[], runs: Partial<Record<'general', RunRecord>> = {}, adapters: StoredAdapter[] = []) {
  return { model: { status: 'ready', repo: info.repo, info, files: {} }, vectors, adapters, studyIds: [...vectors, ...adapters].map((v) => v.id), runs } as unknown as Pick<LabState, 'runs' | 'vectors' | 'studyIds' | 'model' | 'adapters'>;
}

describe('vectors matched to the loaded model', () => {
  it('a ticked library vector of another model with the same width is left out; so is one at a layer the model lacks', () => {
    const list = studyVectors(state([vec('mine', info.repo, 2), vec('other model, same d', 'test/gemma3-hub', 2), vec('layer 9', info.repo, 9), vec('wider', info.repo, 2, 64)]));
    expect(list.map((v) => v.key)).toEqual(['mine']);
  });

  it("a run of another model with the same width is not this model's run", () => {
    expect(studyVectors(state([], { general: run('test/other', 2) }))).toEqual([]);
    expect(studyVectors(state([], { general: run(info.repo, 2) })).map((v) => v.key)).toEqual(['general']);
    expect(studyVectors(state([], { general: run(info.repo, 7) }))).toEqual([]);
  });

  it('adapters too: a ticked adapter of another model, or one adapting a layer the model lacks, is left out', () => {
    const list = studyVectors(state([], {}, [adapter('mine', info.repo, [0, 3]), adapter('other model', 'test/gemma3-hub', [0]), adapter('layer 4', info.repo, [1, 4])]));
    expect(list.map((v) => v.key)).toEqual(['mine']);
    expect(list[0]!.adapter?.modelId).toBe(info.repo);
    const loraRun = (modelRepo: string, layers: number[]) =>
      ({ id: 'general', modelRepo, dModel: 32, settings: { layer: 1, alpha: 2, adapter: { kind: 'lora', rank: 1, alpha: 1, keys: loraKeys(['down'], layers) } }, state: { v: new Float32Array(8).fill(1) }, status: 'done', history: [] }) as unknown as RunRecord;
    expect(studyVectors(state([], { general: loraRun(info.repo, [0, 1]) })).map((v) => v.key)).toEqual(['general']);
    expect(studyVectors(state([], { general: loraRun('test/other', [0, 1]) }))).toEqual([]);
    expect(adapterMismatch({ modelId: 'a/b', keys: ['layers.0.down'] }, info)).toBe('it was made for a/b, and the loaded model is test/qwen2-hub');
    expect(adapterMismatch({ modelId: info.repo, keys: ['layers.0.down', 'layers.4.q'] }, info)).toBe('it adapts layer 4, which does not exist in this 4-layer model');
    expect(adapterMismatch({ modelId: info.repo, keys: ['layers.3.up'] }, info)).toBeNull();
  });

  it('says why in one sentence', () => {
    expect(vectorMismatch(vec('x', 'a/b', 1), info)).toBe('it was made for a/b, and the loaded model is test/qwen2-hub');
    expect(vectorMismatch(vec('x', info.repo, 4), info)).toBe('its layer 4 does not exist in this 4-layer model');
    expect(vectorMismatch(vec('x', info.repo, 1, 31), info)).toBe('it has 31 dimensions and the model 32');
    expect(vectorMismatch(vec('x', info.repo, 1), info)).toBeNull();
  });
});
