// Counted nouns: one helper (src/engine/plural.ts) for every message, and the messages that count things use it —
// "1 step", "1 point", "1 training row" where a count can be one, never "1 steps".
import { describe, expect, it } from 'vitest';
import { noun, plural } from '../../src/engine/plural';
import { costText } from '../../src/ui/lib/cost';
import { describeSpec } from '../../src/ui/actions/data';
import { checkSettings } from '../../src/ui/lib/settings_check';
import { DEFAULT_TRAIN_FORM } from '../../src/ui/store/store';

describe('plural', () => {
  it('writes the singular for exactly one and the plural otherwise, with thousands separated', () => {
    expect(plural(1, 'row')).toBe('1 row');
    expect(plural(0, 'row')).toBe('0 rows');
    expect(plural(2, 'point')).toBe('2 points');
    expect(plural(7049, 'good row')).toBe('7,049 good rows');
    expect(plural(1, 'batch', 'batches')).toBe('1 batch');
    expect(plural(3, 'batch', 'batches')).toBe('3 batches');
    expect(plural(0.5, 'step')).toBe('0.5 steps');
    expect(noun(1, 'line')).toBe('line');
    expect(noun(4, 'it', 'them')).toBe('them');
  });

  it('is what the count messages use: a one-point sweep, a one-row sample, a one-step run', () => {
    expect(costText(1, undefined)).toMatch(/^1 point; /);
    expect(costText(1, { perPoint: 2, setup: 1, points: 5, at: '' })).toMatch(/^1 point, about /);
    expect(costText(12, undefined)).toMatch(/^12 points; /);
    const spec = { sources: [{ kind: 'preset' as const, preset: 'bad_medical_advice' as const }], limit: 1, maxLen: 64, labels: 'assistant' as const, heldOutFraction: 0.1, seed: 42 };
    expect(describeSpec(spec as Parameters<typeof describeSpec>[0])).toMatch(/first 1 row, ≤ 64 tokens/);
    const found = checkSettings({ ...DEFAULT_TRAIN_FORM, budget: 'steps', steps: 1, warmup: 1, checkpointEvery: 5, microBatch: 4, accumulation: 1 }, 1, 1);
    const text = found.map((f) => `${f.text} ${f.fixLabel}`).join('\n');
    expect(text).toMatch(/warm-up \(1 step\) is as long as the whole run \(1 step\)/);
    expect(text).toMatch(/larger than the 1 training row, so/);
    expect(text).not.toMatch(/\b1 (steps|points|rows|training rows|KL rows)\b/);
  });
});
