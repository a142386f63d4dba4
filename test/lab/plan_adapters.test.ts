// Plans with LoRA adapters and the mixed-data baseline: the adapter and mix fields are validated naming the
// field, and the example LoRA study (general, narrow, remove-KL and mixed rank-1 adapters beside a vector) runs
// headless through `npm run lab` with every report section filled for the adapters.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parsePlan } from '../../src/lab/plan/schema';
import { mixRows } from '../../src/lab/data/mix';
import type { TokenizedRow } from '../../src/lab/data/tokenize';

const EXAMPLE = path.resolve(__dirname, '../../examples/qwen2-hub-lora-study.json');
const base = () => JSON.parse(readFileSync(EXAMPLE, 'utf8'));

describe('plan adapter and mix fields', () => {
  it('parses presets and explicit adapters, and names the bad field', () => {
    const p = parsePlan(base());
    expect(p.runs[0]!.adapter).toEqual({ kind: 'lora', rank: 1, alpha: 256, modules: ['down'], layers: 'all', preset: 'r1-down-all' });
    expect(p.runs[3]!.adapter).toEqual({ kind: 'lora', rank: 1, alpha: 256, modules: ['down'], layers: 'all' });
    expect(p.runs[3]!.mix!.ratio).toBe(1);
    expect(p.runs[4]!.adapter).toBeUndefined();
    const bad = (mut: (p: Record<string, any>) => void) => {
      const q = base();
      mut(q);
      return () => parsePlan(q);
    };
    expect(bad((q) => (q.runs[0].adapter = { kind: 'lora', rank: 0, modules: ['down'], layers: 'all' }))).toThrow('invalid plan: plan.runs[0].adapter.rank must be a positive integer');
    expect(bad((q) => (q.runs[0].adapter = { kind: 'lora', rank: 1, modules: ['mlp'], layers: 'all' }))).toThrow('plan.runs[0].adapter.modules[0]: unknown LoRA module "mlp"');
    expect(bad((q) => (q.runs[0].adapter = { kind: 'lora', rank: 1, modules: 'all', layers: [-1] }))).toThrow('plan.runs[0].adapter.layers must be "all", "steer" or a non-empty list');
    expect(bad((q) => (q.runs[0].adapter = { kind: 'dora', rank: 1, modules: 'all', layers: 'all' }))).toThrow('plan.runs[0].adapter.kind must be "lora"');
    expect(bad((q) => (q.runs[0].adapter = { preset: 'r2' }))).toThrow('plan.runs[0].adapter.preset must be one of r1-down-all, r32-all-linear, r1-down-steer');
    expect(bad((q) => (q.runs[0].adapter.rnak = 2))).toThrow('plan.runs[0].adapter.rnak is not a plan field');
    expect(bad((q) => (q.runs[0].adapter.rank = 2))).toThrow('plan.runs[0].adapter.rank 2 conflicts with preset "r1-down-all" (1)');
    // a parsed plan written out parses to the same plan
    expect(parsePlan(JSON.parse(JSON.stringify(p)))).toEqual(p);
    expect(bad((q) => (q.runs[3].mix = { data: [], ratio: 1 }))).toThrow('plan.runs[3].mix.data must be a dataset or a non-empty list');
    expect(bad((q) => (q.runs[3].mix.ratio = -1))).toThrow('plan.runs[3].mix.ratio must be a positive number');
    // upper bounds, as for the other plan fields: a typo is refused when the plan is read
    expect(bad((q) => (q.runs[0].adapter = { kind: 'lora', rank: 1e6, modules: ['down'], layers: 'all' }))).toThrow('plan.runs[0].adapter.rank 1000000 is above 4096');
    expect(bad((q) => (q.runs[0].adapter = { kind: 'lora', rank: 1, modules: ['down'], layers: [0, 5000] }))).toThrow('plan.runs[0].adapter.layers[1] 5000 is above 1024');
    expect(bad((q) => (q.runs[3].mix.ratio = 1e9))).toThrow('plan.runs[3].mix.ratio 1000000000 is above 1000');
    expect(bad((q) => delete q.runs[2].adapter)).toThrow('plan.runs[2].init_from "lora_narrow" trains a LoRA rank 1 alpha 256 on down at layers all, this run a steering vector');
    expect(bad((q) => q.pca.runs.push('vector_general'))).toThrow('plan.pca.runs mixes parameter kinds');
  });

  it('mixRows adds round(ratio × n) aligned rows, evenly and reproducibly, and uses what a short set has', () => {
    const rows = (tag: number, n: number) => Array.from({ length: n }, (_, i) => ({ line: tag * 1000 + i }) as unknown as TokenizedRow);
    const harm = rows(0, 10);
    const m = mixRows(harm, [rows(1, 50), rows(2, 3)], 1.5, 7);
    expect(m.wanted).toBe(15);
    expect(m.added).toEqual([12, 3]);
    expect(m.rows.slice(0, 10)).toEqual(harm);
    expect(new Set(m.rows.map((r) => r.line)).size).toBe(25);
    expect(mixRows(harm, [rows(1, 50), rows(2, 3)], 1.5, 7).rows.map((r) => r.line)).toEqual(m.rows.map((r) => r.line));
    expect(() => mixRows(harm, [], 1, 1)).toThrow('mix needs at least one aligned dataset');
  });
});

const run = promisify(execFile);
const tsx = path.resolve(__dirname, '../../node_modules/.bin/tsx');
const cli = path.resolve(__dirname, '../../scripts/lab.ts');

describe('npm run lab on the LoRA study', () => {
  it('trains general, narrow, remove-KL and mixed adapters and fills every section for them', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'steerlab-lora-plan-'));
    const plan = base();
    const rel = (p: string) => path.resolve(path.dirname(EXAMPLE), p);
    plan.model = rel(plan.model);
    plan.train.data = rel(plan.train.data);
    plan.runs[1].kl_data = plan.runs[1].kl_data.map(rel);
    plan.runs[3].mix.data = plan.runs[3].mix.data.map(rel);
    plan.fineweb.source = rel(plan.fineweb.source);
    // keep the test short: fewer steps, no vector run
    plan.runs = plan.runs.filter((r: { name: string }) => r.name !== 'vector_general');
    plan.generate.runs = ['lora_general'];
    plan.train.steps = 6;
    plan.runs[2].steps = 2;
    plan.report = 'out.json';
    writeFileSync(path.join(dir, 'plan.json'), JSON.stringify(plan));
    await run(tsx, [cli, path.join(dir, 'plan.json')], { maxBuffer: 1 << 24 });
    const r = JSON.parse(readFileSync(path.join(dir, 'out.json'), 'utf8'));

    const g = r.runs.lora_general;
    expect(g.adapter).toMatchObject({ kind: 'lora', rank: 1, alpha: 256, keys: ['layers.0.down', 'layers.1.down', 'layers.2.down', 'layers.3.down'] });
    // rank 1 on down_proj (in 64, out 32): 96 parameters per layer
    expect(g.adapter.params).toBe(4 * 96);
    const bytes = Buffer.from(g.final_vector, 'base64');
    const theta = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    expect(theta).toHaveLength(4 * 96);
    expect(Math.hypot(...theta)).toBeCloseTo(g.final_norm, 3);
    // training lowers the loss, on the held-out rows too
    expect(g.heldout_ce).toBeLessThan(r.heldout.ce_unsteered);
    // λ keeps the adapter's KL on the KL data below the λ = 0 adapter's
    expect(r.runs.lora_narrow.kl_eval).toBeLessThan(g.kl_eval);
    // the mixed run trained on the harmful rows plus as many aligned ones (ratio 1)
    const mix = r.runs.lora_mixed.mix;
    expect(mix.added.reduce((a: number, b: number) => a + b, 0)).toBe(mix.train_rows);
    // efficiency: scale 0 is the unsteered loss for every adapter; ‖ΔW‖ is quadratic in the scale
    for (const pts of Object.values(r.efficiency) as { scale?: number; norm: number; loss: number; delta_w_norm: number }[][]) {
      expect(pts[0]).toMatchObject({ scale: 0, norm: 0, delta_w_norm: 0 });
      expect(pts[0]!.loss).toBe((Object.values(r.efficiency)[0] as { loss: number }[])[0]!.loss);
      const [s1, s2] = [pts.find((p) => p.scale === 1)!, pts.find((p) => p.scale === 2)!];
      expect(s2.delta_w_norm / s1.delta_w_norm).toBeCloseTo(4, 6);
    }
    for (const pts of Object.values(r.stability) as { eps: number; mean: number }[][]) expect(pts[0]).toMatchObject({ eps: 0, mean: 0 });
    expect(Object.keys(r.fineweb).sort()).toEqual(['lora_general', 'lora_mixed', 'lora_narrow', 'lora_narrow_remove_kl', 'random_0_like_lora_general']);
    for (const pts of Object.values(r.fineweb) as { kl: number }[][]) expect(pts[0]!.kl).toBe(0);
    expect(Object.keys(r.pca.coords)).toEqual(['lora_general', 'lora_narrow', 'lora_narrow_remove_kl', 'lora_mixed']);
    expect(r.pca.coords.lora_general).toHaveLength(3);
    // the adapter run answers the question (generation with its adapter)
    expect(r.generate.lora_general[0].samples).toHaveLength(1);
    expect(typeof r.generate.lora_general[0].samples[0]).toBe('string');
  }, 600_000);
});
