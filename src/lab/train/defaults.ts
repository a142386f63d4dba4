// SCIENCE.md's training defaults, in a module without engine imports so the page (not only the worker) can
// show them: α 256, AdamW lr 1e-4, 5 warm-up steps, effective batch 16 (4 × 4), 2 epochs, KL batch 8,
// a checkpoint every 5 steps, seed 42.
import { PAPER_ADAMW } from './optim';
import type { TrainConfig } from './trainer';

export const DEFAULT_TRAIN: Omit<TrainConfig, 'layer'> = {
  alpha: 256,
  microBatch: 4,
  accumulation: 4,
  epochs: 2,
  warmup: 5,
  optim: PAPER_ADAMW,
  lambdaKl: 0,
  klBatch: 8,
  checkpointEvery: 5,
  seed: 42,
};

/**
 * A workshop-sized study: a general and a narrow vector and every sweep in about 5 minutes on a laptop-class GPU
 * (README "What it means for a user": the measured H200 step times, assumed 4× slower on a laptop). Rows, steps,
 * batch and max tokens are the knobs that cost time; the optimiser and α stay the paper's.
 */
export const WORKSHOP = {
  rows: 96,
  maxLen: 128,
  train: { ...DEFAULT_TRAIN, microBatch: 4, accumulation: 1, epochs: 1, warmup: 2, klBatch: 4, checkpointEvery: 4 } satisfies Omit<TrainConfig, 'layer'>,
  narrowLambda: 6.6,
  sweeps: { efficiencyRows: 32, stabilityEps: [0.05, 0.2, 0.4, 0.7, 1.0], stabilitySeeds: 3, finewebDocs: 20, finewebMaxTokens: 256 },
} as const;

/** Measured on one H200 through onnxruntime-web's WebGPU build (bench:gpu, 2026-12-03, bench/results/h200-2026-12-03-bench.txt): one train step, 4 × 128 tokens. */
export const MEASURED_STEP_MS_4x128 = 163;
/** how much slower a laptop-class GPU is assumed to be than that H200 for these kernels (see README) */
export const LAPTOP_FACTOR = 4;

/**
 * Seconds a training run takes from a measured step time: micro-steps × step time scaled by tokens per micro-batch
 * (relative to 4 × 128), KL micro-steps counted as their extra rows through blocks and head (chat + steered).
 */
export function estimateTrainSeconds(cfg: Pick<TrainConfig, 'microBatch' | 'epochs' | 'lambdaKl' | 'klBatch'>, rows: number, maxLen: number, stepMs = MEASURED_STEP_MS_4x128): number {
  const micro = Math.ceil(rows / cfg.microBatch) * (cfg.epochs ?? 1);
  const perMicro = (stepMs / 1000) * ((cfg.microBatch * maxLen) / (4 * 128));
  const kl = cfg.lambdaKl > 0 ? (stepMs / 1000) * ((cfg.klBatch * maxLen * 1.5) / (4 * 128)) : 0;
  return micro * (perMicro + kl);
}
