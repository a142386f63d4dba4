// Training settings checked against the data they will run on: a warm-up longer than the run, checkpoints
// sparser than the run, a batch larger than the data, a KL batch larger than the KL set. Each finding says what
// will happen and offers a fix (the form values that resolve it).

import type { TrainForm } from '../store/store';
import { plural } from './format';

export interface SettingsFinding {
  id: 'warmup' | 'checkpoint' | 'batch' | 'klBatch';
  text: string;
  fix: Partial<TrainForm>;
  fixLabel: string;
}

/** Optimiser steps the form gives on `rows` training rows (the trainer's own count). */
export function plannedSteps(f: Pick<TrainForm, 'budget' | 'steps' | 'epochs' | 'microBatch' | 'accumulation'>, rows: number): number {
  if (f.budget === 'steps') return f.steps ?? 20;
  return Math.ceil((Math.ceil(rows / f.microBatch) * (f.epochs ?? 1)) / f.accumulation);
}

export function checkSettings(f: TrainForm, trainRows: number | undefined, klRows: number | undefined): SettingsFinding[] {
  if (!trainRows) return [];
  const out: SettingsFinding[] = [];
  const batch = f.microBatch * f.accumulation;
  if (batch > trainRows) {
    const micro = Math.min(f.microBatch, trainRows);
    const acc = Math.max(1, Math.floor(trainRows / micro));
    out.push({
      id: 'batch',
      text: `The effective batch (${f.microBatch} × ${f.accumulation} = ${batch}) is larger than the ${plural(trainRows, 'training row')}, so every step repeats rows.`,
      fix: { microBatch: micro, accumulation: acc },
      fixLabel: `Use batch ${micro} × ${acc}`,
    });
  }
  const fixed = { ...f, ...(out[0]?.fix ?? {}) };
  const steps = plannedSteps(fixed, trainRows);
  if (f.warmup >= steps && f.warmup > 0) {
    const w = Math.floor(steps / 10);
    out.push({
      id: 'warmup',
      text: `The warm-up (${plural(f.warmup, 'step')}) is as long as the whole run (${plural(steps, 'step')}): the learning rate never reaches ${f.lr}.`,
      fix: { warmup: w },
      fixLabel: `Set warm-up to ${w}`,
    });
  }
  if (f.checkpointEvery > steps || (steps > 1 && Math.floor(steps / f.checkpointEvery) < 2)) {
    const every = Math.max(1, Math.floor(steps / 5));
    if (every !== f.checkpointEvery) {
      out.push({
        id: 'checkpoint',
        text: `A checkpoint every ${plural(f.checkpointEvery, 'step')} on a ${steps}-step run keeps ${plural(Math.max(1, Math.floor(steps / f.checkpointEvery)), 'point')} of the trajectory (Fig 5 draws the path through them), and resuming goes back further.`,
        fix: { checkpointEvery: every },
        fixLabel: `Checkpoint every ${plural(every, 'step')}`,
      });
    }
  }
  if (klRows !== undefined && klRows > 0 && f.klBatch > klRows) {
    out.push({
      id: 'klBatch',
      text: `The KL batch (${f.klBatch}) is larger than the ${plural(klRows, 'KL row')} loaded, so each KL batch repeats rows.`,
      fix: { klBatch: klRows },
      fixLabel: `Set KL batch to ${klRows}`,
    });
  }
  return out;
}
