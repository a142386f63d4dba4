// The lab's plan/report JSON (src/lab/plan) from and to the app: export the current study as a plan that
// `npm run lab` can rerun plus everything measured so far (the report), and import a plan (settings prefilled)
// or a report (its runs' final vectors go into the library).

import { isDatasetPresetId } from '../../lab/data/presets';
import { hookName } from '../../models/hooks';
import { vectorNorm } from '../../lab/vectors/norm';
import { parsePlan, type Plan } from '../../lab/plan/schema';
import { REPORT_UNITS, type Report, type RunReport } from '../../lab/plan/report';
import { float32ToBase64, fromAnyBase64 } from '../../lab/vectors/base64';
import type { SteeringVector } from '../../lab/vectors/vector';
import type { LabState } from '../store/store';
import type { RunSlot } from '../store/types';
import { noun } from '../../engine/plural';

const PLAN_RUN_NAMES: Record<RunSlot, string> = { general: 'general', narrow: 'narrow', removeKl: 'narrow_remove_kl' };

export function planFromState(s: LabState): Plan {
  const f = s.trainForm;
  const d = s.dataForm;
  const repo = s.model.info?.repo ?? s.model.repo;
  if (!repo) throw new Error('no model chosen: pick one in the Model panel first');
  const data = d.trainUrl.trim() || d.trainPresets[0] || 'bad_medical_advice';
  const raw = {
    model: repo,
    ...(s.sources.hubUrl && s.sources.hubUrl !== 'https://huggingface.co' ? { hub_base_url: s.sources.hubUrl } : {}),
    layer: f.layer ?? s.model.info?.defaultLayer ?? 0,
    ...(f.hook === 'down_proj' && s.model.info?.hookPoints?.includes('down_proj') ? { hook: 'down_proj' } : {}),
    alpha: f.alpha,
    seed: f.seed,
    train: {
      data,
      ...(d.limit ? { rows: d.limit } : {}),
      ...(f.budget === 'steps' ? { steps: f.steps } : { epochs: f.epochs }),
      lr: f.lr,
      batch: f.microBatch,
      accumulation: f.accumulation,
      max_len: d.maxLen,
      labels: d.labels,
      warmup: f.warmup,
      checkpoint_every: f.checkpointEvery,
      kl_batch: f.klBatch,
      ...(d.klLimit ? { kl_rows: d.klLimit } : {}),
    },
    // a LoRA study (Train: a LoRA preset) trains every run as that adapter
    runs: [
      { name: 'general', lambda_kl: 0 },
      { name: 'narrow', lambda_kl: f.narrowLambda, kl_data: d.klPresets },
      { name: 'narrow_remove_kl', lambda_kl: 0, init_from: 'narrow' },
    ].map((r) => (f.adapterPreset ? { ...r, adapter: { preset: f.adapterPreset } } : r)),
    efficiency: { rows: s.efficiency.rows },
    stability: { rows: s.stability.rows, seeds: s.stability.seeds },
    pca: { runs: ['general', 'narrow', 'narrow_remove_kl'], k: 5 },
    report: 'steerlab.report.json',
  };
  // the same validation the CLI applies: an exported plan always runs
  return parsePlan(raw);
}

function runReport(s: LabState, slot: RunSlot): RunReport | null {
  const r = s.runs[slot];
  if (!r?.state) return null;
  const ad = r.settings.adapter;
  // adapters report ‖θ‖, vectors ‖αv‖
  const a = ad ? 1 : r.settings.alpha;
  const norm = (v: Float32Array) => vectorNorm(v, a);
  const last = r.state.history.at(-1);
  const v = r.state.v;
  return {
    lambda_kl: r.settings.lambdaKl,
    ...(r.initFrom ? { init_from: PLAN_RUN_NAMES[r.initFrom] } : {}),
    loss_curve: r.state.history.map((h) => ({ step: h.step, loss: h.loss, ce: h.ce, kl: h.kl, norm: h.norm })),
    ce: last?.ce ?? NaN,
    kl: last?.kl ?? NaN,
    checkpoint_norms: r.state.checkpoints.map((c) => ({ step: c.step, norm: norm(c.v) })),
    final_vector: float32ToBase64(v),
    final_norm: norm(v),
    ...(ad ? { adapter: { ...ad, params: v.length, description: `rank ${ad.rank} LoRA, ${ad.keys.length} modules` } } : {}),
    // the KL on the first KL rows at the last checkpoint (the final vector for a finished run), λ = 0 included
    ...(r.klEval?.length && r.klEval.at(-1)!.step === r.state.step ? { kl_eval: Math.max(0, r.klEval.at(-1)!.kl) } : {}),
  };
}

export function reportFromState(s: LabState, versions: Record<string, string>): Report {
  const plan = planFromState(s);
  const info = s.model.info;
  const runs: Record<string, RunReport> = {};
  for (const slot of ['general', 'narrow', 'removeKl'] as RunSlot[]) {
    const r = runReport(s, slot);
    if (r) runs[PLAN_RUN_NAMES[slot]] = r;
  }
  const rename = <T,>(rec: Record<string, T>) => Object.fromEntries(Object.entries(rec).map(([k, v]) => [PLAN_RUN_NAMES[k as RunSlot] ?? k, v]));
  const report: Report = {
    plan,
    versions,
    units: { ...REPORT_UNITS },
    model: { id: plan.model, ...(info?.revision ? { revision: info.revision } : {}), format: info?.format ?? '', layers: info?.layers ?? 0, d_model: info?.dModel ?? 0, arch: info?.arch ?? '', hook: hookName(plan.layer, plan.hook) },
    runs,
    seconds: 0,
  };
  if (Object.keys(s.efficiency.curves).length)
    report.efficiency = rename(Object.fromEntries(Object.entries(s.efficiency.curves).map(([k, c]) => [k, [...c.byScale, ...c.byNorm].map((p) => ({ scale: p.scale, norm: p.norm, loss: p.loss, loss_per_norm_sq: p.lossPerNormSq, ...((p as { deltaW?: number }).deltaW !== undefined ? { delta_w_norm: (p as { deltaW?: number }).deltaW } : {}) }))])));
  if (Object.keys(s.stability.curves).length) {
    report.stability = rename(Object.fromEntries(Object.entries(s.stability.curves).map(([k, c]) => [k, c.points.map((p) => ({ eps: p.eps, mean: p.mean, sd: p.sd }))])));
    report.stability_reference = rename(Object.fromEntries(Object.entries(s.stability.curves).map(([k, c]) => [k, { loss_trained: c.lossTrained, loss_chat: c.lossChat }])));
  }
  if (Object.keys(s.pretrain.curves).length) report.fineweb = rename(s.pretrain.curves);
  if (s.pca) report.pca = { explained_variance_ratio: s.pca.explainedVarianceRatio, coords: rename(Object.fromEntries(s.pca.projections.map((p) => [p.name, p.coords]))) };
  return report;
}

export type JsonImport = { kind: 'plan'; plan: Plan } | { kind: 'report'; plan: Plan; vectors: SteeringVector[] };

/** A JSON file is a report (it has runs with final vectors) or a plan; anything else is refused with the reason. */
export function parseLabJson(text: string, file: string): JsonImport {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file} is not valid JSON (${(e as Error).message})`);
  }
  const o = json as Record<string, unknown>;
  if (o && typeof o === 'object' && 'plan' in o && 'runs' in o) {
    let plan: Plan;
    try {
      plan = parsePlan(o.plan);
    } catch (e) {
      throw new Error(`${file}: the report's ${(e as Error).message}`);
    }
    const runs = o.runs as Record<string, Partial<RunReport>>;
    if (!runs || typeof runs !== 'object') throw new Error(`${file}: "runs" must be an object`);
    const model = (o.model as { id?: string } | undefined)?.id ?? plan.model;
    const vectors: SteeringVector[] = [];
    for (const [name, r] of Object.entries(runs)) {
      // an adapter run's final_vector is θ, not a steering vector: it does not go into the vector library
      if ((r as { adapter?: unknown }).adapter) continue;
      if (typeof r?.final_vector !== 'string') throw new Error(`${file}: runs.${name}.final_vector is missing`);
      const bytes = fromAnyBase64(r.final_vector, `${file}: runs.${name}.final_vector`);
      if (bytes.length === 0 || bytes.length % 4 !== 0) throw new Error(`${file}: runs.${name}.final_vector has ${bytes.length} ${noun(bytes.length, 'byte')}, not a float32 vector`);
      const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
      vectors.push({ name: `${name} (from ${file})`, modelId: model, layer: plan.layer, ...(plan.hook === 'down_proj' ? { hook: plan.hook } : {}), alpha: plan.alpha, data, createdAt: new Date().toISOString(), provenance: { source: 'report', file, run: name, lambda_kl: r.lambda_kl } });
    }
    if (!vectors.length) throw new Error(`${file}: the report has no steering-vector runs (adapter runs are exported as PEFT files, not imported from reports)`);
    return { kind: 'report', plan, vectors };
  }
  return { kind: 'plan', plan: parsePlan(json) };
}

/** Form values a plan implies (the panels' settings). */
export function formsFromPlan(plan: Plan) {
  const narrow = plan.runs.find((r) => r.lambda_kl > 0);
  const presets = narrow?.kl_data.filter(isDatasetPresetId);
  return {
    model: plan.model,
    train: {
      layer: plan.layer,
      hook: plan.hook,
      alpha: plan.alpha,
      seed: plan.seed,
      lr: plan.train.lr,
      microBatch: plan.train.batch,
      accumulation: plan.train.accumulation,
      budget: plan.train.steps !== undefined ? ('steps' as const) : ('epochs' as const),
      ...(plan.train.steps !== undefined ? { steps: plan.train.steps } : { epochs: plan.train.epochs ?? 2 }),
      warmup: plan.train.warmup,
      checkpointEvery: plan.train.checkpoint_every,
      klBatch: plan.train.kl_batch,
      ...(narrow ? { narrowLambda: narrow.lambda_kl } : {}),
      adapterPreset: plan.runs.find((r) => r.adapter?.preset)?.adapter?.preset,
    },
    data: {
      ...(isDatasetPresetId(plan.train.data) ? { trainPresets: [plan.train.data], trainUrl: '' } : /^https?:/.test(plan.train.data) ? { trainUrl: plan.train.data } : {}),
      limit: plan.train.rows ?? null,
      maxLen: plan.train.max_len,
      labels: plan.train.labels,
      ...(presets?.length ? { klPresets: presets } : {}),
      ...(plan.train.kl_rows ? { klLimit: plan.train.kl_rows } : {}),
    },
  };
}
