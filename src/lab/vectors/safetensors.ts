// Steering vectors as safetensors: one 1-D tensor named "layers.<L>" (0-based block whose output is steered)
// holding the RAW parameter v in F32, and string metadata: format, model, layer, alpha, name, created_at,
// provenance (JSON). The effective vector is alpha·v, as in the paper's code (which saves v and uses α = 256).
// src/models/safetensors.ts did not exist when this was written, so this holds a minimal reader/writer:
// header = u64 little-endian length + JSON {name: {dtype, shape, data_offsets:[begin,end]}, __metadata__: {..}},
// then the tensor bytes. Reading accepts F32, F16 and BF16 (what vectors and fixtures use).

import { bf16ToFloat32, f16ToFloat32 } from '../../engine/dtype';
import type { SteeringVector } from './vector';
import { validateVector } from './vector';

export const VECTOR_FORMAT = 'steerlab.steering_vector.v1';

export interface SafetensorsEntry {
  dtype: string;
  shape: number[];
  /** offsets relative to the start of the data section */
  begin: number;
  end: number;
}
export interface SafetensorsFile {
  tensors: Map<string, SafetensorsEntry>;
  metadata: Record<string, string>;
  /** the data section (after the header) */
  data: Uint8Array;
}

export function parseSafetensors(input: Uint8Array, file = 'safetensors file'): SafetensorsFile {
  // a plain Uint8Array view: Node's Buffer.slice does not copy, and readTensorF32 relies on slice copying
  const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  if (bytes.length < 8) throw new Error(`${file}: only ${bytes.length} bytes, too short for a safetensors header`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(dv.getBigUint64(0, true));
  if (n > bytes.length - 8) throw new Error(`${file}: header length ${n} runs past the end of the file (${bytes.length} bytes); truncated or not safetensors`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    throw new Error(`${file}: header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new Error(`${file}: header is not a JSON object`);
  const data = bytes.subarray(8 + n);
  const tensors = new Map<string, SafetensorsEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = raw as Record<string, string>;
      continue;
    }
    const t = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof t.dtype !== 'string') throw new Error(`${file}: tensor ${name}: dtype missing`);
    if (!Array.isArray(t.shape) || !t.shape.every((s) => Number.isInteger(s) && s >= 0)) throw new Error(`${file}: tensor ${name}: shape must be a list of non-negative integers`);
    const off = t.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((o) => Number.isInteger(o))) throw new Error(`${file}: tensor ${name}: data_offsets must be [begin, end]`);
    const [begin, end] = off as [number, number];
    if (begin < 0 || end < begin || end > data.length) throw new Error(`${file}: tensor ${name}: data_offsets [${begin}, ${end}] outside the ${data.length}-byte data section`);
    tensors.set(name, { dtype: t.dtype, shape: t.shape as number[], begin, end });
  }
  return { tensors, metadata, data };
}

/** One tensor as float32 (F32, F16 and BF16 supported). */
export function readTensorF32(f: SafetensorsFile, name: string, file = 'safetensors file'): Float32Array {
  const t = f.tensors.get(name);
  if (!t) throw new Error(`${file}: no tensor named ${JSON.stringify(name)} (has: ${[...f.tensors.keys()].join(', ')})`);
  const count = t.shape.reduce((a, b) => a * b, 1);
  const size = { F32: 4, F16: 2, BF16: 2 }[t.dtype];
  if (!size) throw new Error(`${file}: tensor ${name} has dtype ${t.dtype}; only F32, F16 and BF16 are read here`);
  if (t.end - t.begin !== count * size) throw new Error(`${file}: tensor ${name}: ${t.end - t.begin} bytes for shape [${t.shape}] of ${t.dtype} (expected ${count * size})`);
  const raw = f.data.slice(t.begin, t.end); // copy: aligned and detached from the file buffer
  if (t.dtype === 'F32') return new Float32Array(raw.buffer, 0, count);
  const u16 = new Uint16Array(raw.buffer, 0, count);
  return t.dtype === 'F16' ? f16ToFloat32(u16) : bf16ToFloat32(u16);
}

/** F32-only writer. Tensors are laid out in insertion order; the header is space-padded to 8 bytes. */
export function writeSafetensorsF32(tensors: Map<string, { shape: number[]; data: Float32Array }>, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let off = 0;
  for (const [name, t] of tensors) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) throw new Error(`safetensors writer: tensor ${name} has ${t.data.length} values for shape [${t.shape}]`);
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [off, off + 4 * count] };
    off += 4 * count;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  const h = new Uint8Array(padded).fill(0x20);
  h.set(json);
  json = h;
  const out = new Uint8Array(8 + json.length + off);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let p = 8 + json.length;
  for (const t of tensors.values()) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), p);
    p += t.data.byteLength;
  }
  return out;
}

export function vectorToSafetensors(vec: SteeringVector): Uint8Array {
  validateVector(vec);
  return writeSafetensorsF32(new Map([[`layers.${vec.layer}`, { shape: [vec.data.length], data: vec.data }]]), {
    format: VECTOR_FORMAT,
    model: vec.modelId,
    layer: String(vec.layer),
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
  const f = parseSafetensors(bytes, file);
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
    alpha,
    data: readTensorF32(f, tname, file),
    createdAt: m.created_at ?? new Date().toISOString(),
    provenance,
  };
  validateVector(vec, file);
  return vec;
}
