// AdamW (PyTorch semantics: decoupled weight decay, bias-corrected moments) and HF's linear schedule with
// warm-up, over one flat parameter vector.

export interface AdamWConfig {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
}

export const PAPER_ADAMW: AdamWConfig = { lr: 1e-4, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0 };

export interface AdamState {
  m: Float32Array;
  v: Float32Array;
  /** optimizer steps taken */
  t: number;
}

export function adamState(d: number): AdamState {
  return { m: new Float32Array(d), v: new Float32Array(d), t: 0 };
}

/** One AdamW update of `param` in place with learning rate `lr` (already scheduled). */
export function adamwStep(param: Float32Array, grad: ArrayLike<number>, s: AdamState, cfg: AdamWConfig, lr: number): void {
  const [b1, b2] = cfg.betas;
  s.t += 1;
  const c1 = 1 - b1 ** s.t;
  const c2 = 1 - b2 ** s.t;
  for (let i = 0; i < param.length; i++) {
    const g = grad[i]!;
    if (cfg.weightDecay) param[i]! -= lr * cfg.weightDecay * param[i]!;
    s.m[i] = b1 * s.m[i]! + (1 - b1) * g;
    s.v[i] = b2 * s.v[i]! + (1 - b2) * g * g;
    param[i]! -= (lr * (s.m[i]! / c1)) / (Math.sqrt(s.v[i]! / c2) + cfg.eps);
  }
}

/**
 * HF get_linear_schedule_with_warmup: the multiplier used by optimizer step `step` (0-based) — a ramp from 0
 * over `warmup` steps, then linear decay to 0 at `total`. As in HF, step 0 runs at lr 0.
 */
export function linearWarmup(step: number, warmup: number, total: number): number {
  if (step < warmup) return step / Math.max(1, warmup);
  return Math.max(0, (total - step) / Math.max(1, total - warmup));
}
