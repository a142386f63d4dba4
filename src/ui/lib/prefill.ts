// The guide's prefills: each sets only the settings its own experiment needs (so steps never undo each other,
// and a quick-look budget survives the figure steps), and returns what it changed, in words, for the page to
// show. Values already right are not listed.

import { setDataForm } from '../actions/data';
import { setTrainForm } from '../actions/train';
import { useLab, type DataForm, type TrainForm } from '../store/store';
import { getSticky, setSticky } from './sticky';

export interface Prefill {
  data?: Partial<DataForm>;
  train?: Partial<TrainForm>;
  /** panel settings kept in memory (useSticky keys) with their labels */
  sticky?: Record<string, { label: string; value: number | string | boolean }>;
}

const LABELS: Record<string, string> = {
  trainPresets: 'training data',
  trainUrl: 'training URL',
  klPresets: 'KL data',
  limit: 'rows',
  klLimit: 'KL rows per dataset',
  maxLen: 'max tokens',
  labels: 'loss on',
  heldOutFraction: 'held out',
  budget: 'train for',
  steps: 'steps',
  epochs: 'epochs',
  microBatch: 'micro-batch',
  accumulation: 'accumulation',
  checkpointEvery: 'checkpoint every',
  lr: 'learning rate',
  warmup: 'warm-up steps',
  narrowLambda: 'λ (narrow, per token)',
  klBatch: 'KL batch',
  alpha: 'α',
  seed: 'seed',
  layer: 'layer',
  adapterPreset: 'adapter',
};

function show(v: unknown): string {
  if (v === null || v === undefined || v === '') return 'none';
  if (Array.isArray(v)) return v.join(' + ') || 'none';
  if (typeof v === 'number' && v > 0 && v < 1 && !Number.isInteger(v)) return String(v);
  return String(v);
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Applies a prefill and lists each change as "label: old → new". */
export function applyPrefill(p: Prefill): string[] {
  const s = useLab.getState();
  const out: string[] = [];
  const diff = <T extends object>(cur: T, patch: Partial<T> | undefined): Partial<T> => {
    const changed: Record<string, unknown> = {};
    const now = cur as Record<string, unknown>;
    for (const [k, v] of Object.entries(patch ?? {})) {
      if (same(now[k], v)) continue;
      changed[k] = v;
      out.push(`${LABELS[k] ?? k}: ${show(now[k])} → ${show(v)}`);
    }
    return changed as Partial<T>;
  };
  const d = diff(s.dataForm, p.data);
  const t = diff(s.trainForm, p.train);
  if (Object.keys(d).length) setDataForm(d);
  if (Object.keys(t).length) setTrainForm(t);
  for (const [k, { label, value }] of Object.entries(p.sticky ?? {})) {
    const cur = getSticky(k);
    if (same(cur, value)) continue;
    setSticky(k, value);
    out.push(`${label}: ${cur === undefined ? '' : `${show(cur)} → `}${show(value)}`);
  }
  return out;
}
