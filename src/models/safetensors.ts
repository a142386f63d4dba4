// safetensors: an 8-byte little-endian header length, a JSON header {name: {dtype, shape, data_offsets}},
// then the raw little-endian tensor bytes. Every offset is checked against the file so a truncated download
// says which tensor is cut.

import { bf16ToFloat32, f16ToFloat32, type TypedArray } from '../engine/dtype';
import { plural } from '../engine/plural';

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
  if (bytes.byteLength < 8) throw new Error(`${file} is truncated: ${plural(bytes.byteLength, 'byte')}, not even the 8-byte header length`);
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (n < 2 || n > 100_000_000) throw new Error(`${file} is not a safetensors file: its header length reads ${n} bytes`);
  if (8 + n > bytes.byteLength) throw new Error(`${file} is truncated: the header needs bytes 8..${8 + n} but the file has ${bytes.byteLength}`);
  let hdr: unknown;
  try {
    hdr = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    throw new Error(`${file}: header is not valid JSON (${(e as Error).message})`);
  }
  if (!hdr || typeof hdr !== 'object' || Array.isArray(hdr)) throw new Error(`${file}: header is not a JSON object`);
  const dataStart = 8 + n;
  const tensors: SafetensorsHeader['tensors'] = new Map();
  let metadata: Record<string, string> = {};
  const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0;
  for (const [name, v] of Object.entries(hdr as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = (v ?? {}) as Record<string, string>;
      continue;
    }
    const t = (v ?? {}) as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof t.dtype !== 'string' || !(t.dtype in SIZES)) {
      throw new Error(`${file}: tensor ${name} has unsupported dtype ${JSON.stringify(t.dtype)} (supported: ${Object.keys(SIZES).join(', ')})`);
    }
    if (!Array.isArray(t.shape) || !t.shape.every(isCount)) throw new Error(`${file}: tensor ${name} has an invalid shape ${JSON.stringify(t.shape)}`);
    const off = t.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !isCount(off[0]) || !isCount(off[1]) || off[1] < off[0]) {
      throw new Error(`${file}: tensor ${name} has invalid data_offsets ${JSON.stringify(off)}`);
    }
    const [a, b] = off as [number, number];
    const shape = t.shape as number[];
    const need = shape.reduce((p, q) => p * q, 1) * SIZES[t.dtype]!;
    if (b - a !== need) throw new Error(`${file}: tensor ${name} [${shape}] ${t.dtype} needs ${need} bytes but its data_offsets span ${b - a}`);
    if (dataStart + b > bytes.byteLength) {
      throw new Error(`${file} is truncated: tensor ${name} needs bytes ${dataStart + a}..${dataStart + b} but the file has ${bytes.byteLength}`);
    }
    tensors.set(name, { dtype: t.dtype, shape, start: dataStart + a, end: dataStart + b });
  }
  return { tensors, metadata, dataStart };
}

function decode(dtype: string, raw: Uint8Array): TypedArray {
  // typed views need aligned offsets: copy otherwise (Uint8Array's slice: a Node Buffer's own slice() is a view)
  const buf = raw.byteOffset % 8 === 0 ? raw : Uint8Array.prototype.slice.call(raw);
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

export interface WritableTensor {
  dtype?: 'F32';
  shape: number[];
  data: Float32Array;
}

/** Writes float32 tensors (and string metadata) as a safetensors file (steering vectors, exports). */
export function writeSafetensors(
  tensors: Record<string, WritableTensor> | Map<string, WritableTensor>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const entries = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let off = 0;
  for (const [name, t] of entries) {
    if (t.dtype !== undefined && t.dtype !== 'F32') throw new Error(`writeSafetensors: tensor ${name} has dtype ${t.dtype}; only F32 is written`);
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) throw new Error(`writeSafetensors: tensor ${name} has shape [${t.shape}] (${n} values) but ${t.data.length} values`);
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [off, off + t.data.byteLength] };
    off += t.data.byteLength;
  }
  // pad the header with spaces so the data starts 8-byte aligned (counted in UTF-8 bytes, not characters)
  const raw = new TextEncoder().encode(JSON.stringify(header));
  const hlen = Math.ceil(raw.length / 8) * 8;
  const out = new Uint8Array(8 + hlen + off);
  new DataView(out.buffer).setBigUint64(0, BigInt(hlen), true);
  out.set(raw, 8);
  out.fill(0x20, 8 + raw.length, 8 + hlen);
  let p = 8 + hlen;
  for (const [, t] of entries) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), p);
    p += t.data.byteLength;
  }
  return out;
}
