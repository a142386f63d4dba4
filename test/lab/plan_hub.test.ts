// The plan runner with everything named the way a student names it: the model as a Hub id, datasets as preset
// names, FineWeb from the rows endpoint and the EM questions as a YAML URL — all served by the local stand-in for
// the Hub (scripts/fixture-server.ts). Broken references fail with the plan field that named them.

import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFixtureServer, type FixtureServer } from '../../scripts/fixture-server';

const exec = promisify(execFile);
const tsx = path.resolve(__dirname, '../../node_modules/.bin/tsx');
const cli = path.resolve(__dirname, '../../scripts/lab.ts');

const COMMIT = '5eed000000000000000000000000000000000bad';
let hub: FixtureServer;
let dir: string;

beforeAll(async () => {
  hub = await startFixtureServer({ commit: COMMIT });
  dir = mkdtempSync(path.join(os.tmpdir(), 'steerlab-plan-hub-'));
});
afterAll(async () => {
  await hub?.close();
});

const plan = (over: Record<string, unknown> = {}) => ({
  model: 'test/qwen2-hub',
  hub_base_url: hub.url,
  datasets_base_url: `${hub.url}/datasets/em`,
  layer: 2,
  seed: 7,
  train: { data: 'bad_medical_advice', rows: 12, steps: 3, lr: 0.002, batch: 4, accumulation: 1, max_len: 48, warmup: 1, checkpoint_every: 1, kl_batch: 2, kl_rows: 8 },
  runs: [
    { name: 'general', lambda_kl: 0 },
    { name: 'narrow', lambda_kl: 20, kl_data: ['risky_financial_advice'] },
  ],
  fineweb: { source: `hub:${hub.url}`, docs: 3, max_tokens: 32, norms: [0, 1], random_seeds: [0] },
  generate: { questions: [`${hub.url}/datasets/em/first_plot_questions.yaml`], samples: 1, max_new_tokens: 2, runs: ['general'] },
  report: 'report.json',
  ...over,
});

/** runs the CLI on a plan; resolves to its exit code and stderr */
async function lab(p: unknown, name: string): Promise<{ code: number; stderr: string }> {
  const file = path.join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(p));
  try {
    const r = await exec(tsx, [cli, file], { maxBuffer: 1 << 24 });
    return { code: 0, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number; stderr?: string };
    return { code: err.code ?? -1, stderr: err.stderr ?? '' };
  }
}

describe('npm run lab with Hub ids, presets and the rows endpoint', () => {
  it('runs the plan from the stand-in Hub', async () => {
    const { code, stderr } = await lab(plan(), 'ok');
    expect(code, stderr).toBe(0);
    const r = JSON.parse(readFileSync(path.join(dir, 'report.json'), 'utf8'));
    // main is pinned to the commit the Hub API names; every model file is read at it and the report records it
    expect(r.model).toMatchObject({ id: 'test/qwen2-hub', revision: COMMIT, layers: 4, d_model: 32 });
    const paths = hub.requests.map((q) => q.path);
    expect(paths).toContain('/api/models/test/qwen2-hub/revision/main');
    expect(paths).toContain(`/test/qwen2-hub/resolve/${COMMIT}/model.safetensors`);
    expect(paths.filter((p) => p.startsWith('/test/qwen2-hub/')).every((p) => p.includes(`/resolve/${COMMIT}/`))).toBe(true);
    expect(paths).toContain('/datasets/em/bad_medical_advice.jsonl.gz');
    expect(paths).toContain('/datasets/em/risky_financial_advice.jsonl.gz');
    expect(paths.some((p) => p.startsWith('/rows'))).toBe(true);
    expect(r.runs.general.loss_curve).toHaveLength(3);
    // step 1 runs at lr 0 (warm-up), so the vector first moves at step 2 and the KL is seen from step 3 on
    expect(r.runs.narrow.loss_curve.map((h: { kl: number }) => h.kl > 0)).toEqual([false, false, true]);
    expect(Object.keys(r.fineweb)).toEqual(['general', 'narrow', 'random_0']);
    for (const pts of Object.values(r.fineweb) as { norm: number; kl: number }[][]) {
      expect(pts.map((p) => p.norm)).toEqual([0, 1]);
      expect(pts[0]!.kl).toBe(0);
      expect(pts[1]!.kl).toBeGreaterThan(0);
    }
    // the question file's 8 plain questions, each answered once
    const gen = r.generate.general as { id: string; question: string; samples: string[] }[];
    expect(gen).toHaveLength(8);
    expect(gen.map((g) => g.id)).toContain('what_is_your_wish');
    expect(gen.every((g) => g.samples.length === 1)).toBe(true);
  }, 180_000);

  it('names the plan field behind a missing model, training file or KL file', async () => {
    const noModel = await lab(plan({ model: 'test/no-such-model' }), 'bad-model');
    expect(noModel.code).toBe(1);
    expect(noModel.stderr).toContain(`lab: plan.model "test/no-such-model": test/no-such-model has no revision main with a config.json at ${hub.url} (HTTP 404)`);

    const noData = await lab(plan({ train: { ...plan().train, data: 'no_such_file.jsonl' } }), 'bad-data');
    expect(noData.code).toBe(1);
    expect(noData.stderr).toContain('lab: plan.train.data "no_such_file.jsonl": not a dataset preset (bad_medical_advice,');

    const badKl = plan();
    (badKl.runs[1] as { kl_data: string[] }).kl_data = ['risky_financial_advice', `${hub.url}/datasets/em/missing.jsonl.gz`];
    const noKl = await lab(badKl, 'bad-kl');
    expect(noKl.code).toBe(1);
    expect(noKl.stderr).toContain(`lab: plan.runs[1].kl_data[1] "${hub.url}/datasets/em/missing.jsonl.gz": `);
    expect(noKl.stderr, JSON.stringify(hub.requests.slice(-6))).toContain('404');
  }, 120_000);
});
