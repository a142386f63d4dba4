// The analyses behind Fig 4a, 4b, 6 and 5: each runs in the worker over the vectors under study, fills the
// store as points arrive (so charts grow live), and can be cancelled.

import { notify, useLab } from '../store/store';
import type { RunSlot } from '../store/types';
import { byHook, studyVectors, type StudyVector } from '../lib/study';
import { isCancelled, track } from './jobs';

function need(list: StudyVector[]): boolean {
  if (list.length) return true;
  notify('error', 'No vectors to analyse: train a run (Train panel) or tick library vectors for this model.');
  return false;
}

const asRecord = (vs: StudyVector[]) => Object.fromEntries(vs.filter((v) => !v.adapter).map((v) => [v.key, v.effective]));
/** LoRA runs go to the same jobs as adapters, evaluated as θ */
const adaptersOf = (vs: StudyVector[]) => Object.fromEntries(vs.filter((v) => v.adapter).map((v) => [v.key, v.adapter!]));

export async function runEfficiency(rows: number, extraNorms: number[] = []): Promise<void> {
  const list = studyVectors(useLab.getState());
  if (!need(list)) return;
  useLab.setState((s) => ({ efficiency: { ...s.efficiency, rows, curves: {}, probes: {} } }));
  try {
    for (const [{ layer, hook }, vs] of byHook(list)) {
      const res = await track('efficiency', 'Efficiency sweep', 'efficiency', { vectors: asRecord(vs), adapters: adaptersOf(vs), norms: extraNorms, rows, layer, hook }, {
        view: (p) => ({ fraction: p.done / p.total, detail: `${p.name}: ‖αv‖ ${p.point.norm.toFixed(2)} → loss ${p.point.loss.toFixed(4)}` }),
        onProgress: (p) =>
          useLab.setState((s) => {
            const cur = s.efficiency.curves[p.name] ?? { byScale: [], byNorm: [] };
            const next = p.point.scale !== undefined ? { ...cur, byScale: [...cur.byScale, p.point] } : { ...cur, byNorm: [...cur.byNorm, p.point] };
            return { efficiency: { ...s.efficiency, curves: { ...s.efficiency.curves, [p.name]: next } } };
          }),
      });
      useLab.setState((s) => ({ efficiency: { ...s.efficiency, curves: { ...s.efficiency.curves, ...res } } }));
    }
  } catch (e) {
    if (!isCancelled(e)) throw e;
  }
}

/** The slider's on-demand point: every vector under study rescaled to one norm. */
export async function probeEfficiency(norm: number): Promise<void> {
  const list = studyVectors(useLab.getState());
  if (!need(list)) return;
  const rows = useLab.getState().efficiency.rows;
  for (const [{ layer, hook }, vs] of byHook(list)) {
    const res = await track('efficiency-probe', `Loss at ‖αv‖ = ${norm.toFixed(2)}`, 'efficiency', { vectors: asRecord(vs), adapters: adaptersOf(vs), scales: [], norms: [norm], rows, layer, hook }, {
      view: (p) => ({ fraction: p.done / p.total, detail: `${p.name}: loss ${p.point.loss.toFixed(4)}` }),
    }).catch((e) => (isCancelled(e) ? null : Promise.reject(e)));
    if (!res) return;
    useLab.setState((s) => {
      const probes = { ...s.efficiency.probes };
      for (const [k, r] of Object.entries(res)) probes[k] = [...(probes[k] ?? []).filter((p) => Math.abs(p.norm - norm) > 1e-4 * Math.max(1, norm)), ...r.byNorm].sort((a, b) => a.norm - b.norm);
      return { efficiency: { ...s.efficiency, probes } };
    });
  }
}

export async function runStability(rows: number, seeds: number): Promise<void> {
  const list = studyVectors(useLab.getState());
  if (!need(list)) return;
  useLab.setState((s) => ({ stability: { ...s.stability, rows, seeds, curves: {}, probes: {} } }));
  try {
    for (const [{ layer, hook }, vs] of byHook(list)) {
      const res = await track('stability', 'Stability sweep', 'stability', { vectors: asRecord(vs), adapters: adaptersOf(vs), seeds, rows, layer, hook, seed: 0 }, {
        view: (p) => ({ fraction: p.done / p.total, detail: `${p.name}: ε ${p.point.eps} → +${p.point.mean.toFixed(1)} % ± ${p.point.sd.toFixed(1)}` }),
        onProgress: (p) =>
          useLab.setState((s) => {
            const cur = s.stability.curves[p.name] ?? { lossTrained: NaN, lossChat: NaN, points: [] };
            return { stability: { ...s.stability, curves: { ...s.stability.curves, [p.name]: { ...cur, points: [...cur.points, p.point] } } } };
          }),
      });
      useLab.setState((s) => ({ stability: { ...s.stability, curves: { ...s.stability.curves, ...res } } }));
    }
  } catch (e) {
    if (!isCancelled(e)) throw e;
  }
}

export async function probeStability(eps: number): Promise<void> {
  const list = studyVectors(useLab.getState());
  if (!need(list)) return;
  const { rows, seeds } = useLab.getState().stability;
  for (const [{ layer, hook }, vs] of byHook(list)) {
    const res = await track('stability-probe', `Relative loss at ε = ${eps}`, 'stability', { vectors: asRecord(vs), adapters: adaptersOf(vs), eps: [eps], seeds, rows, layer, hook, seed: 0 }, {
      view: (p) => ({ fraction: p.done / p.total, detail: `${p.name}: +${p.point.mean.toFixed(1)} %` }),
    }).catch((e) => (isCancelled(e) ? null : Promise.reject(e)));
    if (!res) return;
    useLab.setState((s) => {
      const probes = { ...s.stability.probes };
      for (const [k, r] of Object.entries(res)) probes[k] = [...(probes[k] ?? []).filter((p) => p.eps !== eps), ...r.points].sort((a, b) => a.eps - b.eps);
      return { stability: { ...s.stability, probes } };
    });
  }
}

export async function fetchFineweb(n: number): Promise<void> {
  const { sources } = useLab.getState();
  try {
    const docs = await track('fineweb', `Fetching ${n} FineWeb documents`, 'fineweb', { n, source: sources.fineweb }, {
      view: (p) => ({ fraction: p.got / p.wanted, detail: `${p.got} of ${p.wanted} documents` }),
    });
    useLab.setState((s) => ({ pretrain: { ...s.pretrain, docs, curves: {} } }));
  } catch (e) {
    if (!isCancelled(e)) throw e;
  }
}

/** Norms from 0 to a bit past the largest trained norm, evenly spaced. */
export function normGrid(maxNorm: number, points = 9): number[] {
  const top = maxNorm > 0 ? maxNorm * 1.5 : 1;
  return Array.from({ length: points }, (_, i) => (top * i) / (points - 1));
}

export async function runFinewebKl(opts: { points: number; randomSeeds: number; maxTokens: number }): Promise<void> {
  const list = studyVectors(useLab.getState());
  if (!need(list)) return;
  const norms = normGrid(Math.max(...list.map((v) => v.norm)), opts.points);
  useLab.setState((s) => ({ pretrain: { ...s.pretrain, curves: {} } }));
  try {
    const groups = byHook(list);
    for (const [i, [{ layer, hook }, vs]] of groups.entries()) {
      const res = await track('fineweb-kl', 'KL on pre-training text', 'finewebKl', {
        vectors: asRecord(vs), adapters: adaptersOf(vs),
        norms,
        // the random baseline once (at the first layer group)
        randomSeeds: i === 0 ? Array.from({ length: opts.randomSeeds }, (_, k) => k) : [],
        maxTokens: opts.maxTokens,
        layer,
        hook,
      }, {
        view: (p) => ({ fraction: p.done / p.total, detail: `${p.name}: ‖αv‖ ${p.point.norm.toFixed(2)} → KL ${p.point.kl.toExponential(2)}` }),
        onProgress: (p) =>
          useLab.setState((s) => ({ pretrain: { ...s.pretrain, curves: { ...s.pretrain.curves, [p.name]: [...(s.pretrain.curves[p.name] ?? []), p.point] } } })),
      });
      useLab.setState((s) => ({ pretrain: { ...s.pretrain, curves: { ...s.pretrain.curves, ...res } } }));
    }
  } catch (e) {
    if (!isCancelled(e)) throw e;
  }
}

export async function runPca(slots: RunSlot[], k = 5): Promise<void> {
  const s = useLab.getState();
  const runs = slots
    .map((slot) => ({ slot, r: s.runs[slot] }))
    .filter((x) => x.r?.state?.checkpoints.length && x.r.modelRepo === s.runs[slots[0]!]?.modelRepo)
    .map((x) => ({ name: x.slot, checkpoints: x.r!.state!.checkpoints.map((c) => c.v) }));
  if (!runs.length) return void notify('error', 'No checkpoints yet: train at least one run (a checkpoint is kept every few steps).');
  try {
    const res = await track('pca', 'PCA of trajectories', 'pca', { runs, k });
    useLab.setState({ pca: res });
  } catch (e) {
    if (!isCancelled(e)) throw e;
  }
}
