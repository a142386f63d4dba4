// THE hook points of steerlab, in one place.
//
// `blocks.L.hook_resid_post` (TransformerLens' name; the default): the vector is added to the residual stream
// after decoder block L (0-based) — the block's OUTPUT, Hugging Face's hidden_states[L+1] — at every token
// position of every batch row (prompt, response and padding alike). The name says "after block L", so it cannot
// be confused with hidden_states[L] or block L + 1.
//
// The paper hooks the output of layer L's mlp.down_proj (a PyTorch forward hook on that module). For Qwen2/2.5,
// Qwen3 and Llama that is the same thing: the MLP output is added straight to the residual stream, so
// x + (mlp + v) = (x + mlp) + v. For Gemma 2 and 3 it is NOT: their MLP output passes through
// post_feedforward_layernorm before the residual add, so a vector at down_proj's output is normalised together
// with the MLP output. There the second point, `model.layers.L.mlp.down_proj` (HF's module path: the forward
// output of that module), is offered too (hookPointsFor).
//
// The released trainer steered only batch row 0 by an indexing slip; evaluation steered every row, and so do we.
//
// Everything upstream of the hook does not depend on the vector, which is why activations there can be cached
// and only the blocks from the hook on recomputed per step: blocks 0..L for resid_post, blocks 0..L−1 for
// down_proj (block L itself contains the hook). See cachedBlocks and decoder.ts `from` / `cutAfter`.

import type { Builder } from '../engine/builder';
import type { Value } from '../engine/ir';
import type { ModelConfig } from './config';

export type HookPoint = 'resid_post' | 'down_proj';

export interface Steering {
  /** 0-based decoder block the hook belongs to */
  layer: number;
  /** the effective vector α·v, shape [d_model] */
  vector: Value;
  /** where in block `layer` the vector is added; default 'resid_post' */
  point?: HookPoint;
}

/** The hook's name: `blocks.L.hook_resid_post` or `model.layers.L.mlp.down_proj`. */
export function hookName(layer: number, point: HookPoint = 'resid_post'): string {
  return point === 'resid_post' ? `blocks.${layer}.hook_resid_post` : `model.layers.${layer}.mlp.down_proj`;
}

/** Parses a name hookName writes (the metadata of saved vectors and reports). */
export function parseHookName(name: string): { layer: number; point: HookPoint } | null {
  const m = /^blocks\.(\d+)\.hook_resid_post$/.exec(name) ?? /^model\.layers\.(\d+)\.mlp\.down_proj$/.exec(name);
  if (!m) return null;
  return { layer: Number(m[1]), point: name.startsWith('blocks.') ? 'resid_post' : 'down_proj' };
}

/** The hook points that differ for this architecture: down_proj only where a norm sits between it and the residual. */
export function hookPointsFor(cfg: Pick<ModelConfig, 'sandwichNorms'>): HookPoint[] {
  return cfg.sandwichNorms ? ['resid_post', 'down_proj'] : ['resid_post'];
}

/**
 * The last block whose output does not depend on a vector at (layer, point): the cut a cached prefix ends at
 * (−1 = the embeddings).
 */
export function cachedBlocks(layer: number, point: HookPoint = 'resid_post'): number {
  return point === 'resid_post' ? layer : layer - 1;
}

/** Apply steering to the output of block `layer` if the hook is this block's resid_post. Broadcasts over [B, T, d]. */
export function hookBlockOutput(b: Builder, layer: number, blockOutput: Value, steer: Steering | undefined): Value {
  if (!steer || steer.layer !== layer || (steer.point ?? 'resid_post') !== 'resid_post') return blockOutput;
  return b.add(blockOutput, steer.vector);
}

/** Apply steering to block `layer`'s mlp.down_proj output if the hook is there. */
export function hookDownProj(b: Builder, layer: number, downOutput: Value, steer: Steering | undefined): Value {
  if (!steer || steer.layer !== layer || steer.point !== 'down_proj') return downOutput;
  return b.add(downOutput, steer.vector);
}
