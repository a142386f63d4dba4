// What each plan run trains, and the evaluators for it: a steering vector (evaluated as α·v at plan.layer) or a
// LoRA adapter (evaluated as θ). Runs of one kind share an evaluator, so every section of the report is computed
// for vectors and adapters alike.

import type { ModelConfig } from '../../models/config';
import type { LoadedModel } from '../../models/model';
import { AdapterKlEvaluator, AdapterLossEvaluator } from '../adapters/evaluator';
import { loraKeys, loraLayout, type AdapterShape } from '../adapters/lora';
import type { TokenizedRow } from '../data/tokenize';
import { KlEvaluator, LossEvaluator } from '../sweeps/evaluator';
import { parameterKind, type PlanAdapter } from './adapter_fields';
import type { Plan, PlanRun } from './schema';

export function adapterShapeOf(a: PlanAdapter, cfg: ModelConfig, plan: Plan, at: string): AdapterShape {
  const layers = a.layers === 'all' ? Array.from({ length: cfg.numLayers }, (_, i) => i) : a.layers === 'steer' ? [plan.layer] : a.layers;
  for (const l of layers) if (l >= cfg.numLayers) throw new Error(`invalid plan: ${at}.layers has ${l}, outside 0..${cfg.numLayers - 1} for ${plan.model}`);
  const shape: AdapterShape = { kind: 'lora', rank: a.rank, alpha: a.alpha, keys: loraKeys(a.modules, layers) };
  loraLayout(cfg, shape);
  return shape;
}

export interface RunGroup {
  kind: string;
  /** undefined: steering vectors */
  shape?: AdapterShape;
  runs: PlanRun[];
}

/** Runs grouped by what they train (one evaluator per group). */
export function groupRuns(runs: PlanRun[], shapes: Map<string, AdapterShape>): RunGroup[] {
  const groups = new Map<string, RunGroup>();
  for (const r of runs) {
    const k = parameterKind(r.adapter);
    if (!groups.has(k)) groups.set(k, { kind: k, shape: shapes.get(r.name), runs: [] });
    groups.get(k)!.runs.push(r);
  }
  return [...groups.values()];
}

type Evaluators = { loss(x: Float32Array): Promise<number>; release(): Promise<void> };
type KlEvaluators = { kl(x: Float32Array): Promise<number>; release(): Promise<void>; readonly model: LoadedModel; readonly size?: number };

export function lossEvaluatorFor(model: LoadedModel, plan: Plan, shape: AdapterShape | undefined, rows: TokenizedRow[], padId: number, signal?: AbortSignal): Promise<Evaluators> {
  return shape ? AdapterLossEvaluator.create(model, shape, rows, padId, { signal }) : LossEvaluator.create(model, plan.layer, rows, padId, { signal, hook: plan.hook });
}

export function klEvaluatorFor(model: LoadedModel, plan: Plan, shape: AdapterShape | undefined, rows: TokenizedRow[], padId: number, signal?: AbortSignal): Promise<KlEvaluators> {
  return shape ? AdapterKlEvaluator.create(model, shape, rows, padId, { signal }) : KlEvaluator.create(model, plan.layer, rows, padId, { signal, hook: plan.hook });
}
