// Time estimates from measured step and sweep-point times: linear in steps and tokens, KL runs cost more, and the
// workshop preset fits its 10-minute budget (both runs and every sweep) at the assumed laptop speed while the
// paper's default study does not.
import { describe, expect, it } from 'vitest';
import { DEFAULT_TRAIN, LAPTOP_FACTOR, KL_TERM_PER_STEP, WORKSHOP, estimateTrainSeconds } from '../../src/lab/train/defaults';
import { EFFICIENCY_SCALES, PAPER_SWEEPS, STABILITY_EPS } from '../../src/lab/sweeps/grids';
import { MEASURED_SWEEP_POINT_MS, estimateStudySeconds, estimateSweepSeconds } from '../../src/lab/sweeps/estimate';

describe('training time estimates', () => {
  it('scale with rows, epochs and tokens, and charge the KL batch at the measured KL term', () => {
    const base = estimateTrainSeconds({ ...DEFAULT_TRAIN, epochs: 1 }, 400, 128, 1000);
    expect(base).toBeCloseTo(100, 6); // 100 micro-batches of 4 × 128 at 1 s
    expect(estimateTrainSeconds({ ...DEFAULT_TRAIN, epochs: 2 }, 400, 128, 1000)).toBeCloseTo(200, 6);
    expect(estimateTrainSeconds({ ...DEFAULT_TRAIN, epochs: 1 }, 400, 256, 1000)).toBeCloseTo(200, 6);
    // KL batch 8 × 128 tokens: twice the 4 × 128 the KL term was measured on, per micro-step
    const kl = estimateTrainSeconds({ ...DEFAULT_TRAIN, epochs: 1, lambdaKl: 6.6 }, 400, 128, 1000);
    expect(kl - base).toBeCloseTo(100 * 2 * KL_TERM_PER_STEP, 6);
    expect(estimateTrainSeconds({ ...DEFAULT_TRAIN, epochs: 1, lambdaKl: 6.6 }, 400, 128, 1000, 1000) - base).toBeCloseTo(200, 6);
  });

  it('sweep estimates are the measured points scaled by tokens and counted over the grids', () => {
    const e = MEASURED_SWEEP_POINT_MS.efficiency;
    const f = MEASURED_SWEEP_POINT_MS.fineweb;
    const at = estimateSweepSeconds({ vectors: 2, efficiencyRows: e.rows, stabilityRows: e.rows, stabilitySeeds: 10, maxLen: e.maxLen, finewebDocs: f.rows, finewebMaxTokens: f.maxLen, finewebPoints: 9, finewebSeeds: 3 });
    expect(at.efficiency).toBeCloseTo((2 * EFFICIENCY_SCALES.length * e.ms) / 1000, 9);
    expect(at.stability).toBeCloseTo((2 * (STABILITY_EPS.length * 10 + 2) * e.ms) / 1000, 9);
    expect(at.fineweb).toBeCloseTo((5 * 9 * f.ms) / 1000, 9);
    const half = estimateSweepSeconds({ vectors: 2, efficiencyRows: e.rows / 2, stabilityRows: e.rows / 2, stabilitySeeds: 10, maxLen: e.maxLen, finewebDocs: f.rows / 2, finewebMaxTokens: f.maxLen, finewebPoints: 9, finewebSeeds: 3 }, 4);
    expect(half.total).toBeCloseTo(2 * at.total, 9);
  });

  it('the workshop preset trains a general and a narrow vector and runs every sweep in ≤ 10 min on a laptop; the paper default takes hours', () => {
    const trainRows = Math.round(WORKSHOP.rows * 0.9); // the Data panel holds 10 % out
    const w = estimateStudySeconds(WORKSHOP.train, WORKSHOP.narrowLambda, trainRows, WORKSHOP.sweeps, WORKSHOP.maxLen, LAPTOP_FACTOR);
    expect(w.total).toBeLessThan(10 * 60);
    expect(w.narrow).toBeGreaterThan(w.general);
    const paper = estimateStudySeconds(DEFAULT_TRAIN, 6.6, Math.round(7049 * 0.9), PAPER_SWEEPS, 256, LAPTOP_FACTOR);
    expect(paper.total).toBeGreaterThan(3600);
    expect(paper.total).toBeGreaterThan(10 * w.total);
  });
});
