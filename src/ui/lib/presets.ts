// The study presets a student picks by the time they have: the paper's settings, and the Workshop preset
// (src/lab/train/defaults.ts WORKSHOP: a general and a narrow vector and every sweep in minutes on a laptop).
// Each is a Prefill (data, training and sweep-panel settings), so applying one lists what it changed.

import { PAPER_SWEEPS } from '../../lab/sweeps/grids';
import { estimateStudySeconds, type StudyEstimate } from '../../lab/sweeps/estimate';
import { DEFAULT_TRAIN, LAPTOP_FACTOR, WORKSHOP } from '../../lab/train/defaults';
import { DEFAULT_DATA_FORM, DEFAULT_TRAIN_FORM } from '../store/store';
import type { Prefill } from './prefill';

function sweepSticky(s: typeof PAPER_SWEEPS): NonNullable<Prefill['sticky']> {
  return {
    'efficiency.rows': { label: 'efficiency rows', value: s.efficiencyRows },
    'stability.rows': { label: 'stability rows', value: s.stabilityRows },
    'stability.seeds': { label: 'noise seeds', value: s.stabilitySeeds },
    'pretrain.docs': { label: 'FineWeb documents', value: s.finewebDocs },
    'pretrain.maxTokens': { label: 'tokens per document', value: s.finewebMaxTokens },
    'pretrain.points': { label: 'norm points', value: s.finewebPoints },
    'pretrain.seeds': { label: 'random seeds', value: s.finewebSeeds },
  };
}

export function workshopPrefill(): Prefill {
  const t = WORKSHOP.train;
  return {
    data: { limit: WORKSHOP.rows, klLimit: WORKSHOP.klRows, maxLen: WORKSHOP.maxLen },
    train: {
      budget: 'epochs',
      epochs: t.epochs,
      microBatch: t.microBatch,
      accumulation: t.accumulation,
      warmup: t.warmup,
      klBatch: t.klBatch,
      checkpointEvery: t.checkpointEvery,
      lr: t.optim.lr,
      alpha: t.alpha,
      narrowLambda: WORKSHOP.narrowLambda,
    },
    sticky: sweepSticky(WORKSHOP.sweeps),
  };
}

export function paperPrefill(): Prefill {
  const { layer: _l, ...paper } = DEFAULT_TRAIN_FORM;
  void _l;
  return { data: { limit: null, maxLen: DEFAULT_DATA_FORM.maxLen, klLimit: DEFAULT_DATA_FORM.klLimit }, train: paper, sticky: sweepSticky(PAPER_SWEEPS) };
}

/** The paper's training rows: bad medical advice, 7,049 conversations less the 10 % held out (SCIENCE.md). */
export const PAPER_TRAIN_ROWS = 6344;

/** A preset's whole study (both runs and every sweep) on a laptop-class GPU (× LAPTOP_FACTOR the measured H100). */
export function presetStudySeconds(which: 'workshop' | 'paper', slowdown = LAPTOP_FACTOR): StudyEstimate {
  if (which === 'workshop') return estimateStudySeconds(WORKSHOP.train, WORKSHOP.narrowLambda, Math.round(WORKSHOP.rows * (1 - DEFAULT_DATA_FORM.heldOutFraction)), WORKSHOP.sweeps, WORKSHOP.maxLen, slowdown);
  return estimateStudySeconds(DEFAULT_TRAIN, DEFAULT_TRAIN_FORM.narrowLambda, PAPER_TRAIN_ROWS, PAPER_SWEEPS, DEFAULT_DATA_FORM.maxLen, slowdown);
}
