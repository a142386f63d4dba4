// How long the three sweeps take, from the sweep points bench:gpu measured (engine-free, so the page can show it
// before a model is loaded). A point's cost is taken as linear in the tokens it evaluates (rows × max tokens).
// The panels show their own measured per-point times once a sweep has run on the device; this is the estimate
// before that, and the one the README and the Workshop preset are sized by.

import { LAPTOP_FACTOR, MEASURED_STEP_MS_4x128, estimateTrainSeconds } from '../train/defaults';
import type { TrainConfig } from '../train/trainer';
import { EFFICIENCY_SCALES, STABILITY_EPS } from './grids';

/**
 * Measured through onnxruntime-web's WebGPU build on one H100 (bench:gpu, 2026-12-07,
 * bench/results/h100-2026-12-07-run1-bench.txt): one efficiency point, the SFT loss on 100 rows of ≤ 256 tokens,
 * and one FineWeb-KL point, 50 documents of ≤ 512 tokens.
 */
export const MEASURED_SWEEP_POINT_MS = { efficiency: { ms: 1188, rows: 100, maxLen: 256 }, fineweb: { ms: 1236, rows: 50, maxLen: 512 } } as const;

export interface SweepSizes {
  /** vectors in the study (the general and the narrow one: 2) */
  vectors: number;
  efficiencyRows: number;
  stabilityRows: number;
  stabilitySeeds: number;
  /** the training rows' token cap (efficiency and stability evaluate training rows) */
  maxLen: number;
  finewebDocs: number;
  finewebMaxTokens: number;
  finewebPoints: number;
  finewebSeeds: number;
}

/** Seconds for each sweep and their sum, at the measured H100 speed × `slowdown` (1: that GPU). */
export function estimateSweepSeconds(s: SweepSizes, slowdown = 1): { efficiency: number; stability: number; fineweb: number; total: number } {
  const point = (m: { ms: number; rows: number; maxLen: number }, rows: number, maxLen: number) => ((m.ms / 1000) * rows * maxLen) / (m.rows * m.maxLen);
  const e = MEASURED_SWEEP_POINT_MS.efficiency;
  const efficiency = s.vectors * EFFICIENCY_SCALES.length * point(e, s.efficiencyRows, s.maxLen);
  // each ε evaluates one noisy vector per seed; the trained vector and the chat model once each
  const stability = s.vectors * (STABILITY_EPS.length * s.stabilitySeeds + 2) * point(e, s.stabilityRows, s.maxLen);
  const fineweb = (s.vectors + s.finewebSeeds) * s.finewebPoints * point(MEASURED_SWEEP_POINT_MS.fineweb, s.finewebDocs, s.finewebMaxTokens);
  const k = slowdown;
  return { efficiency: efficiency * k, stability: stability * k, fineweb: fineweb * k, total: (efficiency + stability + fineweb) * k };
}

export interface StudyEstimate {
  general: number;
  narrow: number;
  sweeps: ReturnType<typeof estimateSweepSeconds>;
  total: number;
}

/**
 * Seconds for a whole study — the general run, the narrow run (λ > 0) and the three sweeps over those two
 * vectors — on `trainRows` training rows of ≤ `maxLen` tokens, at the measured H100 speed × `slowdown`
 * (LAPTOP_FACTOR for the laptop-class GPU the README assumes).
 */
export function estimateStudySeconds(
  train: Pick<TrainConfig, 'microBatch' | 'epochs' | 'klBatch'>,
  narrowLambda: number,
  trainRows: number,
  sweeps: Omit<SweepSizes, 'vectors' | 'maxLen'>,
  maxLen: number,
  slowdown = LAPTOP_FACTOR,
): StudyEstimate {
  const step = MEASURED_STEP_MS_4x128 * slowdown;
  const general = estimateTrainSeconds({ ...train, lambdaKl: 0 }, trainRows, maxLen, step);
  const narrow = estimateTrainSeconds({ ...train, lambdaKl: narrowLambda }, trainRows, maxLen, step);
  const sw = estimateSweepSeconds({ ...sweeps, vectors: 2, maxLen }, slowdown);
  return { general, narrow, sweeps: sw, total: general + narrow + sw.total };
}
