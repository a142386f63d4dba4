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
