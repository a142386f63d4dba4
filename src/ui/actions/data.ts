// Reading training and KL data into the worker's slots with the loaded model's tokenizer.

import type { DataSource } from '../../worker/protocol';
import { DATASET_PRESETS } from '../../lab/data/presets';
import { saveSetting } from '../storage/local';
import { useLab, type DataForm } from '../store/store';
import { isCancelled, track } from './jobs';

export function setDataForm(patch: Partial<DataForm>): void {
  useLab.setState((s) => ({ dataForm: { ...s.dataForm, ...patch } }));
  const { trainUrl: _u, ...keep } = useLab.getState().dataForm;
  void _u;
  saveSetting('dataForm', keep);
}

function label(sources: DataSource[], limit: number | null): string {
  const names = sources.map((s) => (s.kind === 'preset' ? DATASET_PRESETS[s.preset].label : s.kind === 'url' ? s.url.replace(/^.*\//, '') : s.name));
  return names.join(' + ') + (limit ? ` (first ${limit} rows)` : '');
}

export async function loadData(slot: 'train' | 'kl', sources: DataSource[]): Promise<boolean> {
  const { dataForm: f, sources: where } = useLab.getState();
  const limit = slot === 'train' ? f.limit : f.klLimit;
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
        options: { limit: limit ?? undefined, maxLen: f.maxLen, labels: f.labels, heldOutFraction: f.heldOutFraction, seed: 42 },
      },
      {
        view: (p) =>
          p.phase === 'tokenize'
            ? { fraction: p.total ? p.done! / p.total : null, detail: `tokenising ${p.source}: ${p.done}/${p.total}` }
            : { fraction: p.totalBytes ? p.bytes! / p.totalBytes : null, detail: `reading ${p.source}: ${((p.bytes ?? 0) / 1e6).toFixed(1)} MB${p.rows ? `, ${p.rows} rows` : ''}` },
        notifyErrors: false,
      },
    );
    useLab.setState((s) => ({ data: { ...s.data, [slot]: { status: 'ready', summary, label: text } } }));
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
