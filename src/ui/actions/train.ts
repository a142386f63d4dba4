// Training runs: start (general, narrow, or the remove-KL continuation from the narrow vector), cancel, resume
// after a reload from the state saved at the last checkpoint. Every checkpoint and the end of a run are written
// to IndexedDB; a finished run's vector goes into the library.

import type { TrainSettings, TrainState } from '../../worker/protocol';
import { listRuns, putRun } from '../storage/idb';
import { saveSetting } from '../storage/local';
import { notify, useLab, type TrainForm } from '../store/store';
import { RUN_NAMES, type RunRecord, type RunSlot } from '../store/types';
import { describeSpec, klSources, loadData, sameSpec, sourcesOf, trainSources } from './data';
import { errorText, isCancelled, track } from './jobs';
import { ensureModel } from './model';
import { keep } from './persist';
import { saveVector } from './vectors';
import { presetShape } from '../../lab/adapters/presets';
import { describeAdapter } from '../../lab/adapters/lora';
import { saveAdapter } from './adapters';
import { plural } from '../lib/format';

export function setTrainForm(patch: Partial<TrainForm>): void {
  useLab.setState((s) => ({ trainForm: { ...s.trainForm, ...patch } }));
  saveSetting('trainForm', useLab.getState().trainForm);
}

/** `hookPoints`: the loaded model's; a down_proj choice left in the form from a Gemma model does not apply to others */
function settingsFor(slot: RunSlot, f: TrainForm, layer: number, numLayers: number, hookPoints: string[]): TrainSettings {
  return {
    ...(f.adapterPreset ? { adapter: presetShape(f.adapterPreset, { numLayers }, layer) } : {}),
    layer,
    ...(f.hook === 'down_proj' && hookPoints.includes('down_proj') ? { hook: f.hook } : {}),
    alpha: f.alpha,
    lr: f.lr,
    microBatch: f.microBatch,
    accumulation: f.accumulation,
    ...(f.budget === 'steps' ? { steps: f.steps } : { epochs: f.epochs }),
    warmup: f.warmup,
    lambdaKl: slot === 'narrow' ? f.narrowLambda : 0,
    klBatch: f.klBatch,
    checkpointEvery: f.checkpointEvery,
    seed: f.seed,
  };
}

function setRun(r: RunRecord, persist = false): void {
  useLab.setState((s) => ({ runs: { ...s.runs, [r.id]: r } }));
  if (persist) void keep(`the ${RUN_NAMES[r.id]} run`, `steerlab-run-${r.id}.json`, () => putRun(r), () => getRun(r.id));
}

/** A library name not taken yet: "General · data", then "General · data #2", … */
function freeName(base: string): string {
  const taken = new Set(useLab.getState().vectors.map((v) => v.name));
  if (!taken.has(base)) return base;
  for (let i = 2; ; i++) if (!taken.has(`${base} #${i}`)) return `${base} #${i}`;
}

function getRun(slot: RunSlot): RunRecord | undefined {
  return useLab.getState().runs[slot];
}

/** Loads the runs saved in this browser; runs that were going when the page closed become resumable. */
export async function restoreRuns(): Promise<void> {
  const runs = await listRuns();
  const out: Partial<Record<RunSlot, RunRecord>> = {};
  for (const r of runs) {
    if (r.status === 'running' || r.status === 'queued') r.status = 'interrupted';
    r.history = r.state?.history ?? r.history ?? [];
    out[r.id] = r;
  }
  useLab.setState({ runs: out });
}

async function execute(r: RunRecord, opts: { resume?: TrainState; init?: Float32Array }): Promise<void> {
  const key = `train:${r.id}`;
  try {
    const res = await track(key, `Training ${RUN_NAMES[r.id]}`, 'train', { runId: r.id, settings: r.settings, resume: opts.resume, init: opts.init, klEval: true }, {
      onProgress: (p) => {
        const cur = getRun(r.id);
        if (!cur) return;
        if (p.kind === 'klEval') {
          setRun({ ...cur, klEval: [...(cur.klEval ?? []).filter((x) => x.step < p.step), { step: p.step, kl: p.kl }] });
        } else if (p.kind === 'step') {
          setRun({ ...cur, status: 'running', history: [...cur.history.filter((h) => h.step < p.step.step), p.step], last: p.step, totalSteps: p.step.totalSteps, updatedAt: new Date().toISOString() });
        } else {
          setRun({ ...cur, state: p.state, totalSteps: p.state.totalSteps, updatedAt: new Date().toISOString() }, true);
        }
      },
      view: (p) =>
        p.kind === 'step'
          ? { fraction: p.step.step / p.step.totalSteps, detail: `step ${p.step.step} of ${p.step.totalSteps} · loss ${p.step.loss.toFixed(3)} · ${r.settings.adapter ? '‖θ‖' : '‖αv‖'} ${p.step.norm.toFixed(2)}` }
          : null,
    });
    const cur = getRun(r.id)!;
    const done: RunRecord = { ...cur, state: res.state, history: res.state.history, status: res.cancelled ? 'cancelled' : 'done', totalSteps: res.state.totalSteps, updatedAt: new Date().toISOString() };
    // adapters stay with their run (export them as PEFT files from the run); the vector library holds vectors
    if (!res.cancelled && !done.settings.adapter) {
      const s = done.settings;
      const v = await saveVector({
        name: freeName(`${RUN_NAMES[r.id]} · ${done.dataLabel}`),
        modelId: done.modelRepo,
        layer: s.layer,
        ...(s.hook === 'down_proj' ? { hook: s.hook } : {}),
        alpha: s.alpha,
        data: res.state.v,
        provenance: { source: 'trained', run: r.id, data: done.dataLabel, kl: done.klLabel, settings: s, steps: res.state.step, initFrom: done.initFrom },
        how: `trained on ${done.dataLabel}, λ = ${s.lambdaKl}, ${plural(res.state.step, 'step')}${done.initFrom ? `, from ${done.initFrom}` : ''}`,
      });
      done.vectorId = v.id;
    }
    if (!res.cancelled && done.settings.adapter) {
      const s = done.settings;
      const a = await saveAdapter(
        { name: freeName(`${RUN_NAMES[r.id]} LoRA · ${done.dataLabel}`), modelId: done.modelRepo, adapter: { ...s.adapter!, data: res.state.v }, createdAt: new Date().toISOString(), provenance: { source: 'trained', run: r.id, data: done.dataLabel, kl: done.klLabel, settings: s, steps: res.state.step } },
        `trained on ${done.dataLabel}, λ = ${s.lambdaKl}, ${res.state.step} steps, ${describeAdapter(s.adapter!)}`,
      );
      done.vectorId = a.id;
    }
    setRun(done, true);
  } catch (e) {
    const cur = getRun(r.id);
    if (cur) setRun({ ...cur, status: isCancelled(e) ? 'cancelled' : 'error', error: isCancelled(e) ? undefined : errorText(e), updatedAt: new Date().toISOString() }, true);
  }
}

/**
 * The vector of a run about to be replaced, kept in the library: a finished run's is there already (under its
 * own name); a stopped run's partial vector is added, named with the step it reached.
 */
async function keepOldVector(old: RunRecord): Promise<string | null> {
  if (old.vectorId) return (useLab.getState().vectors.find((v) => v.id === old.vectorId) ?? useLab.getState().adapters.find((a) => a.id === old.vectorId))?.name ?? null;
  if (!old.state || old.state.step === 0) return null;
  const s = old.settings;
  // a LoRA run's partial θ goes to the adapter library, read through its shape
  if (s.adapter) {
    const a = await saveAdapter(
      { name: freeName(`${RUN_NAMES[old.id]} LoRA · ${old.dataLabel} (stopped at step ${old.state.step} of ${old.state.totalSteps})`), modelId: old.modelRepo, adapter: { ...s.adapter, data: old.state.v }, createdAt: new Date().toISOString(), provenance: { source: 'trained', run: old.id, data: old.dataLabel, kl: old.klLabel, settings: s, steps: old.state.step } },
      `trained on ${old.dataLabel}, λ = ${s.lambdaKl}, stopped at step ${old.state.step} of ${old.state.totalSteps}, ${describeAdapter(s.adapter)}`,
    );
    return a.name;
  }
  const v = await saveVector({
    name: freeName(`${RUN_NAMES[old.id]} · ${old.dataLabel} (stopped at step ${old.state.step} of ${old.state.totalSteps})`),
    modelId: old.modelRepo,
    layer: s.layer,
    ...(s.hook === 'down_proj' ? { hook: s.hook } : {}),
    alpha: s.alpha,
    data: old.state.v,
    provenance: { source: 'trained', run: old.id, data: old.dataLabel, kl: old.klLabel, settings: s, steps: old.state.step, initFrom: old.initFrom, partial: true },
    how: `trained on ${old.dataLabel}, λ = ${s.lambdaKl}, stopped at step ${old.state.step} of ${old.state.totalSteps}`,
  });
  return v.name;
}

/** Starts a run in its slot; a slot that already holds a run asks first and keeps the old vector in the library. */
export async function startRun(slot: RunSlot, opts: { confirm?: (text: string) => boolean } = {}): Promise<void> {
  const s = useLab.getState();
  const info = s.model.info;
  if (s.model.status !== 'ready' || !info) return void notify('error', 'Load a model first (Model panel).', { until: (x) => x.model.status === 'ready' });
  if (s.data.train.status !== 'ready') return void notify('error', 'Load training data first (Data panel).', { until: (x) => x.data.train.status === 'ready' });
  let init: Float32Array | undefined;
  if (slot === 'removeKl') {
    const narrow = s.runs.narrow;
    if (!narrow?.state || narrow.status !== 'done') return void notify('error', 'The remove-KL continuation starts from a finished narrow run: train the narrow vector first.', { until: (x) => x.runs.narrow?.status === 'done' });
    init = narrow.state.v;
  }
  const old = s.runs[slot];
  if (old?.state && old.state.step > 0) {
    const ask = opts.confirm ?? ((t: string) => window.confirm(t));
    const what = old.status === 'done' ? `finished, ${plural(old.state.step, 'step')}` : `stopped at step ${old.state.step} of ${old.state.totalSteps}`;
    if (!ask(`Train the ${RUN_NAMES[slot]} run again? The current run (${what}) is replaced here; its vector stays in the library under its own name.`)) return;
    const kept = await keepOldVector(old);
    if (kept) notify('info', `The previous ${RUN_NAMES[slot]} vector stays in the library as “${kept}”.`, { where: 'Train' });
  }
  // every run is measured on the KL data (λ = 0 included); the narrow run cannot train without it
  if (useLab.getState().data.kl.status !== 'ready' && s.dataForm.klPresets.length) {
    if (!(await loadData('kl', klSources(s.dataForm))) && slot === 'narrow') return;
  }
  if (slot === 'narrow' && useLab.getState().data.kl.status !== 'ready') return void notify('error', 'The narrow run needs KL data: tick at least one KL dataset in the Data panel.', { until: (x) => x.data.kl.status === 'ready' });
  const f = useLab.getState().trainForm;
  const now = new Date().toISOString();
  const st = useLab.getState();
  const r: RunRecord = {
    id: slot,
    modelRepo: info.repo,
    dModel: info.dModel,
    dataLabel: st.data.train.label ?? 'training data',
    klLabel: st.data.kl.status === 'ready' ? st.data.kl.label : undefined,
    data: st.data.train.spec,
    kl: st.data.kl.status === 'ready' ? st.data.kl.spec : undefined,
    settings: settingsFor(slot, f, f.layer ?? info.defaultLayer, info.layers, info.hookPoints ?? []),
    initFrom: slot === 'removeKl' ? 'narrow' : undefined,
    status: 'queued',
    history: [],
    startedAt: now,
    updatedAt: now,
  };
  setRun(r, true);
  await execute(r, { init });
}

/**
 * Makes a data slot hold exactly what a run used: already loaded, read again from its recorded sources, or a
 * reason why not (an uploaded file that is not loaded any more; a run saved before data was recorded).
 */
async function ensureRunData(slot: 'train' | 'kl', r: RunRecord): Promise<string | null> {
  const spec = slot === 'train' ? r.data : r.kl;
  const now = useLab.getState().data[slot];
  const name = slot === 'train' ? 'training data' : 'KL data';
  if (!spec) {
    const label = slot === 'train' ? r.dataLabel : r.klLabel;
    if (now.status === 'ready' && now.label === label) return null;
    return `this run was saved without a record of its ${name} beyond its name (“${label}”), and the ${name} loaded now is ${now.label ? `“${now.label}”` : 'none'}: load “${label}” in the Data panel, or train it again`;
  }
  if (now.status === 'ready' && sameSpec(now.spec, spec)) return null;
  const sources = sourcesOf(spec);
  if (!sources) return `this run trained on ${describeSpec(spec)}, which is an uploaded file the lab cannot read again: load the same file with the same settings in the Data panel, then resume`;
  if (!(await loadData(slot, sources, spec))) return `its ${name} (${describeSpec(spec)}) could not be read again: ${useLab.getState().data[slot].error ?? 'see the Data panel'}`;
  notify('info', `Read the run's own ${name} again to resume on exactly what it trained on: ${describeSpec(spec)}.`, { where: 'resume' });
  return null;
}

/** Continues a run from its last saved checkpoint, loading its model (from the cache) and data if needed. */
export async function resumeRun(slot: RunSlot): Promise<void> {
  const r = getRun(slot);
  if (!r?.state) return void notify('error', 'This run has no saved checkpoint to resume from.');
  if (!(await ensureModel(r.modelRepo))) {
    const m = useLab.getState().model;
    if (m.status === 'error') notify('error', `Resuming needs ${r.modelRepo}, which did not load: ${m.error}`, { where: 'resume' });
    return;
  }
  for (const slot of r.settings.lambdaKl > 0 || r.kl ? (['train', 'kl'] as const) : (['train'] as const)) {
    const why = await ensureRunData(slot, r);
    if (why) {
      // KL data only measured (λ = 0) is not worth refusing for: the run resumes without the measurement
      if (slot === 'kl' && r.settings.lambdaKl === 0) continue;
      return void notify('error', `The ${RUN_NAMES[r.id]} run cannot resume: ${why}.`, { where: 'resume' });
    }
  }
  const resumed: RunRecord = { ...r, status: 'queued', history: r.state.history, error: undefined, updatedAt: new Date().toISOString() };
  setRun(resumed, true);
  await execute(resumed, { resume: r.state });
}

export function cancelRun(slot: RunSlot): void {
  useLab.getState().jobs[`train:${slot}`]?.cancel?.();
}
