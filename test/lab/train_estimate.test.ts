// Time estimates from a measured step time: linear in steps and tokens, KL runs cost more, and the workshop preset
// fits its 10-minute budget at the assumed laptop speed while the paper's default run does not.
import { describe, expect, it } from 'vitest';
import { DEFAULT_TRAIN, LAPTOP_FACTOR, MEASURED_STEP_MS_4x128, WORKSHOP, estimateTrainSeconds } from '../../src/lab/train/defaults';

describe('training time estimates', () => {
  it('scale with rows, epochs and tokens, and charge the KL batch', () => {
    const base = estimateTrainSeconds({ ...DEFAULT_TRAIN, epochs: 1 }, 400, 128, 1000);
    expect(base).toBeCloseTo(100, 6); // 100 micro-batches of 4 × 128 at 1 s
    expect(estimateTrainSeconds({ ...DEFAULT_TRAIN, epochs: 2 }, 400, 128, 1000)).toBeCloseTo(200, 6);
    expect(estimateTrainSeconds({ ...DEFAULT_TRAIN, epochs: 1 }, 400, 256, 1000)).toBeCloseTo(200, 6);
    expect(estimateTrainSeconds({ ...DEFAULT_TRAIN, epochs: 1, lambdaKl: 6.6 }, 400, 128, 1000)).toBeGreaterThan(base * 2);
  });

  it('the workshop preset trains a general and a narrow vector in minutes on a laptop; the paper default takes hours', () => {
    const step = MEASURED_STEP_MS_4x128 * LAPTOP_FACTOR;
    const general = estimateTrainSeconds(WORKSHOP.train, WORKSHOP.rows, WORKSHOP.maxLen, step);
    const narrow = estimateTrainSeconds({ ...WORKSHOP.train, lambdaKl: WORKSHOP.narrowLambda }, WORKSHOP.rows, WORKSHOP.maxLen, step);
    expect(general + narrow).toBeLessThan(5 * 60);
    const paper = estimateTrainSeconds(DEFAULT_TRAIN, Math.round(7049 * 0.9), 256, step);
    expect(paper).toBeGreaterThan(3600);
  });
});
