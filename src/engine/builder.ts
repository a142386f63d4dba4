// The builder: the API graphs are written in. Each method emits one op of the table (ops/table.ts; ops/*.ts declare their
// types and VJPs); composite helpers (geluTanh, softcap, ...) are plain compositions and differentiate for free, except
// where a closed-form VJP saves kernels (rmsNorm and silu, through withVjp).

import { type DType, type FloatDType, typedArrayFor } from './dtype';
import { Graph, type AttrValue, type Dim, type Shape, type TensorData, type Value } from './ir';
import { CUSTOM_VJP_RULES, type CustomVjpRule } from './ops/custom_vjp';
import { opDef, type OpName } from './ops/table';

export type IntsLike = number[] | Value;

export class Builder {
  private scalars = new Map<string, Value>();
  private memo = new Map<string, Value>();

  constructor(
    readonly g: Graph,
    /** dtype of float constants this builder makes (float64 for gradient checks) */
    readonly float: FloatDType = 'float32',
  ) {}

  apply(type: OpName, inputs: (Value | null)[], attrs: Record<string, AttrValue> = {}): Value[] {
    const def = opDef(type);
    const outs = def.infer(this, inputs, attrs);
    return this.g.addNode(type, def.domain ?? '', inputs, outs, attrs).outputs;
  }

  one(type: OpName, inputs: (Value | null)[], attrs: Record<string, AttrValue> = {}): Value {
    return this.apply(type, inputs, attrs)[0]!;
  }

  // ---- constants ----

  tensor(dtype: DType, shape: number[], values: ArrayLike<number> | ArrayLike<bigint>, name?: string): Value {
    const data = typedArrayFor(dtype, values.length);
    if (data instanceof BigInt64Array) {
      for (let i = 0; i < values.length; i++) data[i] = toInt64(values[i] as number | bigint);
    } else {
      (data as Float32Array).set(values as ArrayLike<number>);
    }
    return this.g.constant({ dtype, shape, data } as TensorData, name);
  }

  /** One value per key for this builder (a derived constant several VJPs share), made on first use. */
  cached(key: string, make: () => Value): Value {
    let v = this.memo.get(key);
    if (!v) {
      v = make();
      this.memo.set(key, v);
    }
    return v;
  }

  /** int64 [0, 1, …, n-1], one constant per n shared across uses (row indices for whole-table gathers). */
  iota(n: number): Value {
    return this.cached(`iota:${n}`, () => this.tensor('int64', [n], Array.from({ length: n }, (_, i) => i)));
  }

  /** A scalar constant of `dtype` (default: the builder's float type), shared across uses. */
  scalar(x: number, dtype: DType = this.float): Value {
    const key = `${dtype}:${Object.is(x, -0) ? '-0' : x}`;
    let v = this.scalars.get(key);
    if (!v) {
      v = this.tensor(dtype, [], [x], `c_${dtype}_${x}`);
      this.scalars.set(key, v);
    }
    return v;
  }

  /** int64 1-D constant (axes, shapes, starts, ...). */
  ints(values: number[]): Value {
    return this.tensor('int64', [values.length], values);
  }

  private intsInput(x: IntsLike): Value {
    return Array.isArray(x) ? this.ints(x) : x;
  }

  // ---- elementwise ----

  add(a: Value, b: Value): Value {
    return this.one('Add', [a, b]);
  }
  sub(a: Value, b: Value): Value {
    return this.one('Sub', [a, b]);
  }
  mul(a: Value, b: Value): Value {
    return this.one('Mul', [a, b]);
  }
  div(a: Value, b: Value): Value {
    return this.one('Div', [a, b]);
  }
  /** a raised to a constant power */
  pow(a: Value, p: number): Value {
    return this.one('Pow', [a, this.scalar(p, a.dtype)]);
  }
  neg(a: Value): Value {
    return this.one('Neg', [a]);
  }
  exp(a: Value): Value {
    return this.one('Exp', [a]);
  }
  log(a: Value): Value {
    return this.one('Log', [a]);
  }
  sqrt(a: Value): Value {
    return this.one('Sqrt', [a]);
  }
  reciprocal(a: Value): Value {
    return this.one('Reciprocal', [a]);
  }
  tanh(a: Value): Value {
    return this.one('Tanh', [a]);
  }
  sigmoid(a: Value): Value {
    return this.one('Sigmoid', [a]);
  }
  cos(a: Value): Value {
    return this.one('Cos', [a]);
  }
  sin(a: Value): Value {
    return this.one('Sin', [a]);
  }
  identity(a: Value): Value {
    return this.one('Identity', [a]);
  }
  /** cond ? a : b */
  where(cond: Value, a: Value, b: Value): Value {
    return this.one('Where', [cond, a, b]);
  }
  cast(a: Value, to: DType): Value {
    if (a.dtype === to) return a;
    return this.one('Cast', [a], { to: castCode(to) });
  }
  equal(a: Value, b: Value): Value {
    return this.one('Equal', [a, b]);
  }
  less(a: Value, b: Value): Value {
    return this.one('Less', [a, b]);
  }
  lessOrEqual(a: Value, b: Value): Value {
    return this.one('LessOrEqual', [a, b]);
  }
  greater(a: Value, b: Value): Value {
    return this.one('Greater', [a, b]);
  }
  and(a: Value, b: Value): Value {
    return this.one('And', [a, b]);
  }
  not(a: Value): Value {
    return this.one('Not', [a]);
  }
  floor(a: Value): Value {
    return this.one('Floor', [a]);
  }

  addScalar(a: Value, c: number): Value {
    return this.add(a, this.scalar(c, a.dtype));
  }
  mulScalar(a: Value, c: number): Value {
    return c === 1 ? a : this.mul(a, this.scalar(c, a.dtype));
  }

  // ---- linear algebra ----

  matmul(a: Value, b: Value): Value {
    return this.one('MatMul', [a, b]);
  }
  /** a [M,K] · wᵀ for w [N,K] (no transposed copy of w) */
  matmulTransB(a: Value, w: Value): Value {
    return this.one('Gemm', [a, w], { transB: 1 });
  }
  /**
   * A transpose of a transpose is one transpose of the original (and none when they cancel): attention and its VJP
   * stack them, and each is a kernel. The inner one stays for its other users, or is dropped as dead.
   */
  transpose(a: Value, perm: number[]): Value {
    const inner = a.producer;
    if (inner?.op === 'Transpose') {
      const p1 = inner.attrs.perm as number[];
      return this.transpose(inner.inputs[0]!, perm.map((i) => p1[i]!));
    }
    if (perm.every((p, i) => p === i)) return a;
    return this.one('Transpose', [a], { perm });
  }
  /** swap the last two axes */
  transposeLast2(a: Value): Value {
    const r = a.rank;
    const perm = [...Array(r).keys()];
    perm[r - 2] = r - 1;
    perm[r - 1] = r - 2;
    return this.transpose(a, perm);
  }

  // ---- reductions & normalisation ----

  reduceSum(a: Value, axes: number[], keepdims = true): Value {
    return this.one('ReduceSum', [a, this.ints(axes)], { keepdims: keepdims ? 1 : 0 });
  }
  reduceMean(a: Value, axes: number[], keepdims = true): Value {
    return this.one('ReduceMean', [a, this.ints(axes)], { keepdims: keepdims ? 1 : 0 });
  }
  reduceMax(a: Value, axes: number[], keepdims = true): Value {
    return this.one('ReduceMax', [a, this.ints(axes)], { keepdims: keepdims ? 1 : 0 });
  }
  /** log Σ exp over `axes` (one fused kernel; its VJP is softmax · g) */
  reduceLogSumExp(a: Value, axes: number[], keepdims = true): Value {
    return this.one('ReduceLogSumExp', [a, this.ints(axes)], { keepdims: keepdims ? 1 : 0 });
  }
  /** x in the forward, a constant to the autodiff */
  stopGradient(a: Value): Value {
    return this.one('StopGradient', [a]);
  }
  /** the k largest entries along the last axis, sorted, and their int64 indices */
  topK(a: Value, k: number): [Value, Value] {
    const [values, indices] = this.apply('TopK', [a, this.ints([k])], { axis: -1, largest: 1, sorted: 1 });
    return [values!, indices!];
  }
  /** int64 index of the first maximum along `axis` (the axis dropped) */
  argMax(a: Value, axis: number): Value {
    return this.one('ArgMax', [a], { axis, keepdims: 0, select_last_index: 0 });
  }
  softmax(a: Value, axis = -1): Value {
    return this.one('Softmax', [a], { axis });
  }
  logSoftmax(a: Value, axis = -1): Value {
    return this.one('LogSoftmax', [a], { axis });
  }

  // ---- shape manipulation ----

  shapeOf(a: Value): Value {
    return this.one('Shape', [a]);
  }
  /**
   * Reshape to `shape`: numbers (0 copies the input dim at that index, -1 is inferred) or a runtime int64 Value.
   * `dims` optionally names the static output dims when `shape` is a Value.
   */
  reshape(a: Value, shape: IntsLike, dims?: Shape): Value {
    return this.one('Reshape', [a, this.intsInput(shape)], dims ? { __dims: dims as unknown as string[] } : {});
  }
  unsqueeze(a: Value, axes: number[]): Value {
    return this.one('Unsqueeze', [a, this.ints(axes)]);
  }
  squeeze(a: Value, axes: number[]): Value {
    return this.one('Squeeze', [a, this.ints(axes)]);
  }
  /** parts of `sizes` along `axis` (one kernel for all of them, where slices take one each) */
  split(a: Value, axis: number, sizes: number[]): Value[] {
    return this.apply('Split', [a, this.ints(sizes)], { axis });
  }
  concat(xs: Value[], axis: number): Value {
    return this.one('Concat', xs, { axis });
  }
  /** Static slice: starts/ends/axes as numbers; ends may be large (to the end) or negative. */
  slice(a: Value, starts: number[], ends: number[], axes: number[], steps?: number[]): Value {
    const ins = [a, this.ints(starts), this.ints(ends), this.ints(axes)];
    if (steps) ins.push(this.ints(steps));
    return this.one('Slice', ins);
  }
  /** Slice with runtime starts/ends (int64 1-D values), for KV caches and positions. */
  sliceDyn(a: Value, starts: Value, ends: Value, axes: number[], outDims?: Shape): Value {
    return this.one('Slice', [a, starts, ends, this.ints(axes)], outDims ? { __dims: outDims as unknown as string[] } : {});
  }
  gather(data: Value, indices: Value, axis = 0): Value {
    return this.one('Gather', [data, indices], { axis });
  }
  gatherElements(data: Value, indices: Value, axis: number): Value {
    return this.one('GatherElements', [data, indices], { axis });
  }
  scatterElements(data: Value, indices: Value, updates: Value, axis: number, reduction: 'none' | 'add' = 'none'): Value {
    return this.one('ScatterElements', [data, indices, updates], { axis, reduction });
  }
  expand(a: Value, shape: IntsLike, dims?: Shape): Value {
    return this.one('Expand', [a, this.intsInput(shape)], dims ? { __dims: dims as unknown as string[] } : {});
  }
  /** zeros with the (runtime) shape and dtype of `like` */
  zerosLike(like: Value): Value {
    return this.one('ConstantOfShape', [this.shapeOf(like)], {
      value: { dtype: like.dtype, shape: [1], data: typedArrayFor(like.dtype, 1) },
      __dims: like.shape as unknown as string[],
    });
  }
  /**
   * zeros like `like` that onnxruntime cannot fold into a constant (0 · Σ dep): the base of a scatter-add. With
   * static shapes (graph-captured sessions) a ConstantOfShape is folded, and onnxruntime 1.30's WebGPU
   * ScatterElements(add) into such a constant accumulates across runs and gives wrong sums under capture.
   * (A NaN or ∞ in `dep` makes the zeros NaN: a gradient that holds one is lost either way.)
   */
  zerosLikeAtRunTime(like: Value, dep: Value): Value {
    return this.mul(this.zerosLike(like), this.reduceSum(dep, [...Array(dep.rank).keys()], false));
  }
  range(start: Value, limit: Value, delta: Value, dims?: Shape): Value {
    return this.one('Range', [start, limit, delta], dims ? { __dims: dims as unknown as string[] } : {});
  }
  /** running sums along `axis`; `exclusive`: each entry leaves itself out (the first is 0) */
  cumsum(a: Value, axis: number, exclusive = false): Value {
    return this.one('CumSum', [a, this.tensor('int64', [], [axis])], exclusive ? { exclusive: 1 } : {});
  }
  pad(a: Value, pads: IntsLike): Value {
    return this.one('Pad', [a, this.intsInput(pads)]);
  }

  // ---- 4-bit weights (com.microsoft) ----

  /** y = a · Wᵀ with W [N,K] in MatMulNBits 4-bit blocks. */
  matmulNBits(a: Value, packed: Value, scales: Value, zeroPoints: Value | null, K: number, N: number, blockSize: number): Value {
    const ins: (Value | null)[] = [a, packed, scales];
    if (zeroPoints) ins.push(zeroPoints);
    return this.one('MatMulNBits', ins, { K, N, bits: 4, block_size: blockSize });
  }
  /** Rotate-half RoPE over x [B, S, heads·hd] (com.microsoft RotaryEmbedding); pos int64 [1] (first position) or [B, S]. */
  rotaryEmbedding(x: Value, pos: Value, cos: Value, sin: Value, numHeads: number): Value {
    return this.one('RotaryEmbedding', [x, pos, cos, sin], { interleaved: 0, num_heads: numHeads, rotary_embedding_dim: 0, scale: 1 });
  }
  gatherBlockQuantized(packed: Value, indices: Value, scales: Value, zeroPoints: Value | null, blockSize: number): Value {
    const ins: (Value | null)[] = [packed, indices, scales];
    if (zeroPoints) ins.push(zeroPoints);
    return this.one('GatherBlockQuantized', ins, { block_size: blockSize, gather_axis: 0, quantize_axis: 1, bits: 4 });
  }

  // ---- composites (differentiated through their parts, or by a closed-form rule through withVjp) ----

  /**
   * `out` in the forward; to the autodiff, a value whose inputs are `wrt` with the gradients `rule(g)` (one per
   * `wrt`, null for none), the parts between them and `out` not walked (ops/custom_vjp.ts).
   */
  withVjp(out: Value, wrt: Value[], rule: CustomVjpRule): Value {
    const y = this.one('CustomVjp', [out, ...wrt]);
    CUSTOM_VJP_RULES.set(y.producer!, rule);
    return y;
  }

  /**
   * x · r · scale with r = rsqrt(mean(x², last axis) + eps), in the builder's float type. Its VJP in closed form,
   * with x̂ = x · r and gs = g · scale: ∂x = r · (gs − x̂ · mean(gs · x̂)), ∂scale = Σ g · x̂ — 6 kernels where the
   * parts' VJPs take ~15.
   */
  rmsNorm(x: Value, scale: Value | null, eps: number): Value {
    const ms = this.reduceMean(this.mul(x, x), [-1], true);
    const r = this.reciprocal(this.sqrt(this.addScalar(ms, eps)));
    const xhat = this.mul(x, r);
    const y = scale ? this.mul(xhat, scale) : xhat;
    return this.withVjp(y, scale ? [x, scale] : [x], (g) => {
      const gs = scale ? this.mul(g, scale) : g;
      const m = this.reduceMean(this.mul(gs, xhat), [-1], true);
      const gx = this.mul(this.sub(gs, this.mul(xhat, m)), r);
      return scale ? [gx, this.sumToShape(this.mul(g, xhat), scale)] : [gx];
    });
  }
  /** x · σ(x); VJP in closed form, g · (σ + s · (1 − σ)) with s the output: 4 kernels where the parts take 6. */
  silu(x: Value): Value {
    const sig = this.sigmoid(x);
    const s = this.mul(x, sig);
    return this.withVjp(s, [x], (g) => [this.mul(g, this.add(sig, this.mul(s, this.sub(this.scalar(1, x.dtype), sig))))]);
  }
  /** GELU, tanh approximation (gelu_pytorch_tanh). */
  geluTanh(x: Value): Value {
    const c = Math.sqrt(2 / Math.PI);
    const x3 = this.mul(this.mul(x, x), x);
    const inner = this.mulScalar(this.add(x, this.mulScalar(x3, 0.044715)), c);
    return this.mul(this.mulScalar(x, 0.5), this.addScalar(this.tanh(inner), 1));
  }
  /** c · tanh(x / c) */
  softcap(x: Value, c: number): Value {
    return this.mulScalar(this.tanh(this.mulScalar(x, 1 / c)), c);
  }

  /**
   * Sum a gradient of a broadcast result back to the shape of the operand that was broadcast.
   * Uses the static rule that symbolic dims are never 1.
   */
  sumToShape(g: Value, like: Value): Value {
    const lead = g.rank - like.rank;
    let out = g;
    const expanded: number[] = [];
    for (let i = 0; i < like.rank; i++) if (like.shape[i] === 1 && g.shape[lead + i] !== 1) expanded.push(lead + i);
    if (expanded.length) out = this.reduceSum(out, expanded, true);
    if (lead > 0) out = this.reduceSum(out, [...Array(lead).keys()], false);
    return out;
  }
}

const I64_MAX = 2n ** 63n - 1n;
const I64_MIN = -(2n ** 63n);

/**
 * Saturate to int64: INT64_MAX written as a JS number is 2^63, which BigInt64Array would silently wrap to
 * INT64_MIN (a slice "to the end" would become empty). ±Infinity saturate too; other non-integers throw.
 */
function toInt64(v: number | bigint): bigint {
  if (typeof v === 'number') {
    if (v >= 2 ** 63) return I64_MAX;
    if (v < -(2 ** 63)) return I64_MIN;
    return BigInt(v);
  }
  return v > I64_MAX ? I64_MAX : v < I64_MIN ? I64_MIN : v;
}

function castCode(to: DType): number {
  const codes: Record<DType, number> = { float32: 1, uint8: 2, int8: 3, int32: 6, int64: 7, bool: 9, float16: 10, float64: 11 };
  return codes[to];
}

export type { Dim };
