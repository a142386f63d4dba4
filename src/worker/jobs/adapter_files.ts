// PEFT files for an adapter, and adapters from PEFT files: the worker holds the model's config (the layer
// shapes the files must match), so export and import run here.

import { exportPeft, importPeft } from '../../lab/adapters/peft';
import { assertAdapterFits } from '../../lab/adapters/match';
import type { JobHandler } from './context';

export const exportAdapterJob: JobHandler<'exportAdapter'> = async (req, ctx) => {
  const { model, info } = ctx.session.requireModel();
  // the files name their base model: an adapter made for another one is refused, not relabelled
  if (req.adapter.modelId !== undefined) assertAdapterFits({ modelId: req.adapter.modelId, keys: req.adapter.shape.keys }, info);
  const f = exportPeft({ ...req.adapter.shape, data: req.adapter.data }, model.config, info.repo);
  return { weights: f.weights, config: f.config };
};

export const importAdapterJob: JobHandler<'importAdapter'> = async (req, ctx) => {
  const { model, info } = ctx.session.requireModel();
  const a = importPeft({ weights: req.weights, config: req.config }, model.config);
  const { data, ...shape } = a;
  // checked against this model's shapes, so it is this model's adapter (whatever the page has loaded meanwhile)
  return { adapter: { shape, data, modelId: info.repo } };
};
