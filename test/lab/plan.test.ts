// The plan runner: malformed plans are rejected naming the field; the example study runs headless end to end
// (CLI, real datasets, qwen2-hub) and its report has the properties the paper's procedures imply.

import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parsePlan, PLAN_LIMITS } from '../../src/lab/plan/schema';
import { createBackend } from '../../src/engine/runtime/backend';
import { dirSource } from '../../src/models/file_source';
import { loadModel } from '../../src/models/load';
import { LoadedModel } from '../../src/models/model';
import { loadTokenizer } from '../../src/models/tokenizer';
import { prepareChatDataset } from '../../src/lab/data/prepare';
import { sampleWithoutReplacement } from '../../src/lab/data/split';
import { unsteeredCe } from './direct_loss';

const EXAMPLE = path.resolve(__dirname, '../../examples/qwen2-hub-study.json');
const base = () => JSON.parse(readFileSync(EXAMPLE, 'utf8'));

describe('parsePlan', () => {
  it('accepts the example and fills defaults', () => {
    const p = parsePlan(base());
    expect(p.runs.map((r) => r.name)).toEqual(['general', 'narrow', 'narrow_remove_kl']);
    expect(p.runs[2]!.init_from).toBe('narrow');
    const minimal = parsePlan({ model: 'Qwen/Qwen2.5-0.5B-Instruct', layer: 12, train: { data: 'bad_medical_advice' }, runs: [{ name: 'g', lambda_kl: 0 }], report: 'r.json' });
    expect(minimal.train).toMatchObject({ lr: 1e-4, batch: 4, accumulation: 4, max_len: 256, labels: 'assistant', epochs: 2, warmup: 5 });
    expect(minimal.alpha).toBe(256);
  });

  it('names the bad field', () => {
    const bad = (mut: (p: Record<string, any>) => void) => {
      const p = base();
      mut(p);
      return () => parsePlan(p);
    };
    expect(bad((p) => (p.runs[1].lambda_kl = 'big'))).toThrow('invalid plan: plan.runs[1].lambda_kl must be a number');
    expect(bad((p) => delete p.model)).toThrow('plan.model must be a non-empty string');
    expect(bad((p) => (p.train.labels = 'some'))).toThrow('plan.train.labels must be "assistant" or "all"');
    expect(bad((p) => (p.train.batch = 2.5))).toThrow('plan.train.batch must be an integer');
    expect(bad((p) => (p.runs[2].init_from = 'nope'))).toThrow('plan.runs[2].init_from "nope" names no earlier run');
    expect(bad((p) => (p.runs[1].name = 'general'))).toThrow('plan.runs[1].name "general" is used twice');
    expect(bad((p) => (p.stability.eps = [0.5, 2]))).toThrow('plan.stability.eps values must lie in [0, 1]');
    expect(bad((p) => (p.pca.runs = ['general', 'ghost']))).toThrow('plan.pca.runs[1] "ghost" is not a run of this plan');
    expect(bad((p) => (p.runs = []))).toThrow('plan.runs must be a non-empty list');
    expect(() => parsePlan('hello')).toThrow('plan must be an object');
    // a misspelt field is an error, not a silent default (λ would fall back to 0 and train the general vector)
    expect(bad((p) => (p.runs[1].lamda_kl = 5))).toThrow('plan.runs[1].lamda_kl is not a plan field (expected one of: name, lambda_kl,');
    expect(bad((p) => (p.efficiency.scale = [1]))).toThrow('plan.efficiency.scale is not a plan field');
    expect(bad((p) => (p.train.epochs = 1))).toThrow('plan.train has both epochs and steps; give one');
    expect(bad((p) => (p.generate.top_p = 0))).toThrow('plan.generate.top_p must lie in (0, 1]');
    expect(bad((p) => (p.fineweb.norms = 'big'))).toThrow('plan.fineweb.norms must be a list of numbers');
    expect(bad((p) => (p.hook = 'mlp_out'))).toThrow('plan.hook must be "resid_post" (blocks.L.hook_resid_post) or "down_proj" (model.layers.L.mlp.down_proj), got "mlp_out"');
    expect(parsePlan(base()).hook).toBe('resid_post');
    expect(parsePlan({ ...base(), hook: 'down_proj' }).hook).toBe('down_proj');
    expect(parsePlan({ ...base(), _comment: 'keys starting with _ are comments' }).runs).toHaveLength(3);
  });
});

describe('parsePlan upper bounds', () => {
  const bad = (mut: (p: Record<string, any>) => void) => {
    const p = base();
    mut(p);
    return () => parsePlan(p);
  };
  it('refuses sizes no browser could hold, naming the field and the bound', () => {
    expect(bad((p) => (p.train.max_len = 100_000))).toThrow('invalid plan: plan.train.max_len must be <= 8192');
    expect(bad((p) => (p.train.rows = 1e9))).toThrow('invalid plan: plan.train.rows must be <= 1000000');
    expect(bad((p) => ((p.train.steps = 1e8), delete p.train.epochs))).toThrow('invalid plan: plan.train.steps must be <= 1000000');
    expect(bad((p) => (p.runs[0].steps = 2e6))).toThrow('invalid plan: plan.runs[0].steps must be <= 1000000');
    expect(bad((p) => (p.train.kl_rows = 5e6))).toThrow('invalid plan: plan.train.kl_rows must be <= 1000000');
    expect(bad((p) => (p.train.batch = 1e6))).toThrow('invalid plan: plan.train.batch must be <= 4096');
    expect(bad((p) => (p.fineweb.max_tokens = 1e5))).toThrow('invalid plan: plan.fineweb.max_tokens must be <= 8192');
    expect(bad((p) => (p.generate = { questions: ['q'], max_new_tokens: 1e6 }))).toThrow('invalid plan: plan.generate.max_new_tokens must be <= 8192');
    expect(bad((p) => (p.efficiency.norms = new Array(20_000).fill(1)))).toThrow('invalid plan: plan.efficiency.norms has 20000 entries (at most 10000)');
    expect(bad((p) => (p.fineweb.norms = [1, 'x']))).toThrow('invalid plan: plan.fineweb.norms[1] must be a finite number');
    // the bounds themselves are allowed
    expect(parsePlan({ ...base(), train: { ...base().train, max_len: PLAN_LIMITS.tokens } }).train.max_len).toBe(8192);
  });
});

const run = promisify(execFile);
const tsx = path.resolve(__dirname, '../../node_modules/.bin/tsx');
const cli = path.resolve(__dirname, '../../scripts/lab.ts');

describe('npm run lab on the example study', () => {
  it('runs every section and reports the expected properties', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'steerlab-plan-'));
    const plan = base();
    // keep the plan's relative paths valid from the temp folder
    const rel = (p: string) => path.resolve(path.dirname(EXAMPLE), p);
    plan.model = rel(plan.model);
    plan.train.data = rel(plan.train.data);
    plan.runs[1].kl_data = plan.runs[1].kl_data.map(rel);
    plan.fineweb.source = rel(plan.fineweb.source);
    plan.report = 'out.json';
    writeFileSync(path.join(dir, 'plan.json'), JSON.stringify(plan));
    await run(tsx, [cli, path.join(dir, 'plan.json')], { maxBuffer: 1 << 24 });
    const r = JSON.parse(readFileSync(path.join(dir, 'out.json'), 'utf8'));

    // the report names the library versions that ran (whatever is installed), not a pinned one
    const installed = JSON.parse(readFileSync(path.resolve(__dirname, '../../node_modules/onnxruntime-web/package.json'), 'utf8')).version;
    expect(r.versions['onnxruntime-web']).toBe(installed);
    expect(r.model.hook).toBe(`blocks.${plan.layer}.hook_resid_post`);
    expect(r.plan.runs).toHaveLength(3);
    const g = r.runs.general;
    // training lowers the training loss
    const ce = g.loss_curve.map((h: { ce: number }) => h.ce);
    expect(Math.max(...ce.slice(-3))).toBeLessThan(ce[0]);
    expect(g.checkpoint_norms.map((c: { step: number }) => c.step)).toEqual([2, 4, 6, 8, 10]);
    // the general vector also lowers the loss on the held-out 10 % of the training file
    expect(r.heldout.rows).toBeGreaterThan(0);
    expect(g.heldout_ce).toBeLessThan(r.heldout.ce_unsteered);
    // a large λ ends with less KL on the KL data than λ = 0
    expect(r.runs.narrow.kl_eval).toBeLessThan(g.kl_eval);
    // the remove-KL continuation starts from the narrow vector: its first norm is near the narrow run's last
    expect(r.runs.narrow_remove_kl.loss_curve[0].norm).toBeCloseTo(r.runs.narrow.final_norm, 0);
    // efficiency: scale 0 is the loss of a graph without any steering input, on the rows the sweep used
    const unsteered = await unsteeredLossOfSweepRows(plan);
    for (const [name, pts] of Object.entries(r.efficiency) as [string, { norm: number; loss: number }[]][]) {
      expect(pts[0]!.norm, name).toBe(0);
      // measured 3.9e-7 relative (cached, batched evaluator vs one direct run)
      expect(Math.abs(pts[0]!.loss - unsteered), `${name}: ${pts[0]!.loss} vs ${unsteered}`).toBeLessThan(2e-6 * unsteered);
    }
    // stability: ε = 0 is 0 %, ε = 1 is far above it
    for (const pts of Object.values(r.stability) as { eps: number; mean: number }[][]) {
      expect(pts[0]).toMatchObject({ eps: 0, mean: 0 });
      expect(pts.at(-1)!.mean).toBeGreaterThan(20);
    }
    // pre-training KL: zero at norm 0, growing with the norm, for trained and random vectors alike
    for (const [name, pts] of Object.entries(r.fineweb) as [string, { norm: number; kl: number }[]][]) {
      expect(pts[0]!.kl, name).toBe(0);
      expect(pts.at(-1)!.kl, name).toBeGreaterThan(pts[1]!.kl);
    }
    expect(Object.keys(r.fineweb)).toEqual(['general', 'narrow', 'narrow_remove_kl', 'random_0', 'random_1']);
    // PCA: 3 components, ratios in decreasing order summing to at most 1, one coordinate row per checkpoint
    const ratio = r.pca.explained_variance_ratio as number[];
    expect(ratio).toHaveLength(3);
    expect(ratio[0]).toBeGreaterThanOrEqual(ratio[1]!);
    expect(ratio.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(1 + 1e-9);
    expect(r.pca.coords.general).toHaveLength(5);
    // and the report says so: fractions are fractions, the stability percentage is named as one
    expect(r.units.fractions).toMatch(/fraction in \[0, 1\], not a percentage/);
    expect(r.units['pca.explained_variance_ratio']).toMatch(/in \[0, 1\]/);
    expect(r.units['stability.mean, stability.sd']).toMatch(/^PERCENT/);
    // generations: two samples per question per run
    expect(r.generate.general[0].samples).toHaveLength(2);
    // the final vector round-trips from the report (standard base64: what Python's b64decode reads)
    expect(g.final_vector).toMatch(/^[A-Za-z0-9+/]+={0,2}$/);
    const bytes = Buffer.from(g.final_vector, 'base64');
    const v = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    expect(v).toHaveLength(32);
    expect(256 * Math.hypot(...v)).toBeCloseTo(g.final_norm, 3);
  }, 1_200_000); // the whole study: 10 min measured on a shared, loaded 2-core box (its CLI run alone took 600 s)
});

/** The rows runPlan's efficiency sweep evaluates (SCIENCE.md: a seed-42 sample of the training rows), without steering. */
async function unsteeredLossOfSweepRows(raw: unknown): Promise<number> {
  const plan = parsePlan(raw);
  const src = dirSource(plan.model);
  const files = await loadModel(src);
  const model = LoadedModel.create(await createBackend({ prefer: 'wasm' }), files.config, files.weights);
  const tok = await loadTokenizer(src);
  const data = await prepareChatDataset(new Uint8Array(readFileSync(plan.train.data)), tok, { labels: plan.train.labels, maxLen: plan.train.max_len, limit: plan.train.rows, seed: plan.seed });
  const rows = sampleWithoutReplacement(data.train, Math.max(plan.efficiency?.rows ?? 0, plan.stability?.rows ?? 0), 42);
  const ce = await unsteeredCe(model, rows, tok.padId);
  model.store.dispose();
  return ce;
}
