// One training run on the loaded data: general (λ = 0) or narrow (λ > 0, KL data from the KL slot), fresh,
// resumed from a saved state, or started from a given vector (the remove-KL continuation). Every step streams
// its record; every checkpoint streams the whole resumable state, which the UI stores in IndexedDB.

import { KlEvaluator } from '../../lab/sweeps/evaluator';
import { PAPER_ADAMW } from '../../lab/train/optim';
import { cloneState, SteeringTrainer } from '../../lab/train/trainer';
import { adapterTarget } from '../../lab/adapters/target';
import { loraLayout } from '../../lab/adapters/lora';
import { AdapterKlEvaluator } from '../../lab/adapters/evaluator';
import type { JobHandler } from './context';

/** KL rows every run is measured on at its checkpoints: the first 16 of the KL set, as in the CLI's kl_eval. */
export const KL_EVAL_ROWS = 16;

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
  // every run's KL on the KL data, λ = 0 included, measured the same way at each checkpoint (when KL data is
  // loaded); the evaluator is kept for later runs at this layer until the KL data changes (jobs/data.ts)
  // a LoRA run is measured as θ through its adapter, a vector run as αv at its hook
  let klEval: { kl(x: Float32Array): Promise<number> } | undefined;
  try {
    const klRows = ctx.session.data.kl?.train ?? [];
    if (req.klEval && klRows.length) {
      ctx.phase('caching activations of the KL rows');
      const rows = klRows.slice(0, KL_EVAL_ROWS);
      const shape = s.adapter;
      klEval = shape
        ? await ctx.session.derive(`klrows|lora:${shape.rank}:${shape.alpha}:${shape.keys.join(',')}|${rows.length}`, () => AdapterKlEvaluator.create(model, shape, rows, tok.padId))
        : await ctx.session.derive(`klrows|${s.layer}${s.hook && s.hook !== 'resid_post' ? `:${s.hook}` : ''}|${rows.length}`, () => KlEvaluator.create(model, s.layer, rows, tok.padId, { hook: s.hook }));
    }
    ctx.phase(req.resume ? `resuming at step ${req.resume.step}` : 'training');
    if (req.resume && req.resume.v.length !== size) {
      throw new Error(`the saved run has ${req.resume.v.length} parameters, this ${s.adapter ? 'adapter' : 'vector'} on the loaded model ${size}: load the model (and adapter shape) it was trained with`);
    }
    const r = await trainer.run({
      signal: ctx.signal,
      resume: req.resume,
      onProgress: (step) => ctx.progress({ kind: 'step', step }),
      onCheckpoint: async (c, state) => {
        if (klEval) ctx.progress({ kind: 'klEval', step: c.step, kl: await klEval.kl(s.adapter ? c.v : Float32Array.from(c.v, (x) => x * s.alpha)) });
        ctx.progress({ kind: 'checkpoint', state: cloneState(state) });
      },
    });
    return { state: r.state, cancelled: r.cancelled };
  } finally {
    await trainer.release();
  }
};
