// PEFT files for an adapter, and adapters from PEFT files: the worker holds the model's config (the layer
// shapes the files must match), so export and import run here.

import { exportPeft, importPeft } from '../../lab/adapters/peft';
import type { JobHandler } from './context';

export const exportAdapterJob: JobHandler<'exportAdapter'> = async (req, ctx) => {
  const { model, info } = ctx.session.requireModel();
  const f = exportPeft({ ...req.adapter.shape, data: req.adapter.data }, model.config, info.repo);
  return { weights: f.weights, config: f.config };
};

export const importAdapterJob: JobHandler<'importAdapter'> = async (req, ctx) => {
  const { model } = ctx.session.requireModel();
  const a = importPeft({ weights: req.weights, config: req.config }, model.config);
  const { data, ...shape } = a;
  return { adapter: { shape, data } };
};
