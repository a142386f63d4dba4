// Values of ONNX initializers and of the constant expressions built from them. A TensorProto keeps its data in
// one of several places (raw_data, the typed *_data fields, or an external file named by `external_data`), and
// exporters often reach a weight through Constant / Identity / Cast / Transpose nodes or fold a small sum into
// it (Gemma's 1 + w), so readers ask a ConstantResolver for "the constant value of this graph name".

import { dtypeFromOnnx, f16ToFloat32, roundToF16, viewBytes, type DType, type TypedArray } from '../dtype';
import { toNum, type OnnxGraph, type OnnxNode, type OnnxTensor } from './proto';

/** Reads an external data file by the `location` an initializer names (relative to the model file). */
export type ExternalDataReader = (location: string) => Promise<Uint8Array> | Uint8Array;

export interface ConstValue {
  dtype: DType;
  shape: number[];
  /** float16 as raw Uint16 bits, bool as Uint8 */
  data: TypedArray;
}

export interface ReadOptions {
  external?: ExternalDataReader;
  /** shared between calls so each external file is read once */
  cache?: Map<string, Uint8Array>;
  /** the model file's name, for messages */
  file?: string;
}

/** The data of one TensorProto, wherever it is stored, checked against its dims. */
export async function readInitializer(t: OnnxTensor, opts: ReadOptions = {}): Promise<ConstValue> {
  const file = opts.file ?? 'model.onnx';
  const name = t.name || '(unnamed tensor)';
  let dtype: DType;
  try {
    dtype = dtypeFromOnnx(t.data_type ?? 0);
  } catch (e) {
    throw new Error(`${file}: initializer ${name}: ${(e as Error).message}`);
  }
  const shape = (t.dims ?? []).map(toNum);
  const n = shape.reduce((a, b) => a * b, 1);
  let data: TypedArray;
  if (t.data_location === 1 || t.external_data?.length) {
    const kv = Object.fromEntries((t.external_data ?? []).map((e) => [e.key, e.value]));
    const loc = kv.location;
    if (!loc) throw new Error(`${file}: initializer ${name} is stored externally but names no location`);
    if (!opts.external) throw new Error(`${file}: initializer ${name} lives in external file ${loc}, which was not provided`);
    const cache = opts.cache ?? new Map<string, Uint8Array>();
    let blob = cache.get(loc);
    if (!blob) {
      blob = await opts.external(loc);
      cache.set(loc, blob);
    }
    const off = Number(kv.offset ?? 0);
    const len = kv.length !== undefined ? Number(kv.length) : n * bytesOf(dtype);
    if (!Number.isInteger(off) || off < 0 || !Number.isInteger(len) || len < 0) {
      throw new Error(`${file}: initializer ${name} has invalid external offset ${kv.offset} / length ${kv.length}`);
    }
    if (off + len > blob.byteLength) {
      throw new Error(`${loc} is truncated: initializer ${name} needs bytes ${off}..${off + len} but the file has ${blob.byteLength}`);
    }
    data = viewBytes(dtype, blob.subarray(off, off + len));
  } else if (t.raw_data && t.raw_data.byteLength) {
    data = viewBytes(dtype, t.raw_data);
  } else if (t.float_data?.length) data = Float32Array.from(t.float_data);
  else if (t.double_data?.length) data = Float64Array.from(t.double_data);
  else if (t.int64_data?.length) data = BigInt64Array.from(t.int64_data.map((x) => BigInt(toNum(x))));
  else if (t.int32_data?.length) {
    // int32_data also carries uint8 / int8 / bool values and float16 bit patterns (ONNX spec)
    const src = t.int32_data;
    if (dtype === 'float16') data = Uint16Array.from(src);
    else if (dtype === 'uint8' || dtype === 'bool') data = Uint8Array.from(src);
    else if (dtype === 'int8') data = Int8Array.from(src);
    else data = Int32Array.from(src);
  } else data = viewBytes(dtype, new Uint8Array(0));
  if (data.length !== n) throw new Error(`${file}: initializer ${name} has ${data.length} values for shape [${shape}] (${n} expected)`);
  return { dtype, shape, data };
}

function bytesOf(d: DType): number {
  return d === 'float64' || d === 'int64' ? 8 : d === 'float32' || d === 'int32' ? 4 : d === 'float16' ? 2 : 1;
}

/** A float value as Float32Array (float16 bits decoded, float64 / integers converted); float32 is not copied. */
export function toFloat32(c: ConstValue): Float32Array {
  if (c.data instanceof Float32Array) return c.data;
  if (c.dtype === 'float16') return f16ToFloat32(c.data as Uint16Array);
  return Float32Array.from(c.data as ArrayLike<number | bigint>, Number);
}

/** Transpose of a 2-D matrix [r, k] → [k, r]. */
export function transpose2d(src: Float32Array, r: number, k: number): Float32Array {
  const t = new Float32Array(r * k);
  for (let i = 0; i < r; i++) for (let j = 0; j < k; j++) t[j * r + i] = src[i * k + j]!;
  return t;
}

function attrOf(n: OnnxNode, name: string) {
  return n.attribute?.find((a) => a.name === name);
}

/**
 * Folds the constant sub-expressions of a graph on demand: `resolve(name)` is the value of a graph name when it is
 * an initializer, a Constant node, or Identity / Cast / Reshape / Transpose (2-D) / elementwise Add, Sub, Mul, Div of such
 * values; null when the name depends on a graph input. Results are cached.
 */
export class ConstantResolver {
  readonly inits = new Map<string, OnnxTensor>();
  readonly producer = new Map<string, OnnxNode>();
  private readonly memo = new Map<string, Promise<ConstValue | null>>();
  private readonly opts: ReadOptions;

  constructor(graph: OnnxGraph, opts: ReadOptions = {}) {
    this.opts = { ...opts, cache: opts.cache ?? new Map() };
    for (const t of graph.initializer ?? []) if (t.name) this.inits.set(t.name, t);
    for (const n of graph.node ?? []) for (const o of n.output ?? []) if (o) this.producer.set(o, n);
  }

  resolve(name: string): Promise<ConstValue | null> {
    let p = this.memo.get(name);
    if (!p) {
      p = this.compute(name);
      this.memo.set(name, p);
    }
    return p;
  }

  private async compute(name: string): Promise<ConstValue | null> {
    if (!name) return null;
    const init = this.inits.get(name);
    if (init) return readInitializer(init, this.opts);
    const n = this.producer.get(name);
    if (!n) return null;
    const inputs = n.input ?? [];
    switch (n.op_type) {
      case 'Constant': {
        const t = attrOf(n, 'value')?.t;
        if (t) return readInitializer({ ...t, name: t.name || name }, this.opts);
        const f = attrOf(n, 'value_float');
        if (f) return { dtype: 'float32', shape: [], data: new Float32Array([f.f ?? 0]) };
        const fs = attrOf(n, 'value_floats');
        if (fs) return { dtype: 'float32', shape: [fs.floats?.length ?? 0], data: Float32Array.from(fs.floats ?? []) };
        return null;
      }
      case 'Identity':
        return this.resolve(inputs[0]!);
      case 'Cast': {
        const c = await this.resolve(inputs[0]!);
        if (!c) return null;
        // weights are read as float32 whatever float type the export casts to
        const to = toNum(attrOf(n, 'to')?.i);
        return to === 1 || to === 10 || to === 11 || to === 16 ? { dtype: 'float32', shape: c.shape, data: toFloat32(c) } : c;
      }
      case 'Transpose': {
        const c = await this.resolve(inputs[0]!);
        if (!c || c.shape.length !== 2) return null;
        const perm = attrOf(n, 'perm')?.ints?.map(toNum);
        if (perm && perm[0] === 0) return c; // identity permutation
        const [r, k] = c.shape as [number, number];
        return { dtype: 'float32', shape: [k, r], data: transpose2d(toFloat32(c), r, k) };
      }
      case 'Reshape': {
        // onnxruntime-genai feeds its shared 4-bit LM head [N, blocks, block/2] to GatherBlockQuantized as [N, K/2]
        const [c, s] = await Promise.all([this.resolve(inputs[0]!), this.resolve(inputs[1]!)]);
        if (!c || !s) return null;
        const want = Array.from(s.data as ArrayLike<number | bigint>, (x, i) => (Number(x) === 0 ? c.shape[i]! : Number(x)));
        const known = want.reduce((a, b) => (b === -1 ? a : a * b), 1);
        const shape = want.map((x) => (x === -1 ? c.data.length / known : x));
        if (shape.reduce((a, b) => a * b, 1) !== c.data.length) return null;
        return { ...c, shape };
      }
      case 'Add':
      case 'Sub':
      case 'Mul':
      case 'Div': {
        const [a, b] = await Promise.all([this.resolve(inputs[0]!), this.resolve(inputs[1]!)]);
        if (!a || !b) return null;
        return elementwise(n.op_type, a, b);
      }
      default:
        return null;
    }
  }
}

/** Elementwise op of two constants where one is a scalar or both have the same size (all that weights need). */
function elementwise(op: string, a: ConstValue, b: ConstValue): ConstValue | null {
  const na = a.data.length;
  const nb = b.data.length;
  if (na !== nb && na !== 1 && nb !== 1) return null;
  const x = toFloat32(a);
  const y = toFloat32(b);
  const shape = na >= nb ? a.shape : b.shape;
  const n = Math.max(na, nb);
  const r = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = x[na === 1 ? 0 : i]!;
    const v = y[nb === 1 ? 0 : i]!;
    r[i] = op === 'Add' ? u + v : op === 'Sub' ? u - v : op === 'Mul' ? u * v : u / v;
  }
  // a float16 graph computes the sum in float16: round as onnxruntime would
  return { dtype: 'float32', shape, data: a.dtype === 'float16' && b.dtype === 'float16' ? roundToF16(r) : r };
}
