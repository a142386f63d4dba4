// One training run on the loaded data: general (λ = 0) or narrow (λ > 0, KL data from the KL slot), fresh,
// resumed from a saved state, or started from a given vector (the remove-KL continuation). Every step streams
// its record; every checkpoint streams the whole resumable state, which the UI stores in IndexedDB.

import { PAPER_ADAMW } from '../../lab/train/optim';
import { cloneState, SteeringTrainer } from '../../lab/train/trainer';
import { adapterTarget } from '../../lab/adapters/target';
import { loraLayout } from '../../lab/adapters/lora';
import type { JobHandler } from './context';

export const trainJob: JobHandler<'train'> = async (req, ctx) => {
  const { model, tok } = ctx.session.requireModel();
  const s = req.settings;
  const size = s.adapter ? loraLayout(model.config, s.adapter).size : model.config.hiddenSize;
  if (s.layer < 0 || s.layer >= model.config.numLayers) throw new Error(`layer ${s.layer} is outside 0..${model.config.numLayers - 1} for this model`);
  const data = ctx.session.requireData('train');
  const kl = s.lambdaKl > 0 ? ctx.session.requireData('kl').train : undefined;
  ctx.phase('compiling the training graph');
  const trainer = await SteeringTrainer.create(
    model,
    {
      layer: s.layer,
      hook: s.hook,
      alpha: s.alpha,
      microBatch: s.microBatch,
      accumulation: s.accumulation,
      epochs: s.steps !== undefined ? undefined : s.epochs,
      steps: s.steps,
      warmup: s.warmup,
      optim: { ...PAPER_ADAMW, lr: s.lr },
      lambdaKl: s.lambdaKl,
      klBatch: s.klBatch,
      checkpointEvery: s.checkpointEvery,
      seed: s.seed,
      init: req.init,
    },
    { train: data.train, kl, padId: tok.padId },
    s.adapter ? adapterTarget(model, s.adapter) : undefined,
  );
  try {
    ctx.phase(req.resume ? `resuming at step ${req.resume.step}` : 'training');
    if (req.resume && req.resume.v.length !== size) {
      throw new Error(`the saved run has ${req.resume.v.length} parameters, this ${s.adapter ? 'adapter' : 'vector'} on the loaded model ${size}: load the model (and adapter shape) it was trained with`);
    }
    const r = await trainer.run({
      signal: ctx.signal,
      resume: req.resume,
      onProgress: (step) => ctx.progress({ kind: 'step', step }),
      onCheckpoint: (_c, state) => ctx.progress({ kind: 'checkpoint', state: cloneState(state) }),
    });
    return { state: r.state, cancelled: r.cancelled };
  } finally {
    await trainer.release();
  }
};
