// An adapter as the lab stores, shares and exports it: the shape and θ (lora.ts) plus where it came from, the
// adapter counterpart of vectors/vector.ts's SteeringVector.

import { loraLayout, validateShape, type Adapter } from './lora';
import type { ModelConfig } from '../../models/config';

export interface AdapterRecord {
  name: string;
  /** hub id of the model it was trained on */
  modelId: string;
  adapter: Adapter;
  createdAt: string;
  provenance: unknown;
}

/** Throws naming the first bad field. With `cfg`, also checks θ's size against the model's layer shapes. */
export function validateAdapterRecord(r: AdapterRecord, where = 'adapter', cfg?: ModelConfig): void {
  if (typeof r.name !== 'string') throw new Error(`${where}: name must be a string`);
  if (typeof r.modelId !== 'string' || !r.modelId) throw new Error(`${where}: modelId is missing`);
  try {
    validateShape(r.adapter, cfg);
  } catch (e) {
    throw new Error(`${where}: ${(e as Error).message}`);
  }
  const d = r.adapter.data;
  if (!(d instanceof Float32Array) || !d.length) throw new Error(`${where}: data must be a non-empty Float32Array`);
  const bad = d.findIndex((x) => !Number.isFinite(x));
  if (bad >= 0) throw new Error(`${where}: θ[${bad}] is ${d[bad]} (adapters must be finite)`);
  if (cfg) {
    const { size } = loraLayout(cfg, r.adapter);
    if (size !== d.length) throw new Error(`${where}: θ has ${d.length} values, the shape needs ${size} on this model`);
  }
  if (typeof r.createdAt !== 'string' || Number.isNaN(Date.parse(r.createdAt))) throw new Error(`${where}: createdAt must be an ISO date string`);
}
