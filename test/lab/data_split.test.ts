// Seeded PRNG, held-out split, epoch shuffles and batch collation.
import { describe, it, expect } from 'vitest';
import { Rng, deriveSeed, permutation, randomUnitVector } from '../../src/lab/rng';
import { heldOutSplit, epochOrder, sampleWithoutReplacement } from '../../src/lab/data/split';
import { collate } from '../../src/lab/data/batch';
import { labelCount } from '../../src/lab/feeds';
import type { TokenizedRow } from '../../src/lab/data/tokenize';

describe('Rng', () => {
  it('is reproducible from its seed and differs between seeds', () => {
    const a = new Rng(42), b = new Rng(42), c = new Rng(43);
    const xa = Array.from({ length: 10 }, () => a.next());
    expect(Array.from({ length: 10 }, () => b.next())).toEqual(xa);
    expect(Array.from({ length: 10 }, () => c.next())).not.toEqual(xa);
    expect(xa.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(deriveSeed(42, 'noise', 1)).not.toBe(deriveSeed(42, 'noise', 2));
    expect(deriveSeed(42, 'noise', 1)).toBe(deriveSeed(42, 'noise', 1));
  });

  it('uniform and Gaussian moments match their distributions (n = 200k)', () => {
    const r = new Rng(7);
    const n = 200_000;
    let su = 0, sg = 0, sg2 = 0, sg4 = 0;
    const bins = new Array(10).fill(0);
    for (let i = 0; i < n; i++) {
      const u = r.next();
      su += u;
      bins[Math.floor(u * 10)]++;
      const g = r.gaussian();
      sg += g; sg2 += g * g; sg4 += g ** 4;
    }
    // standard errors: mean(u) 0.00065, mean(g) 0.0022, var(g) 0.0032, kurtosis ~0.011
    expect(Math.abs(su / n - 0.5)).toBeLessThan(0.003);
    expect(Math.abs(sg / n)).toBeLessThan(0.01);
    expect(Math.abs(sg2 / n - 1)).toBeLessThan(0.015);
    expect(Math.abs(sg4 / n - 3)).toBeLessThan(0.1);
    for (const b of bins) expect(Math.abs(b / n - 0.1)).toBeLessThan(0.004);
  });

  it('int(n) is in range and unbiased; permutation and unit vectors are what they claim', () => {
    const r = new Rng(1);
    const counts = [0, 0, 0];
    for (let i = 0; i < 30_000; i++) counts[r.int(3)]++;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(400);
    expect(() => r.int(0)).toThrow(/integer/);
    const p = permutation(1000, 5);
    expect([...p].sort((x, y) => x - y)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(p).not.toEqual(Array.from({ length: 1000 }, (_, i) => i));
    const v = randomUnitVector(896, 3);
    expect(Math.hypot(...v)).toBeCloseTo(1, 5);
    expect(Array.from(randomUnitVector(896, 3))).toEqual(Array.from(v));
  });
});

describe('heldOutSplit / epochOrder / sample', () => {
  const items = Array.from({ length: 7049 }, (_, i) => i);

  it('holds out ceil(10%) = 705 of 7049, disjoint, covering, in file order, reproducible by seed', () => {
    const s = heldOutSplit(items, { fraction: 0.1, seed: 42 });
    expect(s.heldOut.length).toBe(705);
    expect(s.train.length).toBe(6344);
    expect([...s.train, ...s.heldOut].sort((a, b) => a - b)).toEqual(items);
    expect(s.train).toEqual([...s.train].sort((a, b) => a - b));
    expect(heldOutSplit(items, { seed: 42 })).toEqual(s);
    const other = heldOutSplit(items, { seed: 43 });
    expect(other.heldOut).not.toEqual(s.heldOut);
    // a random 10% is spread over the file, not a block at one end
    expect(Math.min(...s.heldOut)).toBeLessThan(100);
    expect(Math.max(...s.heldOut)).toBeGreaterThan(6900);
    expect(heldOutSplit([1, 2], { fraction: 0.9 }).train.length).toBe(1);
    expect(() => heldOutSplit(items, { fraction: 1 })).toThrow(/fraction/);
  });

  it('epochOrder is a per-epoch seeded permutation; sampling is without replacement', () => {
    const e0 = epochOrder(items, 1, 0);
    expect(epochOrder(items, 1, 0)).toEqual(e0);
    expect(epochOrder(items, 1, 1)).not.toEqual(e0);
    expect([...e0].sort((a, b) => a - b)).toEqual(items);
    const s = sampleWithoutReplacement(items, 100, 42);
    expect(new Set(s).size).toBe(100);
    expect(sampleWithoutReplacement(items, 100, 42)).toEqual(s);
    expect(sampleWithoutReplacement([1, 2], 5, 0).length).toBe(2);
  });
});

describe('collate / labelCount', () => {
  const row = (line: number, ids: number[], labelsFrom: number): TokenizedRow => ({
    line,
    ids: Int32Array.from(ids),
    lossMask: Uint8Array.from(ids.map((_, t) => (t >= labelsFrom ? 1 : 0))),
    promptLen: labelsFrom,
    fullLen: ids.length,
    prefixFallback: false,
  });

  it('right-pads with padId to the longest row; masks are 0 on padding', () => {
    const b = collate([row(1, [5, 6, 7, 8], 2), row(2, [9, 10], 1)], 0);
    expect([b.B, b.T]).toEqual([2, 4]);
    expect(Array.from(b.inputIds)).toEqual([5, 6, 7, 8, 9, 10, 0, 0]);
    expect(Array.from(b.attentionMask)).toEqual([1, 1, 1, 1, 1, 1, 0, 0]);
    expect(Array.from(b.lossMask)).toEqual([0, 0, 1, 1, 0, 1, 0, 0]);
    expect(b.lines).toEqual([1, 2]);
    // label positions that enter the mean CE: t >= 1 only (a label at t = 0 has no logits predicting it)
    expect(labelCount(b)).toBe(3);
    expect(labelCount(collate([row(1, [4, 5, 6], 0)], 0))).toBe(2);
    const padded = collate([row(1, [5, 6], 1)], 99, { padTo: 4 });
    expect(Array.from(padded.inputIds)).toEqual([5, 6, 99, 99]);
    expect(() => collate([row(1, [5, 6, 7], 1)], 0, { padTo: 2 })).toThrow(/shorter than the longest row/);
    expect(() => collate([], 0)).toThrow(/empty batch/);
  });

});
