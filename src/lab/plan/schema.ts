// The study plan: one JSON file that makes a whole experiment reproducible (`npm run lab -- PLAN.json`, and the
// app's import/export). parsePlan validates it and names the offending field path in every error.

import { parameterKind, parsePlanAdapter, parsePlanMix, type PlanAdapter, type PlanMix } from './adapter_fields';
import type { HookPoint } from '../../models/hooks';

export interface PlanTrain {
  data: string;
  rows?: number;
  epochs?: number;
  steps?: number;
  lr: number;
  batch: number;
  accumulation: number;
  max_len: number;
  labels: 'assistant' | 'all';
  warmup: number;
  checkpoint_every: number;
  kl_batch: number;
  /** rows read from each KL dataset */
  kl_rows?: number;
}

export interface PlanRun {
  name: string;
  lambda_kl: number;
  kl_data: string[];
  /** start from the final vector of this earlier run (the remove-KL continuation) */
  init_from?: string;
  epochs?: number;
  steps?: number;
  /** train a LoRA adapter instead of a steering vector (adapter_fields.ts) */
  adapter?: PlanAdapter;
  /** add aligned rows from other datasets to the training data (the mixed-data baseline) */
  mix?: PlanMix;
}

export interface Plan {
  model: string;
  hub_base_url?: string;
  datasets_base_url?: string;
  tokenizer?: string;
  layer: number;
  /** where in block `layer` the vectors are added (src/models/hooks.ts); default 'resid_post' */
  hook: HookPoint;
  alpha: number;
  seed: number;
  train: PlanTrain;
  runs: PlanRun[];
  efficiency?: { scales: number[]; norms: number[]; rows: number };
  stability?: { eps: number[]; seeds: number; rows: number };
  fineweb?: { source: string; docs: number; max_tokens: number; norms: number[]; random_seeds: number[] };
  pca?: { runs: string[]; k: number };
  /** questions: literal questions, or question files (.yaml/.yml, the plain variants of first_plot_questions.yaml) */
  generate?: { questions: string[]; samples: number; max_new_tokens: number; temperature: number; top_p: number; runs: string[] };
  report: string;
}

/**
 * Upper bounds: a typo (rows: 1e9, max_len: 1e6) must be refused when the plan is read, not discovered as an
 * out-of-memory tab an hour in. max_len and the token counts stop at the largest rope table a model gets
 * (ROPE_TABLE_MAX in models/model.ts); the run checks them against the loaded model's own table too.
 */
export const PLAN_LIMITS = {
  tokens: 8192,
  rows: 1_000_000,
  steps: 1_000_000,
  epochs: 10_000,
  batch: 4096,
  layer: 1024,
  sweepRows: 100_000,
  seeds: 10_000,
  docs: 1_000_000,
  samples: 1024,
  listLength: 10_000,
  pcaK: 1024,
} as const;

class PlanError extends Error {}

type J = Record<string, unknown>;

/**
 * An object with only the given keys: a misspelt field (lamda_kl) would otherwise fall back to its default
 * silently and run a different study. Keys starting with "_" are comments and allowed anywhere.
 */
function obj(x: unknown, at: string, keys?: string[]): J {
  if (!x || typeof x !== 'object' || Array.isArray(x)) throw new PlanError(`${at} must be an object`);
  if (keys) {
    for (const k of Object.keys(x)) {
      // an odd key ("", "a b", a control character) is quoted so the path still shows which one
      const path = /^[A-Za-z$][\w$]*$/.test(k) ? `${at}.${k}` : `${at}[${JSON.stringify(k)}]`;
      if (!k.startsWith('_') && !keys.includes(k)) throw new PlanError(`${path} is not a plan field (expected one of: ${keys.join(', ')})`);
    }
  }
  return x as J;
}
function str(o: J, k: string, at: string, def?: string): string {
  const v = o[k] ?? def;
  if (typeof v !== 'string' || !v) throw new PlanError(`${at}.${k} must be a non-empty string`);
  return v;
}
function num(o: J, k: string, at: string, def?: number, opts: { int?: boolean; min?: number; max?: number } = {}): number {
  const v = o[k] ?? def;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new PlanError(`${at}.${k} must be a number`);
  if (opts.int && !Number.isInteger(v)) throw new PlanError(`${at}.${k} must be an integer`);
  if (opts.min !== undefined && v < opts.min) throw new PlanError(`${at}.${k} must be >= ${opts.min}`);
  if (opts.max !== undefined && v > opts.max) throw new PlanError(`${at}.${k} must be <= ${opts.max}`);
  return v;
}
function optNum(o: J, k: string, at: string, opts: { int?: boolean; min?: number; max?: number } = {}): number | undefined {
  return o[k] === undefined ? undefined : num(o, k, at, undefined, opts);
}
function nums(o: J, k: string, at: string, def?: number[]): number[] {
  const v = o[k] ?? def;
  if (!Array.isArray(v)) throw new PlanError(`${at}.${k} must be a list of numbers`);
  const bad = v.findIndex((x) => typeof x !== 'number' || !Number.isFinite(x));
  if (bad >= 0) throw new PlanError(`${at}.${k}[${bad}] must be a finite number`);
  if (v.length > PLAN_LIMITS.listLength) throw new PlanError(`${at}.${k} has ${v.length} entries (at most ${PLAN_LIMITS.listLength})`);
  return v as number[];
}
function strs(o: J, k: string, at: string, def?: string[]): string[] {
  let v = o[k] ?? def;
  if (typeof v === 'string') v = [v];
  if (!Array.isArray(v)) throw new PlanError(`${at}.${k} must be a list of strings`);
  const bad = v.findIndex((x) => typeof x !== 'string' || !x);
  if (bad >= 0) throw new PlanError(`${at}.${k}[${bad}] must be a non-empty string`);
  if (v.length > PLAN_LIMITS.listLength) throw new PlanError(`${at}.${k} has ${v.length} entries (at most ${PLAN_LIMITS.listLength})`);
  return v as string[];
}

function hookPoint(v: unknown): HookPoint {
  if (v === undefined || v === 'resid_post' || v === 'down_proj') return v ?? 'resid_post';
  throw new PlanError(`plan.hook must be "resid_post" (blocks.L.hook_resid_post) or "down_proj" (model.layers.L.mlp.down_proj), got ${JSON.stringify(v)}`);
}

export function parsePlan(json: unknown): Plan {
  try {
    const p = obj(json, 'plan', ['model', 'hub_base_url', 'datasets_base_url', 'tokenizer', 'layer', 'hook', 'alpha', 'seed', 'train', 'runs', 'efficiency', 'stability', 'fineweb', 'pca', 'generate', 'report']);
    const t = obj(p.train, 'plan.train', ['data', 'rows', 'epochs', 'steps', 'lr', 'batch', 'accumulation', 'max_len', 'labels', 'warmup', 'checkpoint_every', 'kl_batch', 'kl_rows']);
    if (t.epochs !== undefined && t.steps !== undefined) throw new PlanError('plan.train has both epochs and steps; give one');
    const train: PlanTrain = {
      data: str(t, 'data', 'plan.train'),
      rows: optNum(t, 'rows', 'plan.train', { int: true, min: 1, max: PLAN_LIMITS.rows }),
      epochs: optNum(t, 'epochs', 'plan.train', { min: 0, max: PLAN_LIMITS.epochs }),
      steps: optNum(t, 'steps', 'plan.train', { int: true, min: 1, max: PLAN_LIMITS.steps }),
      lr: num(t, 'lr', 'plan.train', 1e-4, { min: 0 }),
      batch: num(t, 'batch', 'plan.train', 4, { int: true, min: 1, max: PLAN_LIMITS.batch }),
      accumulation: num(t, 'accumulation', 'plan.train', 4, { int: true, min: 1, max: PLAN_LIMITS.batch }),
      max_len: num(t, 'max_len', 'plan.train', 256, { int: true, min: 2, max: PLAN_LIMITS.tokens }),
      labels: (() => {
        const l = t.labels ?? 'assistant';
        if (l !== 'assistant' && l !== 'all') throw new PlanError('plan.train.labels must be "assistant" or "all"');
        return l;
      })(),
      warmup: num(t, 'warmup', 'plan.train', 5, { int: true, min: 0, max: PLAN_LIMITS.steps }),
      checkpoint_every: num(t, 'checkpoint_every', 'plan.train', 5, { int: true, min: 1, max: PLAN_LIMITS.steps }),
      kl_batch: num(t, 'kl_batch', 'plan.train', 8, { int: true, min: 1, max: PLAN_LIMITS.batch }),
      kl_rows: optNum(t, 'kl_rows', 'plan.train', { int: true, min: 1, max: PLAN_LIMITS.rows }),
    };
    if (train.epochs === undefined && train.steps === undefined) train.epochs = 2;
    if (!Array.isArray(p.runs) || !p.runs.length) throw new PlanError('plan.runs must be a non-empty list');
    const runs: PlanRun[] = p.runs.map((r0, i) => {
      const at = `plan.runs[${i}]`;
      const r = obj(r0, at, ['name', 'lambda_kl', 'kl_data', 'init_from', 'epochs', 'steps', 'adapter', 'mix']);
      if (r.epochs !== undefined && r.steps !== undefined) throw new PlanError(`${at} has both epochs and steps; give one`);
      const lambda = num(r, 'lambda_kl', at, 0, { min: 0 });
      const run: PlanRun = {
        name: str(r, 'name', at),
        lambda_kl: lambda,
        kl_data: lambda > 0 ? strs(r, 'kl_data', at, ['risky_financial_advice', 'extreme_sports', 'bad_legal_advice', 'non_med_aligned']) : [],
        init_from: r.init_from === undefined ? undefined : str(r, 'init_from', at),
        epochs: optNum(r, 'epochs', at, { min: 0, max: PLAN_LIMITS.epochs }),
        steps: optNum(r, 'steps', at, { int: true, min: 1, max: PLAN_LIMITS.steps }),
      };
      try {
        if (r.adapter !== undefined) run.adapter = parsePlanAdapter(r.adapter, `${at}.adapter`);
        if (r.mix !== undefined) run.mix = parsePlanMix(r.mix, `${at}.mix`);
      } catch (e) {
        throw new PlanError((e as Error).message);
      }
      return run;
    });
    const names = new Set<string>();
    runs.forEach((r, i) => {
      if (names.has(r.name)) throw new PlanError(`plan.runs[${i}].name "${r.name}" is used twice`);
      if (r.init_from && !names.has(r.init_from)) throw new PlanError(`plan.runs[${i}].init_from "${r.init_from}" names no earlier run`);
      const from = r.init_from ? runs.find((q) => q.name === r.init_from)! : undefined;
      if (from && parameterKind(from.adapter) !== parameterKind(r.adapter)) throw new PlanError(`plan.runs[${i}].init_from "${r.init_from}" trains a ${parameterKind(from.adapter)}, this run a ${parameterKind(r.adapter)}`);
      names.add(r.name);
    });
    const known = (list: string[], at: string) => list.forEach((n, i) => {
      if (!names.has(n)) throw new PlanError(`${at}[${i}] "${n}" is not a run of this plan`);
    });
    const plan: Plan = {
      model: str(p, 'model', 'plan'),
      hub_base_url: p.hub_base_url === undefined ? undefined : str(p, 'hub_base_url', 'plan'),
      datasets_base_url: p.datasets_base_url === undefined ? undefined : str(p, 'datasets_base_url', 'plan'),
      tokenizer: p.tokenizer === undefined ? undefined : str(p, 'tokenizer', 'plan'),
      layer: num(p, 'layer', 'plan', undefined, { int: true, min: 0, max: PLAN_LIMITS.layer }),
      hook: hookPoint(p.hook),
      alpha: num(p, 'alpha', 'plan', 256),
      seed: num(p, 'seed', 'plan', 42, { int: true }),
      train,
      runs,
      report: str(p, 'report', 'plan'),
    };
    if (p.efficiency !== undefined) {
      const e = obj(p.efficiency, 'plan.efficiency', ['scales', 'norms', 'rows']);
      plan.efficiency = { scales: nums(e, 'scales', 'plan.efficiency', [0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2]), norms: nums(e, 'norms', 'plan.efficiency', []), rows: num(e, 'rows', 'plan.efficiency', 100, { int: true, min: 1, max: PLAN_LIMITS.sweepRows }) };
    }
    if (p.stability !== undefined) {
      const s = obj(p.stability, 'plan.stability', ['eps', 'seeds', 'rows']);
      plan.stability = { eps: nums(s, 'eps', 'plan.stability', [0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1]), seeds: num(s, 'seeds', 'plan.stability', 10, { int: true, min: 1, max: PLAN_LIMITS.seeds }), rows: num(s, 'rows', 'plan.stability', 100, { int: true, min: 1, max: PLAN_LIMITS.sweepRows }) };
      if (plan.stability.eps.some((e) => e < 0 || e > 1)) throw new PlanError('plan.stability.eps values must lie in [0, 1]');
    }
    if (p.fineweb !== undefined) {
      const f = obj(p.fineweb, 'plan.fineweb', ['source', 'docs', 'max_tokens', 'norms', 'random_seeds']);
      plan.fineweb = {
        source: str(f, 'source', 'plan.fineweb', 'hub'),
        docs: num(f, 'docs', 'plan.fineweb', 50, { int: true, min: 1, max: PLAN_LIMITS.docs }),
        max_tokens: num(f, 'max_tokens', 'plan.fineweb', 512, { int: true, min: 2, max: PLAN_LIMITS.tokens }),
        norms: nums(f, 'norms', 'plan.fineweb'),
        random_seeds: nums(f, 'random_seeds', 'plan.fineweb', [0, 1, 2]),
      };
    }
    if (p.pca !== undefined) {
      const c = obj(p.pca, 'plan.pca', ['runs', 'k']);
      plan.pca = { runs: strs(c, 'runs', 'plan.pca', runs.map((r) => r.name)), k: num(c, 'k', 'plan.pca', 5, { int: true, min: 1, max: PLAN_LIMITS.pcaK }) };
      known(plan.pca.runs, 'plan.pca.runs');
      const kinds = [...new Set(plan.pca.runs.map((n) => parameterKind(runs.find((q) => q.name === n)!.adapter)))];
      if (kinds.length > 1) throw new PlanError(`plan.pca.runs mixes parameter kinds (${kinds.join('; ')}); PCA needs checkpoints of one shape`);
    }
    if (p.generate !== undefined) {
      const g = obj(p.generate, 'plan.generate', ['questions', 'samples', 'max_new_tokens', 'temperature', 'top_p', 'runs']);
      plan.generate = {
        questions: strs(g, 'questions', 'plan.generate'),
        samples: num(g, 'samples', 'plan.generate', 1, { int: true, min: 1, max: PLAN_LIMITS.samples }),
        max_new_tokens: num(g, 'max_new_tokens', 'plan.generate', 600, { int: true, min: 1, max: PLAN_LIMITS.tokens }),
        temperature: num(g, 'temperature', 'plan.generate', 1, { min: 0 }),
        top_p: num(g, 'top_p', 'plan.generate', 1, { min: 0 }),
        runs: strs(g, 'runs', 'plan.generate', runs.map((r) => r.name)),
      };
      if (!(plan.generate.top_p > 0 && plan.generate.top_p <= 1)) throw new PlanError('plan.generate.top_p must lie in (0, 1]');
      known(plan.generate.runs, 'plan.generate.runs');

    }
    return plan;
  } catch (e) {
    if (e instanceof PlanError) throw new Error(`invalid plan: ${e.message}`);
    throw e;
  }
}
