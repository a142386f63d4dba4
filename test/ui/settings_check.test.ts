// The Train panel's check of the settings against the data: the example (2 steps, warm-up 5,
// checkpoints every 5, on 10 rows) is flagged on each count, and applying the offered fixes clears every finding.
import { describe, expect, it } from 'vitest';
import { checkSettings, plannedSteps } from '../../src/ui/lib/settings_check';
import { DEFAULT_TRAIN_FORM, type TrainForm } from '../../src/ui/store/store';

const form = (over: Partial<TrainForm>): TrainForm => ({ ...DEFAULT_TRAIN_FORM, ...over });

describe('checkSettings', () => {
  it('flags a warm-up and checkpoint interval longer than a 2-step run and a batch larger than 10 rows, with fixes that resolve them', () => {
    const f = form({ budget: 'steps', steps: 2, warmup: 5, checkpointEvery: 5, microBatch: 4, accumulation: 4 });
    const found = checkSettings(f, 10, undefined);
    expect(found.map((x) => x.id).sort()).toEqual(['batch', 'checkpoint', 'warmup']);
    expect(found.find((x) => x.id === 'warmup')!.text).toMatch(/warm-up \(5 steps\) is as long as the whole run \(2 steps\)/);
    const fixed = found.reduce((acc, x) => ({ ...acc, ...x.fix }), f);
    expect(fixed.microBatch * fixed.accumulation).toBeLessThanOrEqual(10);
    expect(checkSettings(fixed, 10, undefined)).toEqual([]);
  });

  it('leaves the paper’s settings on the full dataset alone, and checks the KL batch against the KL rows', () => {
    expect(checkSettings(DEFAULT_TRAIN_FORM, 5710, 2000)).toEqual([]);
    const found = checkSettings(DEFAULT_TRAIN_FORM, 5710, 3);
    expect(found.map((x) => x.id)).toEqual(['klBatch']);
    expect(found[0]!.fix).toEqual({ klBatch: 3 });
  });

  it('counts steps as the trainer does: ceil(ceil(rows / micro) × epochs / accumulation)', () => {
    expect(plannedSteps({ budget: 'epochs', epochs: 2, steps: 0, microBatch: 4, accumulation: 4 }, 5710)).toBe(Math.ceil((Math.ceil(5710 / 4) * 2) / 4));
    expect(plannedSteps({ budget: 'steps', epochs: 2, steps: 7, microBatch: 4, accumulation: 4 }, 10)).toBe(7);
  });
});
