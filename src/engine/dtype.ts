// Element types the engine knows, with their ONNX TensorProto codes and JS storage.

export type DType = 'float32' | 'float64' | 'float16' | 'int64' | 'int32' | 'uint8' | 'int8' | 'bool';

export type FloatDType = 'float32' | 'float64' | 'float16';

/** ONNX TensorProto.DataType codes. */
export const ONNX_DTYPE: Record<DType, number> = {
  float32: 1,
  uint8: 2,
  int8: 3,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
};

const FROM_ONNX = new Map<number, DType>(Object.entries(ONNX_DTYPE).map(([k, v]) => [v, k as DType]));

export function dtypeFromOnnx(code: number): DType {
  const d = FROM_ONNX.get(code);
  if (!d) throw new Error(`ONNX element type ${code} is not supported by steerlab (supported: ${[...FROM_ONNX.keys()].join(', ')})`);
  return d;
}

export const BYTES_PER_ELEMENT: Record<DType, number> = {
  float32: 4,
  float64: 8,
  float16: 2,
  int64: 8,
  int32: 4,
  uint8: 1,
  int8: 1,
  bool: 1,
};

export type TypedArray =
  | Float32Array
  | Float64Array
  | Uint16Array
  | BigInt64Array
  | Int32Array
  | Uint8Array
  | Int8Array;

/** The typed array that holds a dtype's elements (float16 as raw Uint16 bits, bool as Uint8). */
export function typedArrayFor(dtype: DType, n: number): TypedArray {
  switch (dtype) {
    case 'float32':
      return new Float32Array(n);
    case 'float64':
      return new Float64Array(n);
    case 'float16':
      return new Uint16Array(n);
    case 'int64':
      return new BigInt64Array(n);
    case 'int32':
      return new Int32Array(n);
    case 'uint8':
    case 'bool':
      return new Uint8Array(n);
    case 'int8':
      return new Int8Array(n);
  }
}

/** View raw little-endian bytes as a typed array of `dtype` (copies when unaligned). */
export function viewBytes(dtype: DType, bytes: Uint8Array): TypedArray {
  const bpe = BYTES_PER_ELEMENT[dtype];
  if (bytes.byteLength % bpe !== 0) throw new Error(`${bytes.byteLength} bytes is not a whole number of ${dtype} elements`);
  let buf = bytes;
  // copy unaligned views (Uint8Array.prototype.slice: Node Buffer's own slice() would not copy)
  if (bytes.byteOffset % bpe !== 0) buf = Uint8Array.prototype.slice.call(bytes);
  const n = buf.byteLength / bpe;
  switch (dtype) {
    case 'float32':
      return new Float32Array(buf.buffer, buf.byteOffset, n);
    case 'float64':
      return new Float64Array(buf.buffer, buf.byteOffset, n);
    case 'float16':
      return new Uint16Array(buf.buffer, buf.byteOffset, n);
    case 'int64':
      return new BigInt64Array(buf.buffer, buf.byteOffset, n);
    case 'int32':
      return new Int32Array(buf.buffer, buf.byteOffset, n);
    case 'uint8':
    case 'bool':
      return new Uint8Array(buf.buffer, buf.byteOffset, n);
    case 'int8':
      return new Int8Array(buf.buffer, buf.byteOffset, n);
  }
}

export function isFloat(d: DType): d is FloatDType {
  return d === 'float32' || d === 'float64' || d === 'float16';
}

/** IEEE half (as uint16 bits) to number. */
export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

const f32buf = new Float32Array(1);
const u32buf = new Uint32Array(f32buf.buffer);

/** number to IEEE half bits, round-to-nearest-even. */
export function floatToHalf(x: number): number {
  f32buf[0] = x;
  const b = u32buf[0]!;
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  return sign | h;
}

/** bfloat16 bits to float32 (exact). */
export function bf16ToFloat32(src: Uint16Array): Float32Array {
  const out = new Uint32Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = src[i]! << 16;
  return new Float32Array(out.buffer);
}

export function f16ToFloat32(src: Uint16Array): Float32Array {
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = halfToFloat(src[i]!);
  return out;
}

/** Round float32 values to the nearest bfloat16 (ties to even), returned widened to float32. */
export function roundToBf16(x: Float32Array): Float32Array {
  const out = Float32Array.from(x);
  const u = new Uint32Array(out.buffer);
  for (let i = 0; i < u.length; i++) {
    const v = u[i]!;
    if ((v & 0x7f800000) === 0x7f800000) continue; // inf / nan
    u[i] = (v + 0x7fff + ((v >>> 16) & 1)) & 0xffff0000;
  }
  return out;
}

/** Round values to the nearest float16, returned widened to float32. */
export function roundToF16(x: Float32Array): Float32Array {
  return Float32Array.from(x, (v) => halfToFloat(floatToHalf(v)));
}

/** Round to the given checkpoint dtype (identity for float32). */
export function roundToDtype(x: Float32Array, dtype: 'float32' | 'bfloat16' | 'float16'): Float32Array {
  return dtype === 'bfloat16' ? roundToBf16(x) : dtype === 'float16' ? roundToF16(x) : x;
}
