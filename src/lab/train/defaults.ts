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
 * A workshop-sized study: a general and a narrow vector and every sweep in a few minutes on a laptop-class GPU
 * (README "What it means for a user": the measured step and sweep times, assumed 4× slower on a laptop). Rows,
 * steps, batch and max tokens are the knobs that cost time; the optimiser and α stay the paper's. `rows` and
 * `klRows` are what the Data panel reads (rows before the 10 % hold-out; KL rows per KL dataset); `sweeps` are the
 * sweep panels' sizes (the ε and scale grids stay the paper's).
 */
export const WORKSHOP = {
  rows: 256,
  klRows: 64,
  maxLen: 128,
  train: { ...DEFAULT_TRAIN, microBatch: 4, accumulation: 1, epochs: 1, warmup: 2, klBatch: 4, checkpointEvery: 4 } satisfies Omit<TrainConfig, 'layer'>,
  narrowLambda: 6.6,
  sweeps: { efficiencyRows: 32, stabilityRows: 32, stabilitySeeds: 3, finewebDocs: 20, finewebMaxTokens: 256, finewebPoints: 9, finewebSeeds: 3 },
} as const;

/**
 * Measured through onnxruntime-web's WebGPU build on one H100 (bench:gpu, 2026-12-07,
 * bench/results/h100-2026-12-07-run1-bench.txt): the trainer's graph-captured CE step, 4 × 128 tokens.
 */
export const MEASURED_STEP_MS_4x128 = 94;
/**
 * The narrow run's KL term for a KL batch of 4 × 128 tokens (chat and steered passes, KL head and its backward, in
 * chunks of 2 rows, not graph-captured yet) costs this many captured CE steps: 748 ms against 96 ms in the same run
 * (bench/results/h100-2026-12-07-run3-train-kl.txt).
 */
export const KL_TERM_PER_STEP = 748 / 96;
/** how much slower a laptop-class GPU is assumed to be than that H100 for these kernels (see README) */
export const LAPTOP_FACTOR = 4;

/**
 * Seconds a training run takes from a measured step time: micro-steps × step time scaled by tokens per micro-batch
 * (relative to 4 × 128), plus, when λ > 0, the KL term per micro-step scaled by its KL batch's tokens (`klStepMs` per
 * 4 × 128 KL tokens; by default `stepMs` × the measured KL_TERM_PER_STEP).
 */
export function estimateTrainSeconds(
  cfg: Pick<TrainConfig, 'microBatch' | 'epochs' | 'lambdaKl' | 'klBatch'>,
  rows: number,
  maxLen: number,
  stepMs = MEASURED_STEP_MS_4x128,
  klStepMs = stepMs * KL_TERM_PER_STEP,
): number {
  const micro = Math.ceil(rows / cfg.microBatch) * (cfg.epochs ?? 1);
  const perMicro = (stepMs / 1000) * ((cfg.microBatch * maxLen) / (4 * 128));
  const kl = cfg.lambdaKl > 0 ? (klStepMs / 1000) * ((cfg.klBatch * maxLen) / (4 * 128)) : 0;
  return micro * (perMicro + kl);
}
