// Steering vectors as safetensors: one 1-D tensor named "layers.<L>" (0-based block whose output is steered)
// holding the RAW parameter v in F32, and string metadata: format, model, layer, hook (its full name, e.g.
// "blocks.12.hook_resid_post", so L vs L + 1 cannot be confused), alpha, name, created_at, provenance (JSON). The effective vector is alpha·v, as in the paper's code (which saves v and uses α = 256).
// The file format itself is read and written by src/models/safetensors.ts.

import { parseSafetensorsHeader, readSafetensorsRaw, writeSafetensors } from '../../models/safetensors';
import { hookName, parseHookName } from '../../models/hooks';
import type { SteeringVector } from './vector';
import { validateVector } from './vector';

export const VECTOR_FORMAT = 'steerlab.steering_vector.v1';

export function vectorToSafetensors(vec: SteeringVector): Uint8Array {
  validateVector(vec);
  return writeSafetensors(new Map([[`layers.${vec.layer}`, { shape: [vec.data.length], data: vec.data }]]), {
    format: VECTOR_FORMAT,
    model: vec.modelId,
    layer: String(vec.layer),
    hook: hookName(vec.layer, vec.hook),
    alpha: String(vec.alpha),
    name: vec.name,
    created_at: vec.createdAt,
    provenance: JSON.stringify(vec.provenance ?? null),
  });
}

/**
 * Reads a vector written by vectorToSafetensors, or any safetensors file holding exactly one 1-D tensor
 * (then `defaults` must supply what the metadata lacks: modelId, layer, alpha).
 */
export function vectorFromSafetensors(
  bytes: Uint8Array,
  file = 'vector.safetensors',
  defaults: Partial<Pick<SteeringVector, 'modelId' | 'layer' | 'alpha' | 'name'>> = {},
): SteeringVector {
  const f = parseSafetensorsHeader(bytes, file);
  const names = [...f.tensors.keys()];
  if (names.length !== 1) throw new Error(`${file}: expected exactly one tensor (the vector), found ${names.length}: ${names.join(', ')}`);
  const tname = names[0]!;
  const t = f.tensors.get(tname)!;
  if (t.shape.length !== 1) throw new Error(`${file}: tensor ${tname} has shape [${t.shape}], expected a 1-D vector`);
  const m = f.metadata;
  const modelId = m.model ?? defaults.modelId;
  if (!modelId) throw new Error(`${file}: metadata field "model" is missing`);
  const layerS = m.layer ?? (defaults.layer !== undefined ? String(defaults.layer) : /^layers\.(\d+)$/.exec(tname)?.[1]);
  if (layerS === undefined) throw new Error(`${file}: metadata field "layer" is missing`);
  if (!/^\d+$/.test(layerS)) throw new Error(`${file}: metadata field "layer" must be a non-negative integer, got ${JSON.stringify(layerS)}`);
  let hook: SteeringVector['hook'];
  if (m.hook !== undefined) {
    const h = parseHookName(m.hook);
    if (!h) throw new Error(`${file}: metadata field "hook" must be blocks.<L>.hook_resid_post or model.layers.<L>.mlp.down_proj, got ${JSON.stringify(m.hook)}`);
    if (h.layer !== Number(layerS)) throw new Error(`${file}: metadata "hook" ${m.hook} names layer ${h.layer} but "layer" is ${layerS}`);
    if (h.point !== 'resid_post') hook = h.point;
  }
  const alphaS = m.alpha ?? (defaults.alpha !== undefined ? String(defaults.alpha) : undefined);
  if (alphaS === undefined) throw new Error(`${file}: metadata field "alpha" is missing`);
  const alpha = Number(alphaS);
  if (!Number.isFinite(alpha)) throw new Error(`${file}: metadata field "alpha" must be a number, got ${JSON.stringify(alphaS)}`);
  let provenance: unknown = { source: 'safetensors', file };
  if (m.provenance !== undefined) {
    try {
      provenance = JSON.parse(m.provenance);
    } catch {
      throw new Error(`${file}: metadata field "provenance" is not valid JSON`);
    }
  }
  const vec: SteeringVector = {
    name: m.name ?? defaults.name ?? tname,
    modelId,
    layer: Number(layerS),
    ...(hook ? { hook } : {}),
    alpha,
    data: Float32Array.from(readSafetensorsRaw(bytes, file).get(tname)!.data as Float32Array),
    createdAt: m.created_at ?? new Date().toISOString(),
    provenance,
  };
  validateVector(vec, file);
  return vec;
}
