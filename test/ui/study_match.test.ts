// Which vectors an analysis or the chat may use with the loaded model: matched by model id and layer, not by
// width alone (two models with the same d_model are not interchangeable).

import { describe, expect, it } from 'vitest';
import { vectorMismatch } from '../../src/lab/vectors/match';
import { studyVectors } from '../../src/ui/lib/study';
import type { LabState } from '../../src/ui/store/store';
import type { RunRecord, StoredVector } from '../../src/ui/store/types';

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

function state(vectors: StoredVector[], runs: Partial<Record<'general', RunRecord>> = {}) {
  return { model: { status: 'ready', repo: info.repo, info, files: {} }, vectors, studyIds: vectors.map((v) => v.id), runs } as unknown as Pick<LabState, 'runs' | 'vectors' | 'studyIds' | 'model'>;
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

  it('says why in one sentence', () => {
    expect(vectorMismatch(vec('x', 'a/b', 1), info)).toBe('it was made for a/b, and the loaded model is test/qwen2-hub');
    expect(vectorMismatch(vec('x', info.repo, 4), info)).toBe('its layer 4 does not exist in this 4-layer model');
    expect(vectorMismatch(vec('x', info.repo, 1, 31), info)).toBe('it has 31 dimensions and the model 32');
    expect(vectorMismatch(vec('x', info.repo, 1), info)).toBeNull();
  });
});
