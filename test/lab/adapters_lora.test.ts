// The adapter layout and its helpers: presets have the paper's shapes and sizes on Qwen2.5-0.5B's dimensions,
// ‖ΔW‖_F equals the norm of the explicit weight update, and module names parse in both spellings.
import { describe, expect, it } from 'vitest';
import type { ModelConfig } from '../../src/models/config';
import { deltaWNorm, describeAdapter, factors, loraKeys, loraLayout, parseModule, type AdapterShape } from '../../src/lab/adapters/lora';
import { presetShape } from '../../src/lab/adapters/presets';
import { Rng } from '../../src/lab/rng';

// Qwen2.5-0.5B-Instruct's shapes
const qwen05 = { numLayers: 24, hiddenSize: 896, numHeads: 14, numKvHeads: 2, headDim: 64, intermediateSize: 4864 } as ModelConfig;

describe('LoRA layout', () => {
  it('presets: rank 1 down_proj everywhere, rank 32 all linear, rank 1 at the steering layer', () => {
    const r1 = presetShape('r1-down-all', qwen05, 12);
    expect(r1.keys).toHaveLength(24);
    expect(loraLayout(qwen05, r1).size).toBe(24 * (4864 + 896));
    const r32 = presetShape('r32-all-linear', qwen05, 12);
    expect(r32.keys).toHaveLength(24 * 7);
    // q 896→896, k,v 896→128, o 896→896, gate,up 896→4864, down 4864→896
    const perLayer = 32 * ((896 + 896) * 2 + (896 + 128) * 2 + (896 + 4864) * 3);
    expect(loraLayout(qwen05, r32).size).toBe(24 * perLayer);
    expect(presetShape('r1-down-steer', qwen05, 12).keys).toEqual(['layers.12.down']);
    expect(describeAdapter(r1)).toBe('rank 1 · down · layers 0–23');
  });

  it('‖ΔW‖_F is the Frobenius norm of scale·B·A summed over modules', () => {
    const tiny = { numLayers: 2, hiddenSize: 8, numHeads: 2, numKvHeads: 1, headDim: 4, intermediateSize: 12 } as ModelConfig;
    const shape: AdapterShape = { kind: 'lora', rank: 3, alpha: 6, keys: loraKeys(['k', 'down'], [0, 1]) };
    const { entries, size } = loraLayout(tiny, shape);
    const rng = new Rng(4);
    const theta = Float32Array.from({ length: size }, () => rng.gaussian());
    let sq = 0;
    for (const e of entries) {
      const { A, B } = factors(theta, e, 3);
      for (let n = 0; n < e.N; n++) {
        for (let k = 0; k < e.K; k++) {
          let w = 0;
          for (let j = 0; j < 3; j++) w += B[n * 3 + j]! * A[j * e.K + k]!;
          sq += (2 * w) ** 2;
        }
      }
    }
    expect(deltaWNorm(tiny, shape, theta)).toBeCloseTo(Math.sqrt(sq), 4);
  });

  it('parses module names and refuses unknown ones', () => {
    expect(parseModule('down_proj')).toBe('down');
    expect(parseModule('self_attn.q_proj')).toBe('q');
    expect(() => parseModule('lm_head')).toThrow('unknown LoRA module "lm_head"');
    expect(() => loraLayout(qwen05, { kind: 'lora', rank: 1, alpha: 1, keys: ['layers.30.down'] })).toThrow('adapter layer 30 is outside 0..23');
    expect(() => loraLayout(qwen05, { kind: 'lora', rank: 1, alpha: 1, keys: ['layers.2.down', 'layers.1.down'] })).toThrow('canonical order');
  });
});
