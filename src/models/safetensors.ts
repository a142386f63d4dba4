// safetensors: an 8-byte little-endian header length, a JSON header {name: {dtype, shape, data_offsets}},
// then the raw little-endian tensor bytes. Every offset is checked against the file so a truncated download
// says which tensor is cut.

import { bf16ToFloat32, f16ToFloat32, type TypedArray } from '../engine/dtype';

export interface RawTensor {
  dtype: string;
  shape: number[];
  /** F32/F16/BF16 widened to Float32Array; integer tensors as their typed array */
  data: TypedArray;
}

const SIZES: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

export interface SafetensorsHeader {
  tensors: Map<string, { dtype: string; shape: number[]; start: number; end: number }>;
  metadata: Record<string, string>;
  dataStart: number;
}

export function parseSafetensorsHeader(bytes: Uint8Array, file = 'model.safetensors'): SafetensorsHeader {
  if (bytes.byteLength < 8) throw new Error(`${file} is truncated: ${bytes.byteLength} bytes, not even a header length`);
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (n <= 0 || 8 + n > bytes.byteLength) throw new Error(`${file} is truncated or not safetensors: header of ${n} bytes but the file has ${bytes.byteLength}`);
  let hdr: Record<string, unknown>;
  try {
    hdr = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    throw new Error(`${file}: header is not valid JSON (${(e as Error).message})`);
  }
  const dataStart = 8 + n;
  const tensors: SafetensorsHeader['tensors'] = new Map();
  let metadata: Record<string, string> = {};
  for (const [name, v] of Object.entries(hdr)) {
    if (name === '__metadata__') {
      metadata = (v ?? {}) as Record<string, string>;
      continue;
    }
    const t = v as { dtype?: string; shape?: number[]; data_offsets?: [number, number] };
    if (!t.dtype || !(t.dtype in SIZES)) throw new Error(`${file}: tensor ${name} has unsupported dtype ${t.dtype}`);
    if (!Array.isArray(t.shape) || !Array.isArray(t.data_offsets)) throw new Error(`${file}: tensor ${name} lacks shape or data_offsets`);
    const [a, b] = t.data_offsets;
    const need = t.shape.reduce((p, q) => p * q, 1) * SIZES[t.dtype]!;
    if (b - a !== need) throw new Error(`${file}: tensor ${name} [${t.shape}] ${t.dtype} needs ${need} bytes but its offsets span ${b - a}`);
    if (dataStart + b > bytes.byteLength) {
      throw new Error(`${file} is truncated: tensor ${name} needs bytes ${dataStart + a}..${dataStart + b} but the file has ${bytes.byteLength}`);
    }
    tensors.set(name, { dtype: t.dtype, shape: t.shape, start: dataStart + a, end: dataStart + b });
  }
  return { tensors, metadata, dataStart };
}

function decode(dtype: string, raw: Uint8Array): TypedArray {
  const buf = raw.byteOffset % 8 === 0 ? raw : raw.slice();
  const view = <T>(C: new (b: ArrayBufferLike, o: number, n: number) => T, size: number) => new C(buf.buffer, buf.byteOffset, buf.byteLength / size);
  switch (dtype) {
    case 'F32':
      return view(Float32Array, 4);
    case 'F64':
      return Float32Array.from(view(Float64Array, 8));
    case 'BF16':
      return bf16ToFloat32(view(Uint16Array, 2));
    case 'F16':
      return f16ToFloat32(view(Uint16Array, 2));
    case 'I64':
      return view(BigInt64Array, 8);
    case 'I32':
      return view(Int32Array, 4);
    case 'I16':
      return Int32Array.from(view(Int16Array, 2));
    case 'I8':
      return view(Int8Array, 1);
    default:
      return view(Uint8Array, 1);
  }
}

/** Every tensor of a safetensors file: floats widened to float32, integers kept. */
export function readSafetensorsRaw(bytes: Uint8Array, file = 'model.safetensors'): Map<string, RawTensor> {
  const h = parseSafetensorsHeader(bytes, file);
  const out = new Map<string, RawTensor>();
  for (const [name, t] of h.tensors) out.set(name, { dtype: t.dtype, shape: t.shape, data: decode(t.dtype, bytes.subarray(t.start, t.end)) });
  return out;
}

/** The float tensors of a checkpoint, widened to float32 (integer tensors are rejected by name). */
export function readSafetensors(bytes: Uint8Array, file = 'model.safetensors'): Map<string, { dtype: string; shape: number[]; data: Float32Array }> {
  const out = new Map<string, { dtype: string; shape: number[]; data: Float32Array }>();
  for (const [name, t] of readSafetensorsRaw(bytes, file)) {
    if (!(t.data instanceof Float32Array)) throw new Error(`${file}: tensor ${name} is ${t.dtype}, not a float weight`);
    out.set(name, t as { dtype: string; shape: number[]; data: Float32Array });
  }
  return out;
}

/** Writes float32 tensors (and string metadata) as a safetensors file. */
export function writeSafetensors(tensors: Record<string, { shape: number[]; data: Float32Array }>, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let off = 0;
  for (const [name, t] of Object.entries(tensors)) {
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [off, off + t.data.byteLength] };
    off += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  while ((8 + json.length) % 8) json += ' ';
  const hb = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + hb.length + off);
  new DataView(out.buffer).setBigUint64(0, BigInt(hb.length), true);
  out.set(hb, 8);
  let p = 8 + hb.length;
  for (const t of Object.values(tensors)) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), p);
    p += t.data.byteLength;
  }
  return out;
}
