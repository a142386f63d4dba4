// A LoRA adapter as a trainer target: θ = every factor (lora.ts layout), graphs from adapter_graph.ts with
// p_chat = the model with the adapter disabled, PEFT's initialisation (A kaiming-uniform, B = 0).

import type { LoadedModel } from '../../models/model';
import { buildAdapterGraph } from '../../models/adapter_graph';
import { vectorNorm as norm } from '../vectors/norm';
import type { TrainTarget } from '../train/target';
import { flatGrad, loraFeeds, loraLayout, loraSpec, peftInit, type AdapterShape } from './lora';

export function adapterTarget(model: LoadedModel, shape: AdapterShape): TrainTarget {
  const cfg = model.config;
  const { size } = loraLayout(cfg, shape);
  const lora = loraSpec(shape);
  return {
    size,
    ceGraph: (rows, weighted) => buildAdapterGraph(model, { lora, ce: true, grads: ['ce'], ceRows: rows, ceWeighted: weighted }).graph,
    klGraph: (precision, rows) => buildAdapterGraph(model, { lora, ce: false, kl: true, grads: ['kl'], klPrecision: precision, klRows: rows }).graph,
    feeds: (theta) => loraFeeds(cfg, shape, theta),
    grad: (out, which) => flatGrad(cfg, shape, out, which),
    init: (seed) => peftInit(cfg, shape, seed),
    shownNorm: (theta) => norm(theta),
  };
}
