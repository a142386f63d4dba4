// Reading training and KL data into the worker's slots with the loaded model's tokenizer.

import type { DataSource } from '../../worker/protocol';
import { DATASET_PRESETS } from '../../lab/data/presets';
import { saveSetting } from '../storage/local';
import { fingerprint } from '../lib/study';
import { notify, useLab, type DataForm } from '../store/store';
import type { DataSpec } from '../store/types';
import { isCancelled, track } from './jobs';
import { noun, plural } from '../lib/format';

export function setDataForm(patch: Partial<DataForm>): void {
  const before = useLab.getState().dataForm;
  useLab.setState((s) => ({ dataForm: { ...s.dataForm, ...patch } }));
  // a typed URL replaces the ticked presets: say so once, when it starts to
  if (patch.trainUrl?.trim() && !before.trainUrl.trim() && before.trainPresets.length) {
    const names = before.trainPresets.map((p) => DATASET_PRESETS[p]?.label ?? p).join(', ');
    notify('info', `The URL replaces the ticked ${noun(before.trainPresets.length, 'preset')} (${names}); clear the URL to use ${noun(before.trainPresets.length, 'it', 'them')} again.`, { where: 'Data', until: (s) => !s.dataForm.trainUrl.trim() });
  }
  const { trainUrl: _u, ...keep } = useLab.getState().dataForm;
  void _u;
  saveSetting('dataForm', keep);
}

function label(sources: DataSource[], limit: number | null): string {
  const names = sources.map((s) => (s.kind === 'preset' ? DATASET_PRESETS[s.preset].label : s.kind === 'url' ? s.url.replace(/^.*\//, '') : s.name));
  return names.join(' + ') + (limit ? ` (first ${plural(limit, 'row')})` : '');
}

/** The spec of reading these sources with the Data form's settings now (the split seed is fixed at 42). */
export function specFor(slot: 'train' | 'kl', sources: DataSource[], f: DataForm = useLab.getState().dataForm): DataSpec {
  return {
    sources: sources.map((s) => (s.kind === 'file' ? { kind: 'file', name: s.name, size: s.bytes.length, checksum: fingerprint(new Float32Array(s.bytes.buffer.slice(s.bytes.byteOffset, s.bytes.byteOffset + (s.bytes.length & ~3)))) } : s)),
    limit: slot === 'train' ? f.limit : f.klLimit,
    maxLen: f.maxLen,
    labels: f.labels,
    heldOutFraction: f.heldOutFraction,
    seed: 42,
  };
}

export const sameSpec = (a: DataSpec | undefined, b: DataSpec | undefined) => !!a && !!b && JSON.stringify(a) === JSON.stringify(b);

/** A spec in words, for messages: "Bad medical advice, first 12 rows, ≤ 64 tokens, 10 % held out". */
export function describeSpec(d: DataSpec): string {
  const names = d.sources.map((s) => (s.kind === 'preset' ? (DATASET_PRESETS[s.preset as keyof typeof DATASET_PRESETS]?.label ?? s.preset) : s.kind === 'url' ? s.url : `the file ${s.name}`));
  return `${names.join(' + ')}, ${d.limit ? `first ${plural(d.limit, 'row')}` : 'all rows'}, ≤ ${d.maxLen} tokens, ${Math.round(d.heldOutFraction * 100)} % held out`;
}

/** The sources a spec can be read from again, or null when it needs an uploaded file (whose bytes are not kept). */
export function sourcesOf(d: DataSpec): DataSource[] | null {
  if (d.sources.some((s) => s.kind === 'file')) return null;
  return d.sources as DataSource[];
}

/** Reads sources into a slot: with the Data form's settings, or exactly those of `spec` (a run's resume). */
export async function loadData(slot: 'train' | 'kl', sources: DataSource[], spec?: DataSpec): Promise<boolean> {
  const { sources: where } = useLab.getState();
  const d = spec ?? specFor(slot, sources);
  const f = { limit: d.limit, maxLen: d.maxLen, labels: d.labels as DataForm['labels'], heldOutFraction: d.heldOutFraction };
  const limit = d.limit;
  const text = label(sources, limit);
  useLab.setState((s) => ({ data: { ...s.data, [slot]: { status: 'loading', label: text } } }));
  try {
    const summary = await track(
      `data:${slot}`,
      slot === 'train' ? 'Reading training data' : 'Reading KL data',
      'loadData',
      {
        slot,
        sources,
        datasetsBase: where.datasetsBase,
        options: { limit: limit ?? undefined, maxLen: f.maxLen, labels: f.labels, heldOutFraction: f.heldOutFraction, seed: d.seed },
      },
      {
        view: (p) =>
          p.phase === 'tokenize'
            ? { fraction: p.total ? p.done! / p.total : null, detail: `tokenising ${p.source}: ${p.done}/${p.total}` }
            : { fraction: p.totalBytes ? p.bytes! / p.totalBytes : null, detail: `reading ${p.source}: ${((p.bytes ?? 0) / 1e6).toFixed(1)} MB${p.rows ? `, ${plural(p.rows, 'row')}` : ''}` },
        notifyErrors: false,
      },
    );
    useLab.setState((s) => ({ data: { ...s.data, [slot]: { status: 'ready', summary, label: text, spec: d } } }));
    return true;
  } catch (e) {
    useLab.setState((s) => ({
      data: { ...s.data, [slot]: isCancelled(e) ? { status: 'idle' } : { status: 'error', label: text, error: (e as Error).message } },
    }));
    return false;
  }
}

/** The training sources the form describes (presets, or a URL when one is typed). */
export function trainSources(f: DataForm): DataSource[] {
  if (f.trainUrl.trim()) return [{ kind: 'url', url: f.trainUrl.trim() }];
  return f.trainPresets.map((preset) => ({ kind: 'preset', preset }));
}

export function klSources(f: DataForm): DataSource[] {
  return f.klPresets.map((preset) => ({ kind: 'preset', preset }));
}

/** Reads the training (and KL) data the forms describe when it is not what is loaded; says what it did, or why not. */
export async function loadFormData(): Promise<string> {
  const s = useLab.getState();
  if (s.model.status !== 'ready') return 'Load a model first (Model panel): the data is read with its tokenizer. Then load the data in the Data panel.';
  const want = trainSources(s.dataForm);
  const klWanted = s.dataForm.klPresets.length > 0;
  const klSame = s.data.kl.status === 'ready' && sameSpec(s.data.kl.spec, specFor('kl', klSources(s.dataForm)));
  if (s.data.train.status === 'ready' && sameSpec(s.data.train.spec, specFor('train', want))) {
    if (klWanted && !klSame) await loadData('kl', klSources(s.dataForm));
    return 'The training data was already loaded.';
  }
  if (!(await loadData('train', want))) return 'The training data could not be read: see the Data panel.';
  if (klWanted && !klSame) await loadData('kl', klSources(s.dataForm));
  return `Loaded the training data: ${useLab.getState().data.train.label}.`;
}
