// PCA of checkpoint trajectories (Fig 5), off the UI thread: d × n standardisation and the Gram eigenproblem.

import { pcaTrajectories } from '../../lab/pca';
import type { JobHandler } from './context';

export const pcaJob: JobHandler<'pca'> = async (req, ctx) => {
  ctx.phase('PCA');
  const runs = req.runs.filter((r) => r.checkpoints.length > 0);
  if (!runs.length) throw new Error('no checkpoints yet: train a run first (a checkpoint is kept every few steps)');
  const r = pcaTrajectories(runs, { k: req.k });
  return { explainedVarianceRatio: r.explainedVarianceRatio, projections: r.projections };
};
