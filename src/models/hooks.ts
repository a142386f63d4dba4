// THE hook point of steerlab, in one place.
//
// Steering at layer L adds a vector to the OUTPUT of decoder block L (0-based) — Hugging Face's
// hidden_states[L+1] — at every token position of every batch row (prompt, response and padding alike).
// This is the residual stream the paper hooks at the output of layer L's mlp.down_proj. The released trainer
// steered only batch row 0 by an indexing slip; evaluation steered every row, and so do we.
//
// Everything upstream of the hook (embeddings and blocks 0..L) does not depend on the vector, which is why
// activations there can be cached and only blocks L+1.. recomputed per step (see decoder.ts `fromLayer`).

import type { Builder } from '../engine/builder';
import type { Value } from '../engine/ir';

export interface Steering {
  /** 0-based decoder block whose output is steered */
  layer: number;
  /** the effective vector α·v, shape [d_model] */
  vector: Value;
}

/** HF hidden_states index that carries the steered residual stream. */
export function steeredHiddenIndex(layer: number): number {
  return layer + 1;
}

/** Apply steering to the output of block `layer` if this is the hooked block. Broadcasts over [B, T, d]. */
export function hookBlockOutput(b: Builder, layer: number, blockOutput: Value, steer: Steering | undefined): Value {
  if (!steer || steer.layer !== layer) return blockOutput;
  return b.add(blockOutput, steer.vector);
}
