// The paper's adapter setups. The rank-1 and rank-32 shapes follow the model-organisms-for-EM LoRA configs
// (rank 1 on mlp.down_proj of every layer, lora_alpha 256; rank 32 on every linear module, lora_alpha 64); the
// third puts one rank-1 adapter on down_proj of the steering layer, the closest adapter to a steering vector
// (its update adds scale·b·(aᵀx) to the same residual stream the vector is added to).

import type { ModelConfig } from '../../models/config';
import { LORA_MODULES, loraKeys, type AdapterShape, type LoraModule } from './lora';

export type AdapterPresetId = 'r1-down-all' | 'r32-all-linear' | 'r1-down-steer';

export interface AdapterPreset {
  label: string;
  rank: number;
  alpha: number;
  modules: LoraModule[];
  /** every block, or only the steering layer */
  layers: 'all' | 'steer';
}

export const ADAPTER_PRESETS: Record<AdapterPresetId, AdapterPreset> = {
  'r1-down-all': { label: 'rank 1, down_proj of every layer', rank: 1, alpha: 256, modules: ['down'], layers: 'all' },
  'r32-all-linear': { label: 'rank 32, all linear modules of every layer', rank: 32, alpha: 64, modules: [...LORA_MODULES], layers: 'all' },
  'r1-down-steer': { label: 'rank 1, down_proj at the steering layer', rank: 1, alpha: 256, modules: ['down'], layers: 'steer' },
};

/** A preset's shape on a model with `cfg.numLayers` blocks, steering layer `steerLayer`. */
export function presetShape(id: AdapterPresetId, cfg: Pick<ModelConfig, 'numLayers'>, steerLayer: number): AdapterShape {
  const p = ADAPTER_PRESETS[id];
  if (!p) throw new Error(`unknown adapter preset "${id}" (known: ${Object.keys(ADAPTER_PRESETS).join(', ')})`);
  const layers = p.layers === 'all' ? Array.from({ length: cfg.numLayers }, (_, i) => i) : [steerLayer];
  return { kind: 'lora', rank: p.rank, alpha: p.alpha, keys: loraKeys(p.modules, layers) };
}
