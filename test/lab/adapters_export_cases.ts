// The adapters written by scripts/lora/write_export_check.ts for PEFT to load on the GPU box, rebuilt here from
// the same seeds so the test can compare PEFT's logits for our files with our own.
import type { ModelConfig } from '../../src/models/config';
import { LORA_MODULES, loraKeys, loraLayout, type Adapter } from '../../src/lab/adapters/lora';
import { Rng } from '../../src/lab/rng';

export const EXPORT_CHECK_IDS = [5, 17, 400, 3, 999, 42, 7, 250];

function filled(cfg: ModelConfig, a: Omit<Adapter, 'data'>, seed: number): Adapter {
  const { size } = loraLayout(cfg, { ...a, kind: 'lora' });
  const rng = new Rng(seed);
  return { ...a, data: Float32Array.from({ length: size }, () => rng.gaussian() * 0.2) };
}

export function exportCheckAdapters(cfg: ModelConfig): Record<string, Adapter> {
  const all = Array.from({ length: cfg.numLayers }, (_, i) => i);
  return {
    // the paper's rank-1 shape
    r1down: filled(cfg, { kind: 'lora', rank: 1, alpha: 256 / 64, keys: loraKeys(['down'], all) }, 1),
    // every module kind on two layers (target_modules + layers_to_transform)
    r2all: filled(cfg, { kind: 'lora', rank: 2, alpha: 3, keys: loraKeys([...LORA_MODULES], [1, 3]) }, 2),
    // not a modules × layers product: target_modules lists full module paths
    mixed: filled(cfg, { kind: 'lora', rank: 2, alpha: 2, keys: ['layers.0.q', 'layers.2.down'] }, 3),
  };
}
