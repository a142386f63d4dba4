// What the trainer optimises: one flat parameter vector θ and the graphs that give its losses and gradients.
// A steering vector (θ = v, fed as v with α) and a LoRA adapter (θ = every factor, src/lab/adapters/target.ts)
// share the trainer, its checkpoints, resume and cancel, because the trainer only sees θ through this.

import type { TensorData } from '../../engine/ir';
import type { Graph } from '../../engine/ir';
import type { LoadedModel } from '../../models/model';
import { buildSteerGraph } from '../../models/steer_graph';
import type { HookPoint } from '../../models/hooks';
import { f32, scalar } from '../feeds';
import { vectorNorm } from '../vectors/norm';

export interface TrainTarget {
  /** number of trained parameters */
  readonly size: number;
  /**
   * graph with inputs ids, mask, ce_index, ce_target (+ ce_weight when `weighted`, + θ's feeds) and outputs ce and
   * the CE gradient; `rows` bounds the label rows (head chunking)
   */
  ceGraph(rows?: number, weighted?: boolean): Graph;
  /** graph with inputs ids, mask, kl_index (+ θ's feeds) and outputs kl and the KL gradient; `rows` bounds the KL rows */
  klGraph(precision: 'float32' | 'float64', rows?: number): Graph;
  /** θ's feeds */
  feeds(theta: Float32Array): Record<string, TensorData>;
  /** the flat gradient of `which` from a run's outputs */
  grad(out: Record<string, TensorData>, which: 'ce' | 'kl'): ArrayLike<number>;
  /** θ at step 0 when no init is given */
  init(seed: number): Float32Array;
  /** the norm shown to the user (‖α·v‖ for vectors, ‖θ‖ for adapters) */
  shownNorm(theta: Float32Array): number;
}

export function vectorTarget(model: LoadedModel, layer: number, alpha: number, hook?: HookPoint): TrainTarget {
  const d = model.config.hiddenSize;
  return {
    size: d,
    ceGraph: (rows, weighted) => buildSteerGraph(model, { layer, hook, ce: true, grads: ['ce'], ceRows: rows, ceWeighted: weighted }).graph,
    klGraph: (precision, rows) => buildSteerGraph(model, { layer, hook, ce: false, kl: 'same', grads: ['kl'], klPrecision: precision, klRows: rows }).graph,
    feeds: (v) => ({ v: f32([d], v), alpha: scalar(alpha) }),
    grad: (out, which) => out[`grad_${which}`]!.data as Float32Array,
    init: () => new Float32Array(d),
    shownNorm: (v) => vectorNorm(v, alpha),
  };
}
