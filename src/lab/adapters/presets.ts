// The paper's adapter setups. The rank-1 and rank-32 shapes follow the model-organisms-for-EM LoRA configs
// (rank 1 on mlp.down_proj of every layer, lora_alpha 256; rank 32 on every linear module, lora_alpha 64); the
// third puts one rank-1 adapter on down_proj of the steering layer, the closest adapter to a steering vector
// (its update adds scale·b·(aᵀx) to the same residual stream the vector is added to).

import type { ModelConfig } from '../../models/config';
import { LORA_MODULES, loraKeys, type AdapterShape } from './lora';

export type AdapterPresetId = 'r1-down-all' | 'r32-all-linear' | 'r1-down-steer';

export const ADAPTER_PRESETS: Record<AdapterPresetId, { label: string; make: (cfg: ModelConfig, steerLayer: number) => AdapterShape }> = {
  'r1-down-all': {
    label: 'rank 1, down_proj of every layer',
    make: (cfg) => ({ kind: 'lora', rank: 1, alpha: 256, keys: loraKeys(['down'], range(cfg.numLayers)) }),
  },
  'r32-all-linear': {
    label: 'rank 32, all linear modules of every layer',
    make: (cfg) => ({ kind: 'lora', rank: 32, alpha: 64, keys: loraKeys([...LORA_MODULES], range(cfg.numLayers)) }),
  },
  'r1-down-steer': {
    label: 'rank 1, down_proj at the steering layer',
    make: (_cfg, L) => ({ kind: 'lora', rank: 1, alpha: 256, keys: loraKeys(['down'], [L]) }),
  },
};

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
