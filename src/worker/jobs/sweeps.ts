// Efficiency (Fig 4a) and stability (Fig 4b) sweeps. Both evaluate the SFT loss of a fixed sample of training
// rows (SCIENCE.md: 100 rows, seed 42) under many vectors; the evaluator caches the activations below the
// hook once per (layer, sample size) and is reused by every later sweep and slider point.

import type { HookPoint } from '../../models/hooks';
import { sampleWithoutReplacement } from '../../lab/data';
import { LossEvaluator } from '../../lab/sweeps/evaluator';
import { EFFICIENCY_SCALES, STABILITY_EPS, efficiencySweep, stabilitySweep } from '../../lab/sweeps/sweeps';
import type { JobResult } from '../protocol';
import type { WorkerSession } from '../session';
import { adapterEfficiencySweep } from '../../lab/adapters/sweeps';
import { adapterLossEvaluator, checkAdapters } from './adapter_evaluators';
import type { JobHandler } from './context';

function lossEvaluator(session: WorkerSession, layer: number, rows: number, signal: AbortSignal, hook?: HookPoint): Promise<LossEvaluator> {
  const { model, tok } = session.requireModel();
  const data = session.requireData('train');
  return session.derive(`loss|${layer}|${hook ?? 'resid_post'}|${rows}`, () =>
    LossEvaluator.create(model, layer, sampleWithoutReplacement(data.train, rows, 42), tok.padId, { signal, hook }),
  );
}

export const efficiencyJob: JobHandler<'efficiency'> = async (req, ctx) => {
  ctx.phase('caching activations');
  const names = Object.keys(req.vectors);
  // only adapters asked for: no vector evaluator to build
  const ev = names.length ? await lossEvaluator(ctx.session, req.layer, req.rows, ctx.signal, req.hook) : undefined;
  const adapters = checkAdapters(ctx.session, req.adapters);
  const scales = req.scales ?? EFFICIENCY_SCALES;
  const total = (names.length + adapters.length) * (scales.length + req.norms.length);
  let done = 0;
  const out: JobResult<'efficiency'> = {};
  for (const name of names) {
    ctx.phase(`efficiency of ${name}`);
    out[name] = await efficiencySweep(ev!, req.vectors[name]!, {
      scales,
      norms: req.norms,
      signal: ctx.signal,
      onPoint: (point) => ctx.progress({ name, point, done: ++done, total }),
    });
  }
  for (const [name, a] of adapters) {
    ctx.phase(`efficiency of ${name}`);
    const aev = await adapterLossEvaluator(ctx.session, a.shape, req.rows, ctx.signal);
    out[name] = await adapterEfficiencySweep(aev, ctx.session.requireModel().model.config, a.shape, a.data, {
      scales,
      norms: req.norms,
      signal: ctx.signal,
      onPoint: (point) => ctx.progress({ name, point, done: ++done, total }),
    });
  }
  return out;
};

export const stabilityJob: JobHandler<'stability'> = async (req, ctx) => {
  ctx.phase('caching activations');
  const names = Object.keys(req.vectors);
  const ev = names.length ? await lossEvaluator(ctx.session, req.layer, req.rows, ctx.signal, req.hook) : undefined;
  const adapters = checkAdapters(ctx.session, req.adapters);
  const eps = req.eps ?? STABILITY_EPS;
  const total = (names.length + adapters.length) * eps.length;
  let done = 0;
  const out: JobResult<'stability'> = {};
  for (const name of names) {
    ctx.phase(`stability of ${name}`);
    out[name] = await stabilitySweep(ev!, req.vectors[name]!, {
      eps,
      seeds: req.seeds,
      seed: req.seed,
      signal: ctx.signal,
      onPoint: (point) => ctx.progress({ name, point, done: ++done, total }),
    });
  }
  for (const [name, a] of adapters) {
    ctx.phase(`stability of ${name}`);
    const aev = await adapterLossEvaluator(ctx.session, a.shape, req.rows, ctx.signal);
    out[name] = await stabilitySweep(aev, a.data, { eps, seeds: req.seeds, seed: req.seed, signal: ctx.signal, onPoint: (point) => ctx.progress({ name, point, done: ++done, total }) });
  }
  return out;
};
