// AdamW and the linear warm-up schedule against PyTorch: torch.optim.AdamW with transformers'
// get_linear_schedule_with_warmup, fed the same fixed gradients for 10 steps (test/fixtures/adamw, made by
// scripts/gpu/issue11_fixtures.py on the GPU box), must leave the same parameters after every step and use the same
// learning rate at every step. Three cases: the paper's betas with warm-up, weight decay with other betas and eps,
// and no warm-up.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { adamState, adamwStep, linearWarmup } from '../../src/lab/train/optim';

interface TorchCase {
  name: string;
  lr: number;
  weight_decay: number;
  betas: [number, number];
  eps: number;
  warmup: number;
  total: number;
  init: number[];
  grads: number[][];
  lr_used: number[];
  params_after: number[][];
}

const FIXTURE = JSON.parse(readFileSync(path.resolve(__dirname, '../fixtures/adamw/adamw_reference.json'), 'utf8')) as { cases: TorchCase[] };

describe('AdamW + linear warm-up = torch.optim.AdamW + get_linear_schedule_with_warmup', () => {
  it('the fixture holds the three cases', () => {
    expect(FIXTURE.cases.map((c) => [c.name, c.warmup, c.total, c.grads.length])).toEqual([
      ['paper_like', 3, 10, 10],
      ['weight_decay', 2, 10, 10],
      ['no_warmup', 0, 10, 10],
    ]);
  });

  for (const c of FIXTURE.cases) {
    it(`${c.name}: the same learning rate and parameters after each of 10 steps`, () => {
      const p = Float32Array.from(c.init);
      const s = adamState(p.length);
      const cfg = { lr: c.lr, betas: c.betas, eps: c.eps, weightDecay: c.weight_decay };
      let worst = 0;
      for (let step = 0; step < c.total; step++) {
        const lr = c.lr * linearWarmup(step, c.warmup, c.total);
        expect(Math.abs(lr - c.lr_used[step]!), `lr at step ${step}`).toBeLessThanOrEqual(1e-12 * c.lr);
        adamwStep(p, Float32Array.from(c.grads[step]!), s, cfg, lr);
        const want = c.params_after[step]!;
        for (let i = 0; i < p.length; i++) worst = Math.max(worst, Math.abs(p[i]! - want[i]!) / Math.max(1e-3, Math.abs(want[i]!)));
      }
      // measured 2026-12-02: ≤ 4.4e-7 relative (torch keeps float32 state; we round m, v and the parameter to float32 too)
      expect(worst, c.name).toBeLessThan(1e-6);
      expect(s.t).toBe(c.total);
    });
  }
});
