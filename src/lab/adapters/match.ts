// Which adapters belong to the loaded model, as vectors/match.ts decides for vectors: an adapter fits when it
// was made for this repository and every layer it adapts exists in this model. (θ's size against the model's
// layer shapes needs the config; the worker checks that too, with loraLayout.)

import type { ModelShape } from '../vectors/match';
import { splitKey } from './lora';

export interface AdapterLike {
  modelId: string;
  keys: string[];
}

/** null when the adapter fits the model, else the reason in one plain sentence. */
export function adapterMismatch(a: AdapterLike, m: ModelShape): string | null {
  if (a.modelId !== m.repo) return `it was made for ${a.modelId}, and the loaded model is ${m.repo}`;
  for (const k of a.keys) {
    const { layer } = splitKey(k);
    if (layer >= m.layers) return `it adapts layer ${layer}, which does not exist in this ${m.layers}-layer model`;
  }
  return null;
}

export function adapterFits(a: AdapterLike, m: ModelShape | undefined | null): boolean {
  if (!m) return false;
  try {
    return adapterMismatch(a, m) === null;
  } catch {
    return false; // a malformed key
  }
}

/** Throws the mismatch (for jobs that get an adapter from the page). */
export function assertAdapterFits(a: AdapterLike, m: ModelShape, name = 'this adapter'): void {
  const why = adapterMismatch(a, m);
  if (why) throw new Error(`${name} does not fit the loaded model: ${why}`);
}
