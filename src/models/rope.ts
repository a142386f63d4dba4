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
 * cos and sin tables [positions, headDim/2], computed on the CPU in float64 from the float32 angle HF uses
 * (fround(inv_freq · position)). They are not computed in-graph: GPU sin/cos are approximations whose error grows
 * with the argument (WGSL only bounds it on [-π, π]), which put 1e-4 errors into logits at a few dozen positions.
 */
export function ropeTables(rope: RopeConfig, headDim: number, positions: number, bufferDtype: 'float32' | 'bfloat16' | 'float16' = 'float32'): { cos: Float32Array; sin: Float32Array } {
  const inv = inverseFrequencies(rope, headDim, bufferDtype);
  const half = headDim / 2;
  const cos = new Float32Array(positions * half);
  const sin = new Float32Array(positions * half);
  for (let p = 0; p < positions; p++) {
    for (let i = 0; i < half; i++) {
      const a = Math.fround(inv[i]! * p);
      cos[p * half + i] = Math.cos(a);
      sin[p * half + i] = Math.sin(a);
    }
  }
  return { cos, sin };
}

/** cos/sin [..pos, headDim] for int64 positions, gathered from half tables [P, headDim/2] (HF: cat(freqs, freqs)). */
export function ropeCosSin(b: Builder, pos: Value, cosTable: Value, sinTable: Value): { cos: Value; sin: Value } {
  const c = b.gather(cosTable, pos, 0);
  const s = b.gather(sinTable, pos, 0);
  return { cos: b.concat([c, c], pos.rank), sin: b.concat([s, s], pos.rank) };
}

/** x·cos + rotate_half(x)·sin over the last axis (rotate_half(x) = cat(-x2, x1)). */
export function applyRope(b: Builder, x: Value, cos: Value, sin: Value, headDim: number): Value {
  const h = headDim / 2;
  const x1 = b.slice(x, [0], [h], [-1]);
  const x2 = b.slice(x, [h], [headDim], [-1]);
  const rot = b.concat([b.neg(x2), x1], x.rank - 1);
  return b.add(b.mul(x, cos), b.mul(rot, sin));
}
