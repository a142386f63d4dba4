// Training runs: start (general, narrow, or the remove-KL continuation from the narrow vector), cancel, resume
// after a reload from the state saved at the last checkpoint. Every checkpoint and the end of a run are written
// to IndexedDB; a finished run's vector goes into the library.

import type { TrainSettings, TrainState } from '../../worker/protocol';
import { listRuns, putRun } from '../storage/idb';
import { saveSetting } from '../storage/local';
import { notify, useLab, type TrainForm } from '../store/store';
import { RUN_LABELS, type RunRecord, type RunSlot } from '../store/types';
import { klSources, loadData, trainSources } from './data';
import { errorText, isCancelled, track } from './jobs';
import { ensureModel } from './model';
import { saveVector } from './vectors';
import { presetShape } from '../../lab/adapters/presets';
import { describeAdapter } from '../../lab/adapters/lora';
import { saveAdapter } from './adapters';

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
  if (persist) void putRun(r).catch((e) => notify('error', `could not save run ${r.id} in this browser: ${errorText(e)}`));
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
    const res = await track(key, `Training ${RUN_LABELS[r.id]}`, 'train', { runId: r.id, settings: r.settings, resume: opts.resume, init: opts.init }, {
      onProgress: (p) => {
        const cur = getRun(r.id);
        if (!cur) return;
        if (p.kind === 'step') {
          setRun({ ...cur, status: 'running', history: [...cur.history.filter((h) => h.step < p.step.step), p.step], last: p.step, totalSteps: p.step.totalSteps, updatedAt: new Date().toISOString() });
        } else {
          setRun({ ...cur, state: p.state, totalSteps: p.state.totalSteps, updatedAt: new Date().toISOString() }, true);
        }
      },
      view: (p) =>
        p.kind === 'step'
          ? { fraction: p.step.step / p.step.totalSteps, detail: `step ${p.step.step}/${p.step.totalSteps} · loss ${p.step.loss.toFixed(3)} · ${r.settings.adapter ? '‖θ‖' : '‖αv‖'} ${p.step.norm.toFixed(2)}` }
          : null,
    });
    const cur = getRun(r.id)!;
    const done: RunRecord = { ...cur, state: res.state, history: res.state.history, status: res.cancelled ? 'cancelled' : 'done', totalSteps: res.state.totalSteps, updatedAt: new Date().toISOString() };
    // adapters stay with their run (export them as PEFT files from the run); the vector library holds vectors
    if (!res.cancelled && !done.settings.adapter) {
      const s = done.settings;
      const v = await saveVector({
        name: `${r.id === 'removeKl' ? 'narrow→no-KL' : r.id} · ${done.dataLabel}`,
        modelId: done.modelRepo,
        layer: s.layer,
        ...(s.hook === 'down_proj' ? { hook: s.hook } : {}),
        alpha: s.alpha,
        data: res.state.v,
        provenance: { source: 'trained', run: r.id, data: done.dataLabel, kl: done.klLabel, settings: s, steps: res.state.step, initFrom: done.initFrom },
        how: `trained on ${done.dataLabel}, λ = ${s.lambdaKl}, ${res.state.step} steps${done.initFrom ? `, from ${done.initFrom}` : ''}`,
      });
      done.vectorId = v.id;
    }
    if (!res.cancelled && done.settings.adapter) {
      const s = done.settings;
      const a = await saveAdapter(
        { name: `${r.id === 'removeKl' ? 'narrow→no-KL' : r.id} LoRA · ${done.dataLabel}`, modelId: done.modelRepo, adapter: { ...s.adapter!, data: res.state.v }, createdAt: new Date().toISOString(), provenance: { source: 'trained', run: r.id, data: done.dataLabel, kl: done.klLabel, settings: s, steps: res.state.step } },
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

export async function startRun(slot: RunSlot): Promise<void> {
  const s = useLab.getState();
  const info = s.model.info;
  if (s.model.status !== 'ready' || !info) return void notify('error', 'Load a model first (Model panel).');
  if (s.data.train.status !== 'ready') return void notify('error', 'Load training data first (Data panel).');
  let init: Float32Array | undefined;
  if (slot === 'removeKl') {
    const narrow = s.runs.narrow;
    if (!narrow?.state || narrow.status !== 'done') return void notify('error', 'The remove-KL continuation starts from a finished narrow run: train the narrow vector first.');
    init = narrow.state.v;
  }
  if (slot === 'narrow' && s.data.kl.status !== 'ready') {
    if (!(await loadData('kl', klSources(s.dataForm)))) return;
  }
  const f = useLab.getState().trainForm;
  const now = new Date().toISOString();
  const r: RunRecord = {
    id: slot,
    modelRepo: info.repo,
    dModel: info.dModel,
    dataLabel: useLab.getState().data.train.label ?? 'training data',
    klLabel: slot === 'narrow' ? useLab.getState().data.kl.label : undefined,
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

/** Continues a run from its last saved checkpoint, loading its model (from the cache) and data if needed. */
export async function resumeRun(slot: RunSlot): Promise<void> {
  const r = getRun(slot);
  if (!r?.state) return void notify('error', 'This run has no saved checkpoint to resume from.');
  if (!(await ensureModel(r.modelRepo))) {
    const m = useLab.getState().model;
    if (m.status === 'error') notify('error', `Resuming needs ${r.modelRepo}, which did not load: ${m.error}`, { where: 'resume' });
    return;
  }
  const s = useLab.getState();
  if (s.data.train.status !== 'ready' || s.data.train.label !== r.dataLabel) {
    if (!(await loadData('train', trainSources(s.dataForm)))) return;
    if (useLab.getState().data.train.label !== r.dataLabel) {
      notify('info', `Resuming on "${useLab.getState().data.train.label}" (the run started on "${r.dataLabel}"); set the Data panel back if that is not what you want.`);
    }
  }
  if (r.settings.lambdaKl > 0 && useLab.getState().data.kl.status !== 'ready') {
    if (!(await loadData('kl', klSources(useLab.getState().dataForm)))) return;
  }
  const resumed: RunRecord = { ...r, status: 'queued', history: r.state.history, error: undefined, updatedAt: new Date().toISOString() };
  setRun(resumed, true);
  await execute(resumed, { resume: r.state });
}

export function cancelRun(slot: RunSlot): void {
  useLab.getState().jobs[`train:${slot}`]?.cancel?.();
}
