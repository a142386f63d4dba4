// Rotary position embeddings: inverse frequencies (with Llama-3 / linear scaling) and the in-graph cos/sin.
// cos/sin are computed from the positions inside each graph instead of baked tables, so graphs stay small.

import { roundToDtype } from '../engine/dtype';
import type { Builder } from '../engine/builder';
import type { Value } from '../engine/ir';
import type { RopeConfig } from './config';

export function inverseFrequencies(rope: RopeConfig, headDim: number, bufferDtype: 'float32' | 'bfloat16' | 'float16' = 'float32'): Float32Array {
  const half = headDim / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / rope.theta ** ((2 * i) / headDim);
  if (rope.type === 'linear') {
    for (let i = 0; i < half; i++) inv[i]! /= rope.factor ?? 1;
  } else if (rope.type === 'llama3') {
    const factor = rope.factor ?? 8;
    const low = rope.lowFreqFactor ?? 1;
    const high = rope.highFreqFactor ?? 4;
    const old = rope.originalMaxPositions ?? 8192;
    const lowWavelen = old / low;
    const highWavelen = old / high;
    for (let i = 0; i < half; i++) {
      const f = inv[i]!;
      const wavelen = (2 * Math.PI) / f;
      if (wavelen > lowWavelen) inv[i] = f / factor;
      else if (wavelen >= highWavelen) {
        const smooth = (old / wavelen - low) / (high - low);
        inv[i] = (1 - smooth) * (f / factor) + smooth * f;
      }
    }
  }
  // HF keeps inv_freq as a buffer in the checkpoint's dtype (see ModelConfig.bufferDtype)
  return roundToDtype(Float32Array.from(inv), bufferDtype);
}

/**
 * cos and sin [..positions, headDim] for float positions `pos` (any shape), HF layout: the half-dim angles
 * repeated twice (emb = cat(freqs, freqs)).
 */
export function ropeCosSin(b: Builder, pos: Value, rope: RopeConfig, headDim: number, bufferDtype: 'float32' | 'bfloat16' | 'float16' = 'float32'): { cos: Value; sin: Value } {
  const inv = b.tensor(b.float, [headDim / 2], inverseFrequencies(rope, headDim, bufferDtype), 'rope_inv_freq');
  const angles = b.mul(b.unsqueeze(pos, [pos.rank]), inv);
  const emb = b.concat([angles, angles], pos.rank);
  return { cos: b.cos(emb), sin: b.sin(emb) };
}

/** x·cos + rotate_half(x)·sin over the last axis (rotate_half(x) = cat(-x2, x1)). */
export function applyRope(b: Builder, x: Value, cos: Value, sin: Value, headDim: number): Value {
  const h = headDim / 2;
  const x1 = b.slice(x, [0], [h], [-1]);
  const x2 = b.slice(x, [h], [headDim], [-1]);
  const rot = b.concat([b.neg(x2), x1], x.rank - 1);
  return b.add(b.mul(x, cos), b.mul(rot, sin));
}
