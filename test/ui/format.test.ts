// How the panels show numbers: KL is never shown below 0, log charts leave 0 out and count it, integer axes get
// whole-number tick steps, plurals and percentages read as sentences.
import { describe, expect, it } from 'vitest';
import { forLogAxis, integerTickStep } from '../../src/ui/components/Chart';
import { fmtKl, klShown, pct, plural } from '../../src/ui/lib/format';

describe('display of numbers', () => {
  it('shows float noise below 0 as a KL of 0, and keeps real small KLs', () => {
    expect(fmtKl(-1.26e-8)).toBe('0');
    expect(klShown(-0)).toBe(0);
    expect(klShown(3e-9)).toBe(3e-9);
    expect(fmtKl(0.01234, 4)).toBe('0.0123');
    expect(Number.isNaN(klShown(NaN))).toBe(true);
  });

  it('leaves non-positive values out of a log axis, with their error bars, and counts them', () => {
    const { traces, dropped } = forLogAxis([{ x: [0, 1, 2], y: [0, 0.5, -1e-9], error_y: { type: 'data', array: [0.1, 0.2, 0.3], visible: true } }]);
    expect(dropped).toBe(2);
    expect(traces[0]!.x).toEqual([1]);
    expect(traces[0]!.y).toEqual([0.5]);
    expect(traces[0]!.error_y!.array).toEqual([0.2]);
  });

  it('ticks steps at whole numbers: 1 for a short run, 1/2/5 × 10^k for longer ones', () => {
    expect(integerTickStep(2)).toBe(1);
    expect(integerTickStep(9)).toBe(2);
    expect(integerTickStep(714)).toBe(200);
    expect(integerTickStep(0)).toBe(1);
  });

  it('writes plurals and fractions as percentages', () => {
    expect(plural(1, 'row')).toBe('1 row');
    expect(plural(3, 'KL row')).toBe('3 KL rows');
    expect(pct(0.1)).toBe('10 %');
  });
});
