// The trainer's CE step (src/lab/train/ce_step.ts) on the wasm EP. Graph capture itself runs in Chromium (the
// reference check, test/browser_reference.test.ts); what it needs from the data side is checked here: batches
// padded to microBatch rows × a length bucket, label rows padded with weight 0, must give the loss and gradient of
// the same batch run as it comes — for full and short (last-of-epoch) batches and in several buckets.

import { describe, expect, it } from 'vitest';
import { collate, lengthBucket } from '../../src/lab/data/batch';
import type { TokenizedRow } from '../../src/lab/data/tokenize';
import { paddedLabelFeeds } from '../../src/lab/feeds';
import { CeStep } from '../../src/lab/train/ce_step';
import { vectorTarget } from '../../src/lab/train/target';
import { tinyModel } from '../models/adapter_fixture';

function rows(lengths: number[], vocab: number): TokenizedRow[] {
  let s = 12345;
  const next = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) % vocab;
  return lengths.map((n, line) => {
    const ids = Int32Array.from({ length: n }, next);
    const lossMask = Uint8Array.from({ length: n }, (_, t) => (t >= Math.floor(n / 3) ? 1 : 0));
    return { line, ids, lossMask, promptLen: Math.floor(n / 3), fullLen: n, prefixFallback: false };
  });
}

describe('length buckets and padded label rows', () => {
  it('buckets are powers of two from 64, capped at the longest row', () => {
    expect([1, 64, 65, 128, 129, 300].map((t) => lengthBucket(t, 1000))).toEqual([64, 64, 128, 128, 256, 512]);
    expect(lengthBucket(130, 130)).toBe(130);
    expect(lengthBucket(20, 40)).toBe(40);
    expect(() => lengthBucket(41, 40)).toThrow('longer than the longest');
  });

  it('collate pads to a fixed row count with empty rows; label rows pad with weight 0', () => {
    const rs = rows([5, 9], 50);
    const batch = collate(rs, 0, { padTo: 12, rows: 3 });
    expect([batch.B, batch.T]).toEqual([3, 12]);
    expect(Array.from(batch.attentionMask.slice(24))).toEqual(new Array(12).fill(0));
    const f = paddedLabelFeeds(batch, 36);
    const n = Array.from(f.ce_weight!.data as Float32Array).filter((w) => w === 1).length;
    expect(n).toBe(rs.reduce((a, r) => a + r.lossMask.slice(1).reduce((x, y) => x + y, 0), 0));
    expect(f.ce_index!.shape).toEqual([36]);
    expect(() => collate(rs, 0, { rows: 1 })).toThrow('do not fit');
  });
});

describe('CeStep: the padded (capture-shaped) route equals the plain one', () => {
  for (const arch of ['qwen2', 'gemma2']) {
    it(`${arch}: full and short batches across length buckets`, async () => {
      const model = await tinyModel(arch);
      const target = vectorTarget(model, 1, 4);
      const data = rows([20, 70, 150, 40, 90], model.config.vocabSize);
      const longest = 150;
      const opts = { microBatch: 2, longest, padId: 0 };
      const padded = await CeStep.create(model, target, { ...opts, padded: true });
      const plain = await CeStep.create(model, target, opts);
      expect([padded.route, plain.route]).toEqual(['padded', 'plain']);
      const v = Float32Array.from({ length: model.config.hiddenSize }, (_, i) => Math.sin(i) * 0.05);
      for (const batch of [data.slice(0, 2), data.slice(2, 4), data.slice(4)]) {
        const a = await padded.run(batch, target.feeds(v));
        const b = await plain.run(batch, target.feeds(v));
        expect(a.batch.B).toBe(2);
        expect(a.batch.T).toBe(lengthBucket(Math.max(...batch.map((r) => r.ids.length)), longest));
        const ce = [a.out.ce!.data[0] as number, b.out.ce!.data[0] as number];
        expect(Math.abs(ce[0]! - ce[1]!) / ce[1]!).toBeLessThan(1e-6);
        const ga = a.out.grad_ce!.data as Float32Array;
        const gb = b.out.grad_ce!.data as Float32Array;
        let err = 0;
        let scale = 0;
        gb.forEach((x, i) => {
          err = Math.max(err, Math.abs(x - ga[i]!));
          scale = Math.max(scale, Math.abs(x));
        });
        expect(err / scale).toBeLessThan(1e-5);
      }
      await padded.release();
      await plain.release();
    }, 120_000);
  }
});
