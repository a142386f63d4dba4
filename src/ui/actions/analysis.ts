// The analyses behind Fig 4a, 4b, 6 and 5: each runs in the worker over the vectors under study, fills the
// store as points arrive (so charts grow live), is saved to IndexedDB as it grows, and can be cancelled.
// A sweep keeps its plan (vectors, grid, settings) and how far it got, so a cancelled or interrupted sweep is
// resumed point by point — only on the vectors, model and data it started with.

import { EFFICIENCY_SCALES, STABILITY_EPS } from '../../lab/sweeps/grids';
import type { HookPoint } from '../../models/hooks';
import type { JobProgress, JobRequest, JobResult } from '../../worker/protocol';
import { recordTiming, timingKey } from '../lib/cost';
import { byHook, fingerprint, studyVectors, type StudyVector } from '../lib/study';
import { notify, useLab } from '../store/store';
import type { ResultBasis, RunSlot, SweepMeta } from '../store/types';
import { errorText, isCancelled, lab, setJob, track } from './jobs';
import { basisNow, saveResult, staleness } from './results';
import { plural } from '../lib/format';

function need(list: StudyVector[]): boolean {
  if (list.length) return true;
  notify('error', 'No vectors to analyse: train a run (Train panel) or tick library vectors for this model.', { until: (s) => studyVectors(s).length > 0 });
  return false;
}

const asRecord = (vs: StudyVector[]) => Object.fromEntries(vs.filter((v) => !v.adapter).map((v) => [v.key, v.effective]));
/** LoRA runs go to the same jobs as adapters, evaluated as θ */
const adaptersOf = (vs: StudyVector[]) => Object.fromEntries(vs.filter((v) => v.adapter).map((v) => [v.key, v.adapter!]));

type SweepKind = 'efficiency' | 'stability' | 'pretrain';
type SweepJob = 'efficiency' | 'stability' | 'finewebKl';

/** One worker job of a sweep: some vectors (and random directions) at one hook, over some grid points. */
interface Task {
  layer: number;
  /** absent: blocks.L.hook_resid_post */
  hook?: HookPoint;
  vectors: StudyVector[];
  xs: number[];
  randomSeeds?: number[];
}

const metaOf = (kind: SweepKind) => useLab.getState()[kind].meta;

function setMeta(kind: SweepKind, patch: Partial<SweepMeta>): void {
  useLab.setState((s) => ({ [kind]: { ...s[kind], meta: { ...s[kind].meta!, ...patch, updatedAt: new Date().toISOString() } } }) as never);
}

/**
 * Runs a sweep's tasks one job after another under one progress bar and one Cancel. Points are counted into
 * the sweep's meta (done of total) and saved as they arrive; the end state is done, cancelled or failed.
 */
async function drive<J extends SweepJob>(
  kind: SweepKind,
  label: string,
  job: J,
  tasks: Task[],
  request: (t: Task) => JobRequest<J>,
  onPoint: (p: JobProgress<J>) => string,
  onResult: (r: JobResult<J>) => void,
  timing: string,
): Promise<void> {
  let current: { cancel(): void } | undefined;
  let cancelled = false;
  const startedAt = Date.now();
  const stamps: number[] = [];
  const view = () => {
    const m = metaOf(kind)!;
    return { fraction: m.total ? m.done / m.total : null };
  };
  setJob(kind, { label, detail: 'waiting for the lab…', startedAt, ...view(), cancel: () => ((cancelled = true), current?.cancel()) });
  setMeta(kind, { status: 'running', error: undefined });
  void saveResult(kind);
  try {
    for (const t of tasks) {
      if (cancelled) break;
      const t0 = Date.now();
      stamps.length = 0;
      const call = lab().call(job, request(t), {
        onProgress: (p) => {
          stamps.push(Date.now());
          const detail = onPoint(p as JobProgress<J>);
          setMeta(kind, { done: metaOf(kind)!.done + 1 });
          const m = metaOf(kind)!;
          setJob(kind, { ...view(), detail: `${m.done} of ${plural(m.total, 'point')} · ${detail}` });
          saveResult(kind, true);
        },
      });
      current = call;
      onResult(await call.promise);
      recordTiming(timing, t0, stamps);
    }
    setMeta(kind, { status: cancelled ? 'cancelled' : 'done' });
  } catch (e) {
    recordTiming(timing, startedAt, stamps);
    if (isCancelled(e)) setMeta(kind, { status: 'cancelled' });
    else {
      setMeta(kind, { status: 'failed', error: errorText(e) });
      notify('error', errorText(e), { where: label });
    }
  } finally {
    setJob(kind, null);
    await saveResult(kind);
  }
}

/** Why a saved sweep cannot be resumed on what the page holds now, or null when it can. */
function resumeBlock(basis: ResultBasis, list: StudyVector[]): string | null {
  const s = useLab.getState();
  const why = staleness(basis, s, list);
  if (s.model.status !== 'ready') return `load ${basis.model} first (Model panel)`;
  if (why.length) return `${why.join('; ')}. Run the sweep again instead`;
  return null;
}

/** The sweep's vectors as they are now (same prints as when it started), or a reason it cannot resume. */
function resumeVectors(kind: SweepKind): StudyVector[] | null {
  const meta = metaOf(kind);
  if (!meta) return null;
  const list = studyVectors(useLab.getState());
  const block = resumeBlock(meta.basis, list);
  if (block) {
    notify('error', `This sweep cannot resume: ${block}.`, { where: kind });
    return null;
  }
  return list.filter((v) => v.key in meta.basis.vectors);
}

/** Groups vectors by hook (layer and point) and by the grid points they still miss, one task per group. */
function tasksFor(vs: StudyVector[], missing: (v: StudyVector) => number[]): Task[] {
  const tasks: Task[] = [];
  for (const [hook, group] of byHook(vs)) {
    const byXs = new Map<string, Task>();
    for (const v of group) {
      const xs = missing(v);
      if (!xs.length) continue;
      const k = xs.join(',');
      const t = byXs.get(k) ?? { ...hook, vectors: [], xs };
      t.vectors.push(v);
      byXs.set(k, t);
    }
    tasks.push(...byXs.values());
  }
  return tasks;
}

// ---- efficiency (Fig 4a) ------------------------------------------------------------------------------------

function efficiencyLoop(tasks: Task[], rows: number): Promise<void> {
  const model = useLab.getState().model.info!.repo;
  return drive(
    'efficiency',
    'Efficiency sweep',
    'efficiency',
    tasks,
    (t) => ({ vectors: asRecord(t.vectors), adapters: adaptersOf(t.vectors), scales: t.xs, norms: [], rows, layer: t.layer, hook: t.hook }),
    (p) => {
      useLab.setState((s) => {
        const cur = s.efficiency.curves[p.name] ?? { byScale: [], byNorm: [] };
        const byScale = [...cur.byScale.filter((x) => x.scale !== p.point.scale), p.point].sort((a, b) => a.scale! - b.scale!);
        return { efficiency: { ...s.efficiency, curves: { ...s.efficiency.curves, [p.name]: { ...cur, byScale } } } };
      });
      return `${p.name}: ‖αv‖ ${p.point.norm.toFixed(2)} → loss ${p.point.loss.toFixed(4)}`;
    },
    () => {},
    timingKey('efficiency', model, rows),
  );
}

export async function runEfficiency(rows: number): Promise<void> {
  const list = studyVectors(useLab.getState());
  if (!need(list)) return;
  const meta: SweepMeta = { status: 'running', done: 0, total: list.length * EFFICIENCY_SCALES.length, basis: basisNow(list, { rows }), updatedAt: new Date().toISOString() };
  useLab.setState((s) => ({ efficiency: { ...s.efficiency, rows, curves: {}, probes: {}, meta } }));
  await efficiencyLoop(tasksFor(list, () => EFFICIENCY_SCALES), rows);
}

export async function resumeEfficiency(): Promise<void> {
  const vs = resumeVectors('efficiency');
  if (!vs) return;
  const { curves, rows } = useLab.getState().efficiency;
  await efficiencyLoop(tasksFor(vs, (v) => EFFICIENCY_SCALES.filter((x) => !curves[v.key]?.byScale.some((p) => p.scale === x))), rows);
}

/** The slider's on-demand point: every vector under study rescaled to one norm. */
export async function probeEfficiency(norm: number): Promise<void> {
  const list = studyVectors(useLab.getState());
  if (!need(list)) return;
  const rows = useLab.getState().efficiency.rows;
  for (const [{ layer, hook }, vs] of byHook(list)) {
    const res = await track('efficiency-probe', `Loss at ‖αv‖ = ${norm.toFixed(2)}`, 'efficiency', { vectors: asRecord(vs), adapters: adaptersOf(vs), scales: [], norms: [norm], rows, layer, hook }, {
      view: (p) => ({ fraction: p.done / p.total, detail: `${p.done} of ${plural(p.total, 'vector')} · ${p.name}: loss ${p.point.loss.toFixed(4)}` }),
    }).catch((e) => (isCancelled(e) ? null : Promise.reject(e)));
    if (!res) return;
    useLab.setState((s) => {
      const probes = { ...s.efficiency.probes };
      for (const [k, r] of Object.entries(res)) probes[k] = [...(probes[k] ?? []).filter((p) => Math.abs(p.norm - norm) > 1e-4 * Math.max(1, norm)), ...r.byNorm].sort((a, b) => a.norm - b.norm);
      return { efficiency: { ...s.efficiency, probes } };
    });
  }
  await saveResult('efficiency');
}

// ---- stability (Fig 4b) -------------------------------------------------------------------------------------

function stabilityLoop(tasks: Task[], rows: number, seeds: number): Promise<void> {
  const model = useLab.getState().model.info!.repo;
  return drive(
    'stability',
    'Stability sweep',
    'stability',
    tasks,
    (t) => ({ vectors: asRecord(t.vectors), adapters: adaptersOf(t.vectors), eps: t.xs, seeds, rows, layer: t.layer, hook: t.hook, seed: 0 }),
    (p) => {
      useLab.setState((s) => {
        const cur = s.stability.curves[p.name] ?? { lossTrained: NaN, lossChat: NaN, points: [] };
        const points = [...cur.points.filter((x) => x.eps !== p.point.eps), p.point].sort((a, b) => a.eps - b.eps);
        return { stability: { ...s.stability, curves: { ...s.stability.curves, [p.name]: { ...cur, points } } } };
      });
      return `${p.name}: ε ${p.point.eps} → ${p.point.mean >= 0 ? '+' : ''}${p.point.mean.toFixed(1)} % ± ${p.point.sd.toFixed(1)}`;
    },
    (res) =>
      useLab.setState((s) => {
        const curves = { ...s.stability.curves };
        for (const [k, r] of Object.entries(res)) curves[k] = { ...(curves[k] ?? { points: [] }), lossTrained: r.lossTrained, lossChat: r.lossChat };
        return { stability: { ...s.stability, curves } };
      }),
    timingKey('stability', model, `${rows}x${seeds}`),
  );
}

export async function runStability(rows: number, seeds: number): Promise<void> {
  const list = studyVectors(useLab.getState());
  if (!need(list)) return;
  const meta: SweepMeta = { status: 'running', done: 0, total: list.length * STABILITY_EPS.length, basis: basisNow(list, { rows, seeds }), updatedAt: new Date().toISOString() };
  useLab.setState((s) => ({ stability: { ...s.stability, rows, seeds, curves: {}, probes: {}, meta } }));
  await stabilityLoop(tasksFor(list, () => STABILITY_EPS), rows, seeds);
}

export async function resumeStability(): Promise<void> {
  const vs = resumeVectors('stability');
  if (!vs) return;
  const { curves, rows, seeds } = useLab.getState().stability;
  await stabilityLoop(tasksFor(vs, (v) => STABILITY_EPS.filter((x) => !curves[v.key]?.points.some((p) => p.eps === x))), rows, seeds);
}

export async function probeStability(eps: number): Promise<void> {
  const list = studyVectors(useLab.getState());
  if (!need(list)) return;
  const { rows, seeds } = useLab.getState().stability;
  for (const [{ layer, hook }, vs] of byHook(list)) {
    const res = await track('stability-probe', `Relative loss at ε = ${eps}`, 'stability', { vectors: asRecord(vs), adapters: adaptersOf(vs), eps: [eps], seeds, rows, layer, hook, seed: 0 }, {
      view: (p) => ({ fraction: p.done / p.total, detail: `${p.done} of ${plural(p.total, 'vector')} · ${p.name}: ${p.point.mean >= 0 ? '+' : ''}${p.point.mean.toFixed(1)} %` }),
    }).catch((e) => (isCancelled(e) ? null : Promise.reject(e)));
    if (!res) return;
    useLab.setState((s) => {
      const probes = { ...s.stability.probes };
      for (const [k, r] of Object.entries(res)) probes[k] = [...(probes[k] ?? []).filter((p) => p.eps !== eps), ...r.points].sort((a, b) => a.eps - b.eps);
      return { stability: { ...s.stability, probes } };
    });
  }
  await saveResult('stability');
}

// ---- pre-training significance (Fig 6) ----------------------------------------------------------------------

export async function fetchFineweb(n: number): Promise<void> {
  const { sources } = useLab.getState();
  try {
    const docs = await track('fineweb', `Fetching ${n} FineWeb documents`, 'fineweb', { n, source: sources.fineweb }, {
      view: (p) => ({ fraction: p.got / p.wanted, detail: `${p.got} of ${plural(p.wanted, 'document')}` }),
    });
    // the KL curves stay: the panel marks them stale when they were measured on other documents
    useLab.setState((s) => ({ pretrain: { ...s.pretrain, docs } }));
    await saveResult('pretrain');
  } catch (e) {
    if (!isCancelled(e)) throw e;
  }
}

/** Norms from 0 to a bit past the largest trained norm, evenly spaced. */
export function normGrid(maxNorm: number, points = 9): number[] {
  const top = maxNorm > 0 ? maxNorm * 1.5 : 1;
  return Array.from({ length: points }, (_, i) => (top * i) / (points - 1));
}

function finewebLoop(tasks: Task[], maxTokens: number): Promise<void> {
  const s = useLab.getState();
  return drive(
    'pretrain',
    'KL on pre-training text',
    'finewebKl',
    tasks,
    (t) => ({ vectors: asRecord(t.vectors), adapters: adaptersOf(t.vectors), norms: t.xs, randomSeeds: t.randomSeeds ?? [], maxTokens, layer: t.layer, hook: t.hook }),
    (p) => {
      useLab.setState((st) => {
        const cur = st.pretrain.curves[p.name] ?? [];
        const next = [...cur.filter((x) => x.norm !== p.point.norm), p.point].sort((a, b) => a.norm - b.norm);
        return { pretrain: { ...st.pretrain, curves: { ...st.pretrain.curves, [p.name]: next } } };
      });
      return `${p.name}: ‖αv‖ ${p.point.norm.toFixed(2)} → KL ${Math.max(0, p.point.kl).toExponential(2)}`;
    },
    () => {},
    timingKey('finewebKl', s.model.info!.repo, `${s.pretrain.docs?.count ?? 0}x${maxTokens}`),
  );
}

export async function runFinewebKl(opts: { points: number; randomSeeds: number; maxTokens: number }): Promise<void> {
  const st = useLab.getState();
  const list = studyVectors(st);
  if (!need(list)) return;
  const norms = normGrid(Math.max(...list.map((v) => v.norm)), opts.points);
  const seeds = Array.from({ length: opts.randomSeeds }, (_, k) => k);
  const groups = byHook(list);
  // the random baseline once, at the first hook group; its print names that hook so a resume uses it again
  const randomHook = groups[0]![0];
  const tasks: Task[] = groups.map(([hook, vs], i) => ({ ...hook, vectors: vs, xs: norms, randomSeeds: i === 0 ? seeds : [] }));
  const basis = basisNow(list, { docs: st.pretrain.docs?.count ?? 0, points: opts.points, randomSeeds: opts.randomSeeds, maxTokens: opts.maxTokens }, false);
  basis.vectors = { ...basis.vectors, ...Object.fromEntries(seeds.map((k) => [`random_${k}`, { label: `random (seed ${k})`, print: randomPrint(k, randomHook) }])) };
  const meta: SweepMeta = { status: 'running', done: 0, total: (list.length + seeds.length) * norms.length, basis, updatedAt: new Date().toISOString() };
  useLab.setState((s) => ({ pretrain: { ...s.pretrain, curves: {}, grid: { norms, randomSeeds: seeds, maxTokens: opts.maxTokens }, meta } }));
  await finewebLoop(tasks, opts.maxTokens);
}

export async function resumeFinewebKl(): Promise<void> {
  const { pretrain } = useLab.getState();
  if (!pretrain.grid || !pretrain.meta) return;
  if (pretrain.docs?.count !== pretrain.meta.basis.settings.docs) {
    return void notify('error', `This sweep cannot resume: it was measured on ${pretrain.meta.basis.settings.docs} FineWeb documents; fetch that many again, or run the sweep again.`, { where: 'pretrain' });
  }
  const study = resumeVectorsFineweb();
  if (!study) return;
  const { norms, randomSeeds, maxTokens } = pretrain.grid;
  const missing = (key: string) => norms.filter((x) => !pretrain.curves[key]?.some((p) => p.norm === x || Math.abs(p.norm - x) <= 1e-6 * Math.max(1, x)));
  const tasks = tasksFor(study.vectors, (v) => missing(v.key));
  // random directions: one task per seed with the norms it lacks, at the hook they were started on
  for (const k of randomSeeds) {
    const xs = missing(`random_${k}`);
    if (xs.length) tasks.push({ ...study.randomHook, vectors: [], xs, randomSeeds: [k] });
  }
  await finewebLoop(tasks, maxTokens);
}

/** random:<seed>:<layer>[:<hook point>]; the point is written only when it is not the block output. */
function randomPrint(seed: number, at: { layer: number; hook?: HookPoint }): string {
  return `random:${seed}:${at.layer}${at.hook && at.hook !== 'resid_post' ? `:${at.hook}` : ''}`;
}

function resumeVectorsFineweb(): { vectors: StudyVector[]; randomHook: { layer: number; hook?: HookPoint } } | null {
  const meta = metaOf('pretrain')!;
  const real = Object.fromEntries(Object.entries(meta.basis.vectors).filter(([k]) => !k.startsWith('random_')));
  const list = studyVectors(useLab.getState());
  const block = resumeBlock({ ...meta.basis, vectors: real }, list);
  if (block) {
    notify('error', `This sweep cannot resume: ${block}.`, { where: 'pretrain' });
    return null;
  }
  const firstRandom = Object.values(meta.basis.vectors).find((v) => v.print.startsWith('random:'));
  const [, , layer, hook] = firstRandom ? firstRandom.print.split(':') : [];
  const randomHook = layer !== undefined ? { layer: Number(layer), ...(hook ? { hook: hook as HookPoint } : {}) } : { layer: list[0]?.layer ?? 0, ...(list[0]?.hook && list[0].hook !== 'resid_post' ? { hook: list[0].hook } : {}) };
  return { vectors: list.filter((v) => v.key in real), randomHook };
}

// ---- trajectories (Fig 5) -----------------------------------------------------------------------------------

export async function runPca(slots: RunSlot[], k = 5): Promise<void> {
  const s = useLab.getState();
  const runs = slots
    .map((slot) => ({ slot, r: s.runs[slot] }))
    .filter((x) => x.r?.state?.checkpoints.length && x.r.modelRepo === s.runs[slots[0]!]?.modelRepo)
    .map((x) => ({ name: x.slot, checkpoints: x.r!.state!.checkpoints.map((c) => c.v), last: x.r!.state!.checkpoints.at(-1)!.v, label: x.slot }));
  if (!runs.length) return void notify('error', 'No checkpoints yet: train at least one run (a checkpoint is kept every few steps).', { until: (st) => Object.values(st.runs).some((r) => r?.state?.checkpoints.length) });
  try {
    const res = await track('pca', 'PCA of trajectories', 'pca', { runs: runs.map(({ name, checkpoints }) => ({ name, checkpoints })), k });
    const basis: ResultBasis = {
      model: s.runs[runs[0]!.name as RunSlot]!.modelRepo,
      vectors: Object.fromEntries(runs.map((r) => [r.name, { label: r.label, print: `${r.checkpoints.length}:${fingerprint(r.last)}` }])),
      settings: { k },
    };
    useLab.setState({ pca: { ...res, basis } });
    await saveResult('pca');
  } catch (e) {
    if (!isCancelled(e)) throw e;
  }
}
