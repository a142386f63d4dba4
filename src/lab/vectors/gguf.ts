// llama.cpp / repeng control vectors in GGUF (v3, little-endian).
//
// Layout written: magic "GGUF", version 3, tensor count (u64), metadata count (u64); metadata
//   general.architecture = "controlvector", controlvector.model_hint = <model_type, e.g. "qwen2">,
//   controlvector.layer_count = <number of direction tensors> (repeng's convention), plus optional extras;
// then one F32 1-D tensor "direction.N" per steered layer, data aligned to 32 bytes (GGUF's default alignment).
//
// Layer mapping: llama.cpp (common_control_vector_load_one + llama_adapter_cvec) puts direction.N into
// tensors[N] and adds it right after block N's final residual add (build_cvec(cur, il) with 0-based il), i.e.
// to the OUTPUT of decoder block N, 0-based, at every position. That is exactly steerlab's "layer L" (output of
// decoder block L = HF hidden_states[L+1]), so our layer L ↔ direction.L with no offset. llama.cpp rejects
// direction.0 ("invalid (zero) direction tensor layer index"), so a vector at layer 0 cannot be exported, and
// files with direction.0 are refused here too. The stored values are the EFFECTIVE vector α·v, because llama.cpp
// adds the tensor as is (times its --control-vector-scaled strength); steerlab.alpha lets us recover v.

import type { SteeringVector } from './vector';
import { validateVector } from './vector';
import { noun } from '../../engine/plural';

const MAGIC = 0x46554747; // "GGUF" read as little-endian u32
const GGUF_VERSION = 3;
const DEFAULT_ALIGNMENT = 32;
const GGML_TYPE_F32 = 0;

// gguf_type codes
const T = { U8: 0, I8: 1, U16: 2, I16: 3, U32: 4, I32: 5, F32: 6, BOOL: 7, STRING: 8, ARRAY: 9, U64: 10, I64: 11, F64: 12 } as const;

export type GgufValue = string | number | bigint | boolean | GgufValue[];

export interface ControlVectorGguf {
  /** controlvector.model_hint: the model_type the vector was made for (llama.cpp does not check it) */
  modelHint: string;
  /** key = 0-based decoder block whose output receives the direction (= llama.cpp's N in direction.N) */
  directions: Map<number, Float32Array>;
  /** extra metadata keys written after the standard ones (strings, or numbers written as float64) */
  extra?: Record<string, string | number>;
}

export interface ParsedGguf {
  version: number;
  metadata: Record<string, GgufValue>;
  modelHint: string;
  layerCount: number | undefined;
  directions: Map<number, Float32Array>;
}

class Writer {
  private chunks: Uint8Array[] = [];
  length = 0;
  private push(b: Uint8Array) {
    this.chunks.push(b);
    this.length += b.length;
  }
  private num(bytes: number, set: (dv: DataView) => void) {
    const b = new Uint8Array(bytes);
    set(new DataView(b.buffer));
    this.push(b);
  }
  u32(v: number) { this.num(4, (d) => d.setUint32(0, v, true)); }
  u64(v: number) { this.num(8, (d) => d.setBigUint64(0, BigInt(v), true)); }
  f64(v: number) { this.num(8, (d) => d.setFloat64(0, v, true)); }
  str(s: string) {
    const b = new TextEncoder().encode(s);
    this.u64(b.length);
    this.push(b);
  }
  bytes(b: Uint8Array) { this.push(b); }
  pad(align: number) {
    const n = (align - (this.length % align)) % align;
    if (n) this.push(new Uint8Array(n));
  }
  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let p = 0;
    for (const c of this.chunks) {
      out.set(c, p);
      p += c.length;
    }
    return out;
  }
}

export function writeGguf(cv: ControlVectorGguf): Uint8Array {
  const layers = [...cv.directions.keys()].sort((a, b) => a - b);
  if (layers.length === 0) throw new Error('GGUF control vector: no directions to write');
  let d = -1;
  for (const L of layers) {
    if (!Number.isInteger(L) || L < 0) throw new Error(`GGUF control vector: layer ${L} is not a non-negative integer`);
    if (L === 0) throw new Error('GGUF control vector: layer 0 cannot be exported (llama.cpp rejects direction.0; the output of block 0 is never steered there)');
    const v = cv.directions.get(L)!;
    if (d === -1) d = v.length;
    else if (v.length !== d) throw new Error(`GGUF control vector: direction for layer ${L} has ${v.length} values, others have ${d}`);
    const bad = v.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) throw new Error(`GGUF control vector: layer ${L} element ${bad} is ${v[bad]}`);
  }
  const extra = Object.entries(cv.extra ?? {});
  const w = new Writer();
  w.u32(MAGIC);
  w.u32(GGUF_VERSION);
  w.u64(layers.length);
  w.u64(3 + extra.length);
  w.str('general.architecture');
  w.u32(T.STRING);
  w.str('controlvector');
  w.str('controlvector.model_hint');
  w.u32(T.STRING);
  w.str(cv.modelHint);
  w.str('controlvector.layer_count');
  w.u32(T.U32);
  w.u32(layers.length);
  for (const [k, v] of extra) {
    w.str(k);
    if (typeof v === 'string') {
      w.u32(T.STRING);
      w.str(v);
    } else {
      w.u32(T.F64);
      w.f64(v);
    }
  }
  const bytesPer = d * 4;
  const stride = Math.ceil(bytesPer / DEFAULT_ALIGNMENT) * DEFAULT_ALIGNMENT;
  layers.forEach((L, i) => {
    w.str(`direction.${L}`);
    w.u32(1); // n_dims
    w.u64(d);
    w.u32(GGML_TYPE_F32);
    w.u64(i * stride); // offset from the start of the data section, aligned
  });
  w.pad(DEFAULT_ALIGNMENT);
  for (const L of layers) {
    const v = Float32Array.from(cv.directions.get(L)!); // copy: own buffer, little-endian on every JS host we target
    w.bytes(new Uint8Array(v.buffer));
    w.pad(DEFAULT_ALIGNMENT);
  }
  return w.finish();
}

/** a key or tensor name as messages show it: as is when printable, else JSON-quoted so control bytes are visible */
function shown(s: string): string {
  return /^[\x20-\x7e]+$/.test(s) ? s : JSON.stringify(s);
}

class Reader {
  pos = 0;
  private dv: DataView;
  constructor(private b: Uint8Array, private file: string) {
    this.dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }
  need(n: number, what: string) {
    if (this.pos + n > this.b.length) throw new Error(`${this.file}: truncated while reading ${what} at byte ${this.pos} (file has ${this.b.length} ${noun(this.b.length, 'byte')})`);
  }
  u8(w: string) { this.need(1, w); return this.dv.getUint8(this.pos++); }
  u32(w: string) { this.need(4, w); const v = this.dv.getUint32(this.pos, true); this.pos += 4; return v; }
  u64(w: string) { this.need(8, w); const v = this.dv.getBigUint64(this.pos, true); this.pos += 8; return v; }
  /** u64 that must fit a JS number (sizes, counts, offsets) */
  size(w: string) {
    const v = this.u64(w);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`${this.file}: ${w} = ${v} is implausibly large`);
    return Number(v);
  }
  str(w: string) {
    const n = this.size(`${w} length`);
    this.need(n, w);
    const s = new TextDecoder().decode(this.b.subarray(this.pos, this.pos + n));
    this.pos += n;
    return s;
  }
  value(type: number, w: string, depth = 0): GgufValue {
    const dv = this.dv;
    const fixed = (n: number, get: (o: number) => GgufValue) => {
      this.need(n, w);
      const v = get(this.pos);
      this.pos += n;
      return v;
    };
    switch (type) {
      case T.U8: return fixed(1, (o) => dv.getUint8(o));
      case T.I8: return fixed(1, (o) => dv.getInt8(o));
      case T.U16: return fixed(2, (o) => dv.getUint16(o, true));
      case T.I16: return fixed(2, (o) => dv.getInt16(o, true));
      case T.U32: return fixed(4, (o) => dv.getUint32(o, true));
      case T.I32: return fixed(4, (o) => dv.getInt32(o, true));
      case T.F32: return fixed(4, (o) => dv.getFloat32(o, true));
      case T.BOOL: return fixed(1, (o) => dv.getUint8(o) !== 0);
      case T.STRING: return this.str(w);
      case T.U64: return fixed(8, (o) => dv.getBigUint64(o, true));
      case T.I64: return fixed(8, (o) => dv.getBigInt64(o, true));
      case T.F64: return fixed(8, (o) => dv.getFloat64(o, true));
      case T.ARRAY: {
        if (depth > 4) throw new Error(`${this.file}: ${w}: arrays nested too deeply`);
        const et = this.u32(`${w} element type`);
        const n = this.size(`${w} array length`);
        const out: GgufValue[] = [];
        for (let i = 0; i < n; i++) out.push(this.value(et, `${w}[${i}]`, depth + 1));
        return out;
      }
      default:
        throw new Error(`${this.file}: ${w} has unknown GGUF value type ${type} (type read before byte ${this.pos})`);
    }
  }
}

export function readGguf(input: Uint8Array, file = 'control vector .gguf'): ParsedGguf {
  // a plain Uint8Array view: Node's Buffer.slice does not copy, and the tensor reads below rely on slice copying
  const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  const r = new Reader(bytes, file);
  if (bytes.length < 4 || r.u32('magic') !== MAGIC) {
    const head = [...bytes.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new Error(`${file}: not a GGUF file (first bytes ${head || 'none'}, expected 47 47 55 46 "GGUF")`);
  }
  const version = r.u32('version');
  if (version > 0xffff) throw new Error(`${file}: version field ${version} looks byte-swapped; big-endian GGUF is not supported`);
  if (version !== 2 && version !== 3) throw new Error(`${file}: GGUF version ${version} is not supported (2 and 3 are)`);
  const nTensors = r.size('tensor count');
  const nKv = r.size('metadata count');
  const metadata: Record<string, GgufValue> = {};
  for (let i = 0; i < nKv; i++) {
    const key = r.str(`metadata key #${i}`);
    const k = shown(key);
    metadata[key] = r.value(r.u32(`type of ${k}`), k);
  }
  const arch = metadata['general.architecture'];
  if (arch !== 'controlvector')
    throw new Error(`${file}: general.architecture is ${JSON.stringify(arch)}, expected "controlvector" (is this a model file rather than a control vector?)`);
  const alignV = metadata['general.alignment'];
  const alignment = alignV === undefined ? DEFAULT_ALIGNMENT : Number(alignV);
  if (!Number.isInteger(alignment) || alignment <= 0 || alignment % 8 !== 0) throw new Error(`${file}: general.alignment ${alignV} must be a positive multiple of 8`);

  const infos: { name: string; layer: number; n: number; offset: number }[] = [];
  for (let i = 0; i < nTensors; i++) {
    const name = r.str(`tensor #${i} name`);
    const nDims = r.u32(`${shown(name)} n_dims`);
    const dims: number[] = [];
    for (let k = 0; k < nDims; k++) dims.push(r.size(`${shown(name)} dim ${k}`));
    const type = r.u32(`${shown(name)} type`);
    const offset = r.size(`${shown(name)} offset`);
    const m = /^direction\.(\d+)$/.exec(name);
    if (!m) throw new Error(`${file}: tensor ${JSON.stringify(name)} is not named direction.N`);
    const layer = Number(m[1]);
    if (layer === 0) throw new Error(`${file}: tensor direction.0: layer index 0 is invalid in llama.cpp control vectors (direction.N steers the output of block N, N >= 1)`);
    if (type !== GGML_TYPE_F32) throw new Error(`${file}: tensor ${name} has ggml type ${type}; control vectors must be F32 (type 0)`);
    if (nDims !== 1) throw new Error(`${file}: tensor ${name} has ${nDims} dimensions [${dims}]; control vectors are 1-D`);
    if (offset % alignment !== 0) throw new Error(`${file}: tensor ${name} offset ${offset} is not aligned to ${alignment}`);
    infos.push({ name, layer, n: dims[0]!, offset });
  }
  const dataStart = Math.ceil(r.pos / alignment) * alignment;
  const directions = new Map<number, Float32Array>();
  for (const t of infos) {
    if (infos[0]!.n !== t.n) throw new Error(`${file}: tensor ${t.name} has ${t.n} values but ${infos[0]!.name} has ${infos[0]!.n}`);
    if (directions.has(t.layer)) throw new Error(`${file}: layer ${t.layer} appears twice`);
    const begin = dataStart + t.offset;
    const end = begin + 4 * t.n;
    if (end > bytes.length) throw new Error(`${file}: tensor ${t.name} data [${begin}, ${end}) runs past the end of the file (${bytes.length} bytes); truncated?`);
    const v = new Float32Array(bytes.slice(begin, end).buffer);
    const bad = v.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) throw new Error(`${file}: tensor ${t.name} element ${bad} is ${v[bad]}`);
    directions.set(t.layer, v);
  }
  const hint = metadata['controlvector.model_hint'];
  const lc = metadata['controlvector.layer_count'];
  return {
    version,
    metadata,
    modelHint: typeof hint === 'string' ? hint : '',
    layerCount: lc === undefined ? undefined : Number(lc),
    directions,
  };
}

/** One vector as a llama.cpp control vector (direction.<layer> = α·v). `modelHint` is the model_type, e.g. "qwen2". */
export function vectorToGguf(vec: SteeringVector, modelHint: string): Uint8Array {
  validateVector(vec);
  if (vec.hook === 'down_proj') {
    throw new Error(`GGUF control vector: ${vec.name} is added at model.layers.${vec.layer}.mlp.down_proj; llama.cpp adds control vectors to the block output (blocks.${vec.layer}.hook_resid_post), which differs for this model`);
  }
  const eff = new Float32Array(vec.data.length);
  for (let i = 0; i < eff.length; i++) eff[i] = vec.alpha * vec.data[i]!;
  return writeGguf({
    modelHint,
    directions: new Map([[vec.layer, eff]]),
    extra: { 'steerlab.model_id': vec.modelId, 'steerlab.name': vec.name, 'steerlab.alpha': vec.alpha, 'steerlab.created_at': vec.createdAt },
  });
}

/**
 * The vectors of a control-vector file, one per direction. With steerlab.alpha in the file, data = direction/α
 * (our own exports round-trip); otherwise α = 1 and data = the direction as llama.cpp would add it.
 */
export function vectorsFromGguf(bytes: Uint8Array, file = 'control vector .gguf', opts: { modelId?: string } = {}): SteeringVector[] {
  const g = readGguf(bytes, file);
  const md = g.metadata;
  const alpha = typeof md['steerlab.alpha'] === 'number' && md['steerlab.alpha'] !== 0 ? (md['steerlab.alpha'] as number) : 1;
  const modelId = (typeof md['steerlab.model_id'] === 'string' && md['steerlab.model_id']) || opts.modelId || g.modelHint;
  if (!modelId) throw new Error(`${file}: no model id (controlvector.model_hint is empty and none was given)`);
  const baseName = typeof md['steerlab.name'] === 'string' ? md['steerlab.name'] : file.replace(/^.*\//, '').replace(/\.gguf$/, '');
  const createdAt = typeof md['steerlab.created_at'] === 'string' ? md['steerlab.created_at'] : new Date().toISOString();
  const out: SteeringVector[] = [];
  for (const [layer, dir] of [...g.directions].sort((a, b) => a[0] - b[0])) {
    const data = new Float32Array(dir.length);
    for (let i = 0; i < dir.length; i++) data[i] = dir[i]! / alpha;
    const v: SteeringVector = {
      name: g.directions.size > 1 ? `${baseName} (layer ${layer})` : baseName,
      modelId,
      layer,
      alpha,
      data,
      createdAt,
      provenance: { source: 'gguf', file, modelHint: g.modelHint },
    };
    validateVector(v, file);
    out.push(v);
  }
  return out;
}
