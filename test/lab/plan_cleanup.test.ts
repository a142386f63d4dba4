// A plan run that ends early (cancelled in the middle of a sweep, or failing in a later step) releases every
// ONNX session it opened and frees the model's weights: counted on the real runner, the real qwen2-hub model
// and the real training file.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createBackend } from '../../src/engine/runtime/backend';
import { CompiledGraph, WeightStore } from '../../src/engine/runtime/session';
import { runPlan } from '../../src/lab/plan/run';
import { parsePlan } from '../../src/lab/plan/schema';
import { dirSource } from '../../src/models/file_source';

const SHARED = path.resolve(__dirname, '../../../shared');

function track() {
  const created = new Set<CompiledGraph>();
  const released = new Set<CompiledGraph>();
  const create = CompiledGraph.create.bind(CompiledGraph);
  vi.spyOn(CompiledGraph, 'create').mockImplementation(async (...a: Parameters<typeof CompiledGraph.create>) => {
    const g = await create(...a);
    created.add(g);
    return g;
  });
  const release = CompiledGraph.prototype.release;
  vi.spyOn(CompiledGraph.prototype, 'release').mockImplementation(function (this: CompiledGraph) {
    released.add(this);
    return release.call(this);
  });
  const dispose = vi.spyOn(WeightStore.prototype, 'dispose');
  return { created, released, dispose };
}

afterEach(() => vi.restoreAllMocks());

const plan = parsePlan({
  model: 'qwen2-hub',
  layer: 2,
  seed: 3,
  train: { data: 'train', rows: 8, steps: 2, lr: 0.002, batch: 4, accumulation: 1, max_len: 96, warmup: 0, checkpoint_every: 1, kl_batch: 2 },
  runs: [{ name: 'general', lambda_kl: 0 }],
  efficiency: { scales: [0, 0.5, 1, 1.5], norms: [], rows: 4 },
  fineweb: { source: 'docs', docs: 2, max_tokens: 16, norms: [0, 1], random_seeds: [] },
  report: 'r.json',
});

async function env(over: { log?: (m: string) => void; signal?: AbortSignal; finewebDocs?: () => Promise<string[]> }) {
  return {
    backend: await createBackend({ prefer: 'wasm' }),
    modelSource: () => dirSource(path.join(SHARED, 'reference/qwen2-hub')),
    dataset: async () => new Uint8Array(readFileSync(path.join(SHARED, 'datasets/bad_medical_advice.jsonl.gz'))),
    finewebDocs: over.finewebDocs ?? (async () => ['a document long enough to count '.repeat(5), 'another one of those, also long enough '.repeat(4)]),
    versions: {},
    log: over.log,
    signal: over.signal,
  };
}

describe('runPlan cleans up whatever way it ends', () => {
  it('cancelled in the middle of the efficiency sweep: every session released, the weights freed', async () => {
    const t = track();
    const ac = new AbortController();
    const e = await env({ signal: ac.signal, log: (m) => m.startsWith('efficiency:') && ac.abort() });
    await expect(runPlan(plan, e)).rejects.toMatchObject({ name: 'AbortError' });
    expect(t.created.size).toBeGreaterThan(2);
    expect([...t.created].filter((g) => !t.released.has(g))).toHaveLength(0);
    expect(t.dispose).toHaveBeenCalledTimes(1);
  }, 120_000);

  it('failing at the FineWeb step: the same', async () => {
    const t = track();
    const e = await env({ finewebDocs: async () => Promise.reject(new Error('rows API down')) });
    await expect(runPlan(plan, e)).rejects.toThrow('plan.fineweb.source "docs": rows API down');
    expect([...t.created].filter((g) => !t.released.has(g))).toHaveLength(0);
    expect(t.dispose).toHaveBeenCalledTimes(1);
  }, 120_000);
});
