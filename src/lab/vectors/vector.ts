// The steering vector as the lab stores, shares and exports it.
// Convention (../shared/SCIENCE.md): the trained parameter is the raw vector v; what is added at the hook
// (src/models/hooks.ts: blocks.<layer>.hook_resid_post, the output of decoder block `layer`, 0-based, = HF
// hidden_states[layer + 1]; or model.layers.<layer>.mlp.down_proj's output) is alpha·v.
// Every norm shown to the user is the effective norm ‖alpha·v‖.

import type { HookPoint } from '../../models/hooks';
import { vectorNorm } from './norm';

export interface SteeringVector {
  name: string;
  /** hub id of the model it was trained on, e.g. "onnx-community/Qwen2.5-0.5B-Instruct" */
  modelId: string;
  /** 0-based decoder block whose OUTPUT receives the vector (or whose mlp.down_proj does, see `hook`) */
  layer: number;
  /** where in block `layer` (absent: 'resid_post', the block's output) */
  hook?: HookPoint;
  /** scale applied to `data` (the paper's α = 256) */
  alpha: number;
  /** the raw parameter v; the effective vector is alpha·v */
  data: Float32Array;
  /** ISO 8601 time of creation */
  createdAt: string;
  /** free JSON describing how it was made (dataset, lr, λ, steps, import source…) */
  provenance: unknown;
}

/** alpha·v as a new array. */
export function effectiveVector(v: SteeringVector): Float32Array {
  const out = new Float32Array(v.data.length);
  for (let i = 0; i < out.length; i++) out[i] = v.alpha * v.data[i]!;
  return out;
}

/** ‖alpha·v‖₂, accumulated in float64. */
export function effectiveNorm(v: SteeringVector): number {
  return vectorNorm(v.data, v.alpha);
}

/** Throws an Error naming the first bad field; used by every importer before handing a vector to the lab. */
export function validateVector(v: SteeringVector, where = 'steering vector'): void {
  if (typeof v.name !== 'string') throw new Error(`${where}: name must be a string`);
  if (typeof v.modelId !== 'string' || v.modelId.length === 0) throw new Error(`${where}: modelId is missing`);
  if (!Number.isInteger(v.layer) || v.layer < 0) throw new Error(`${where}: layer must be a non-negative integer, got ${v.layer}`);
  if (v.hook !== undefined && v.hook !== 'resid_post' && v.hook !== 'down_proj') throw new Error(`${where}: hook must be resid_post or down_proj, got ${JSON.stringify(v.hook)}`);
  if (!Number.isFinite(v.alpha)) throw new Error(`${where}: alpha must be a finite number, got ${v.alpha}`);
  if (!(v.data instanceof Float32Array)) throw new Error(`${where}: data must be a Float32Array`);
  if (v.data.length === 0) throw new Error(`${where}: data is empty`);
  const bad = v.data.findIndex((x) => !Number.isFinite(x));
  if (bad >= 0) throw new Error(`${where}: data[${bad}] is ${v.data[bad]} (vectors must be finite)`);
  if (typeof v.createdAt !== 'string' || Number.isNaN(Date.parse(v.createdAt)))
    throw new Error(`${where}: createdAt must be an ISO date string, got ${JSON.stringify(v.createdAt)}`);
}
