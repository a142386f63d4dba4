// Finite-difference gradient check of every differentiable op in the engine's registry (float64 on ORT wasm),
// plus MatMulNBits' VJP in float32 against 4-bit weights packed here, dequantizeNBits against a JS reading of
// the same bytes, and the builder's composite helpers against JS reference forwards.
// A new op with a VJP and no case below fails the coverage test.

import { describe, it, expect, beforeAll } from 'vitest';
import { allOps } from '../../src/engine/ops/table';
import { dequantizeNBits } from '../../src/engine/ops/quant';
import { Graph, type TensorData } from '../../src/engine/ir';
import { Builder } from '../../src/engine/builder';
import { dequantizeRef, quantize4, randomMatrix, type Packed4 } from './quant4_fixture';
import { asNumbers, compileAndRun, expectGradsMatch, gradCheck, materialise, opKey, testBackend, type GradCase } from './gradcheck_harness';

const Q_N = 3;
const Q_K = 40; // not a multiple of the block: the last block is padded
const Q_BS = 16;
const qSym = quantize4(randomMatrix(Q_N * Q_K, 7), Q_N, Q_K, Q_BS, false);
const qZp = quantize4(randomMatrix(Q_N * Q_K, 8), Q_N, Q_K, Q_BS, true);

function nbitsInputs(p: Packed4) {
  const nb = Math.ceil(p.K / p.blockSize);
  const ins = [
    { name: 'a', shape: [1, 2, p.K], decl: ['B', 'T', p.K] },
    { name: 'packed', shape: [p.N, nb, p.blockSize / 2], dtype: 'uint8' as const, data: p.packed },
    { name: 'scales', shape: [p.N * nb], dtype: 'float32' as const, data: p.scales, diff: false },
  ];
  if (p.zeroPoints) ins.push({ name: 'zp', shape: [p.zeroPoints.length], dtype: 'uint8' as const, data: p.zeroPoints });
  return ins;
}

function nbitsCase(name: string, p: Packed4): GradCase {
  return {
    name,
    op: 'com.microsoft.MatMulNBits',
    float: 'float32',
    inputs: nbitsInputs(p),
    build: (b, [a, packed, scales, zp]) => b.matmulNBits(a!, packed!, scales!, zp ?? null, p.K, p.N, p.blockSize),
    // linear in `a`: a large step makes the difference exact up to float32 rounding of the outputs
    h: 0.5,
    atol: 2e-4,
    rtol: 1e-4,
  };
}

// ---------------------------------------------------------------------------------------------------------
// The cases. Inputs are seeded uniform in [-1.5, 1.5] unless a range says otherwise; 'B'/'T' dims are symbolic
// in the graphs and concrete only in the feeds.

const pos: [number, number] = [0.5, 2];
const away: [number, number] = [0.6, 1.8];

const cases: GradCase[] = [
  // ---- elementwise, broadcasting ----
  { name: 'Add [2,1,3] + [4,3]', op: 'Add', inputs: [{ name: 'a', shape: [2, 1, 3] }, { name: 'b', shape: [4, 3] }], build: (b, [x, y]) => b.add(x!, y!) },
  {
    name: 'Add symbolic [B,1,3] + [T,3]',
    op: 'Add',
    inputs: [{ name: 'a', shape: [2, 1, 3], decl: ['B', 1, 3] }, { name: 'b', shape: [4, 3], decl: ['T', 3] }],
    build: (b, [x, y]) => b.add(x!, y!),
  },
  {
    // symbolic dims are assumed never to be 1 statically; a batch of 1 at run time must still be right
    name: 'Mul [B,3] * [1,3] fed with B = 1',
    op: 'Mul',
    inputs: [{ name: 'a', shape: [1, 3], decl: ['B', 3] }, { name: 'b', shape: [1, 3] }],
    build: (b, [x, y]) => b.mul(x!, y!),
  },
  { name: 'Add same shape (both operands get one gradient)', op: 'Add', inputs: [{ name: 'a', shape: [2, 3] }, { name: 'b', shape: [2, 3] }], build: (b, [x, y]) => b.add(x!, y!) },
  { name: 'Sub [3] - [2,3]', op: 'Sub', inputs: [{ name: 'a', shape: [3] }, { name: 'b', shape: [2, 3] }], build: (b, [x, y]) => b.sub(x!, y!) },
  { name: 'Sub scalar - [B,2]', op: 'Sub', inputs: [{ name: 'a', shape: [] }, { name: 'b', shape: [3, 2], decl: ['B', 2] }], build: (b, [x, y]) => b.sub(x!, y!) },
  { name: 'Mul [2,1,3] * [1,4,1]', op: 'Mul', inputs: [{ name: 'a', shape: [2, 1, 3] }, { name: 'b', shape: [1, 4, 1] }], build: (b, [x, y]) => b.mul(x!, y!) },
  { name: 'Mul x*x (one value used twice)', op: 'Mul', inputs: [{ name: 'x', shape: [2, 3] }], build: (b, [x]) => b.mul(x!, x!) },
  { name: 'Div [2,3] / [3]', op: 'Div', inputs: [{ name: 'a', shape: [2, 3] }, { name: 'b', shape: [3], range: away }], build: (b, [x, y]) => b.div(x!, y!) },
  {
    name: 'Div [B,1] / [B,3] symbolic',
    op: 'Div',
    inputs: [{ name: 'a', shape: [2, 1], decl: ['B', 1] }, { name: 'b', shape: [2, 3], decl: ['B', 3], range: away }],
    build: (b, [x, y]) => b.div(x!, y!),
  },
  { name: 'Pow x^2', op: 'Pow', inputs: [{ name: 'x', shape: [2, 3] }], build: (b, [x]) => b.pow(x!, 2) },
  { name: 'Pow x^3', op: 'Pow', inputs: [{ name: 'x', shape: [2, 3] }], build: (b, [x]) => b.pow(x!, 3) },
  { name: 'Pow x^0.5', op: 'Pow', inputs: [{ name: 'x', shape: [5], range: pos }], build: (b, [x]) => b.pow(x!, 0.5) },
  { name: 'Pow x^-1.5 [B,2]', op: 'Pow', inputs: [{ name: 'x', shape: [2, 2], decl: ['B', 2], range: pos }], build: (b, [x]) => b.pow(x!, -1.5) },
  { name: 'Neg', op: 'Neg', inputs: [{ name: 'x', shape: [2, 3] }], build: (b, [x]) => b.neg(x!) },
  { name: 'Exp', op: 'Exp', inputs: [{ name: 'x', shape: [2, 3], decl: ['B', 3] }], build: (b, [x]) => b.exp(x!) },
  { name: 'Log', op: 'Log', inputs: [{ name: 'x', shape: [2, 3], range: pos }], build: (b, [x]) => b.log(x!) },
  { name: 'Sqrt', op: 'Sqrt', inputs: [{ name: 'x', shape: [2, 3], range: pos }], build: (b, [x]) => b.sqrt(x!) },
  { name: 'Reciprocal', op: 'Reciprocal', inputs: [{ name: 'x', shape: [2, 3], range: away }], build: (b, [x]) => b.reciprocal(x!) },
  { name: 'Tanh', op: 'Tanh', inputs: [{ name: 'x', shape: [2, 3] }], build: (b, [x]) => b.tanh(x!) },
  { name: 'Sigmoid', op: 'Sigmoid', inputs: [{ name: 'x', shape: [2, 3] }], build: (b, [x]) => b.sigmoid(x!) },
  { name: 'Cos', op: 'Cos', inputs: [{ name: 'x', shape: [2, 3] }], build: (b, [x]) => b.cos(x!) },
  { name: 'Sin', op: 'Sin', inputs: [{ name: 'x', shape: [2, 3] }], build: (b, [x]) => b.sin(x!) },
  { name: 'Identity', op: 'Identity', inputs: [{ name: 'x', shape: [2, 3], decl: ['B', 3] }], build: (b, [x]) => b.identity(x!) },
  {
    name: 'Where cond [2,4,1], a [4,3], b [1,3]',
    op: 'Where',
    inputs: [
      { name: 'c', shape: [2, 4, 1], dtype: 'bool', data: [1, 0, 0, 1, 1, 1, 0, 0] },
      { name: 'a', shape: [4, 3] },
      { name: 'b', shape: [1, 3] },
    ],
    build: (b, [c, x, y]) => b.where(c!, x!, y!),
  },
  {
    name: 'Where symbolic cond [B,3]',
    op: 'Where',
    inputs: [
      { name: 'c', shape: [2, 3], decl: ['B', 3], dtype: 'bool', data: [1, 0, 1, 0, 0, 1] },
      { name: 'a', shape: [2, 3], decl: ['B', 3] },
      { name: 'b', shape: [] },
    ],
    build: (b, [c, x, y]) => b.where(c!, x!, y!),
  },
  {
    // the gradient passes through float32: FD of the rounding needs a big step, and agrees to ~float32 precision
    name: 'Cast float64 -> float32 -> float64',
    op: 'Cast',
    inputs: [{ name: 'x', shape: [2, 3] }],
    build: (b, [x]) => b.mul(b.cast(b.cast(x!, 'float32'), 'float64'), x!),
    h: 1e-2,
    atol: 1e-5,
    rtol: 1e-5,
  },

  // ---- linear algebra ----
  { name: 'MatMul [2,3]x[3,4]', op: 'MatMul', inputs: [{ name: 'a', shape: [2, 3] }, { name: 'w', shape: [3, 4] }], build: (b, [x, w]) => b.matmul(x!, w!) },
  {
    name: 'MatMul [B,T,4]x[4,3] (weight-like right operand)',
    op: 'MatMul',
    inputs: [{ name: 'a', shape: [2, 2, 4], decl: ['B', 'T', 4] }, { name: 'w', shape: [4, 3] }],
    build: (b, [x, w]) => b.matmul(x!, w!),
  },
  { name: 'MatMul [3,4]x[2,4,2] (rank-2 left)', op: 'MatMul', inputs: [{ name: 'a', shape: [3, 4] }, { name: 'w', shape: [2, 4, 2] }], build: (b, [x, w]) => b.matmul(x!, w!) },
  {
    name: 'MatMul [2,1,2,3]x[1,2,3,2] (batch broadcast)',
    op: 'MatMul',
    inputs: [{ name: 'a', shape: [2, 1, 2, 3] }, { name: 'w', shape: [1, 2, 3, 2] }],
    build: (b, [x, w]) => b.matmul(x!, w!),
  },
  { name: 'Gemm transB [3,4]·[5,4]ᵀ', op: 'Gemm', inputs: [{ name: 'a', shape: [3, 4] }, { name: 'w', shape: [5, 4] }], build: (b, [x, w]) => b.matmulTransB(x!, w!) },
  {
    name: 'Gemm transB [B,4]·[3,4]ᵀ symbolic',
    op: 'Gemm',
    inputs: [{ name: 'a', shape: [2, 4], decl: ['B', 4] }, { name: 'w', shape: [3, 4] }],
    build: (b, [x, w]) => b.matmulTransB(x!, w!),
  },
  { name: 'Transpose [2,3,4] perm [2,0,1]', op: 'Transpose', inputs: [{ name: 'x', shape: [2, 3, 4] }], build: (b, [x]) => b.transpose(x!, [2, 0, 1]) },

  // ---- reductions ----
  { name: 'ReduceSum axis 1 keepdims', op: 'ReduceSum', inputs: [{ name: 'x', shape: [2, 3, 2] }], build: (b, [x]) => b.reduceSum(x!, [1], true) },
  { name: 'ReduceSum axes [-1,0] no keepdims', op: 'ReduceSum', inputs: [{ name: 'x', shape: [2, 3, 2] }], build: (b, [x]) => b.reduceSum(x!, [-1, 0], false) },
  {
    name: 'ReduceSum symbolic [B,3,T] axes [0,2] no keepdims',
    op: 'ReduceSum',
    inputs: [{ name: 'x', shape: [2, 3, 2], decl: ['B', 3, 'T'] }],
    build: (b, [x]) => b.reduceSum(x!, [0, 2], false),
  },
  { name: 'ReduceMean axis -1 keepdims', op: 'ReduceMean', inputs: [{ name: 'x', shape: [2, 3, 2] }], build: (b, [x]) => b.reduceMean(x!, [-1], true) },
  {
    name: 'ReduceMean over symbolic B,T (count at run time), no keepdims',
    op: 'ReduceMean',
    inputs: [{ name: 'x', shape: [2, 3, 2], decl: ['B', 'T', 2] }],
    build: (b, [x]) => b.reduceMean(x!, [0, 1], false),
  },
  {
    name: 'ReduceMean over symbolic T and numeric axis, keepdims',
    op: 'ReduceMean',
    inputs: [{ name: 'x', shape: [2, 3, 2], decl: ['B', 'T', 2] }],
    build: (b, [x]) => b.reduceMean(x!, [-2, -1], true),
  },
  { name: 'ReduceMax axis -1 no keepdims', op: 'ReduceMax', inputs: [{ name: 'x', shape: [2, 3, 4] }], build: (b, [x]) => b.reduceMax(x!, [-1], false) },
  { name: 'ReduceMax axes [2,0] keepdims', op: 'ReduceMax', inputs: [{ name: 'x', shape: [2, 3, 4] }], build: (b, [x]) => b.reduceMax(x!, [2, 0], true) },
  {
    name: 'ReduceMax axes [0,2] no keepdims (unsorted, non-adjacent)',
    op: 'ReduceMax',
    inputs: [{ name: 'x', shape: [2, 3, 4], decl: ['B', 3, 4] }],
    build: (b, [x]) => b.reduceMax(x!, [2, 0], false),
  },
  {
    // 3 positions × 2 heads × hd 4; position tables [6, 2]; positions as [B, S]
    name: 'RotaryEmbedding (x [1,3,8], 2 heads, positions [1,3], float32)',
    op: 'com.microsoft.RotaryEmbedding',
    float: 'float32',
    h: 1e-2,
    atol: 2e-5,
    rtol: 5e-4,
    inputs: [
      { name: 'x', shape: [1, 3, 8] },
      { name: 'pos', shape: [1, 3], dtype: 'int64', data: [4, 1, 2] },
      { name: 'cos', shape: [6, 2], diff: false, range: [-1, 1] },
      { name: 'sin', shape: [6, 2], diff: false, range: [-1, 1] },
    ],
    build: (b, [x, p, c, s]) => b.rotaryEmbedding(x!, p!, c!, s!, 2),
  },
  { name: 'Softmax axis -1', op: 'Softmax', inputs: [{ name: 'x', shape: [3, 4] }], build: (b, [x]) => b.softmax(x!, -1) },
  { name: 'Softmax axis 0 symbolic', op: 'Softmax', inputs: [{ name: 'x', shape: [3, 4], decl: ['B', 4] }], build: (b, [x]) => b.softmax(x!, 0) },
  { name: 'LogSoftmax axis -1', op: 'LogSoftmax', inputs: [{ name: 'x', shape: [2, 5], decl: ['B', 5] }], build: (b, [x]) => b.logSoftmax(x!, -1) },
  { name: 'LogSoftmax axis 1 of 3', op: 'LogSoftmax', inputs: [{ name: 'x', shape: [2, 3, 2] }], build: (b, [x]) => b.logSoftmax(x!, 1) },
  { name: 'ReduceLogSumExp axis -1 keepdims', op: 'ReduceLogSumExp', inputs: [{ name: 'x', shape: [3, 5], decl: ['B', 5] }], build: (b, [x]) => b.reduceLogSumExp(x!, [-1], true) },
  { name: 'ReduceLogSumExp axes [2,0] no keepdims', op: 'ReduceLogSumExp', inputs: [{ name: 'x', shape: [2, 3, 4] }], build: (b, [x]) => b.reduceLogSumExp(x!, [2, 0], false) },

  // ---- shapes & indexing ----
  { name: 'Reshape [2,3,4] -> [0,-1]', op: 'Reshape', inputs: [{ name: 'x', shape: [2, 3, 4] }], build: (b, [x]) => b.reshape(x!, [0, -1]) },
  { name: 'Reshape [2,3,4] -> [4,-1,3]', op: 'Reshape', inputs: [{ name: 'x', shape: [2, 3, 4] }], build: (b, [x]) => b.reshape(x!, [4, -1, 3]) },
  { name: 'Reshape [B,3,4] -> [0,-1]', op: 'Reshape', inputs: [{ name: 'x', shape: [2, 3, 4], decl: ['B', 3, 4] }], build: (b, [x]) => b.reshape(x!, [0, -1]) },
  {
    // the -1 is a static 1 here: the broadcast against [B,3] must reduce its gradient back
    name: 'Reshape [B,1,1] -> [0,-1] then broadcast against [B,3]',
    op: 'Reshape',
    inputs: [{ name: 'x', shape: [2, 1, 1], decl: ['B', 1, 1] }, { name: 'z', shape: [2, 3], decl: ['B', 3] }],
    build: (b, [x, z]) => b.add(b.reshape(x!, [0, -1]), z!),
  },
  {
    name: 'Reshape [B,T,2] -> [-1,2] (fresh dim, runtime shape in the VJP)',
    op: 'Reshape',
    inputs: [{ name: 'x', shape: [2, 3, 2], decl: ['B', 'T', 2] }],
    build: (b, [x]) => b.reshape(x!, [-1, 2]),
  },
  { name: 'Unsqueeze axes [0,-1]', op: 'Unsqueeze', inputs: [{ name: 'x', shape: [2, 3], decl: ['B', 3] }], build: (b, [x]) => b.unsqueeze(x!, [0, -1]) },
  { name: 'Squeeze axes [1,-1]', op: 'Squeeze', inputs: [{ name: 'x', shape: [2, 1, 3, 1] }], build: (b, [x]) => b.squeeze(x!, [1, -1]) },
  {
    name: 'Concat axis -1 of three',
    op: 'Concat',
    inputs: [{ name: 'a', shape: [2, 3] }, { name: 'b', shape: [2, 1] }, { name: 'c', shape: [2, 2] }],
    build: (b, [x, y, z]) => b.concat([x!, y!, z!], -1),
  },
  {
    name: 'Concat axis 1, symbolic batch',
    op: 'Concat',
    inputs: [{ name: 'a', shape: [2, 2], decl: ['B', 2] }, { name: 'b', shape: [2, 3], decl: ['B', 3] }],
    build: (b, [x, y]) => b.concat([x!, y!], 1),
  },
  {
    name: 'Slice [5,6] starts [1,-4] ends [huge,-1]',
    op: 'Slice',
    inputs: [{ name: 'x', shape: [5, 6] }],
    build: (b, [x]) => b.slice(x!, [1, -4], [1e9, -1], [0, 1]),
  },
  {
    name: 'Slice [5,6] ends past the dim and 2^62, negative axis',
    op: 'Slice',
    inputs: [{ name: 'x', shape: [5, 6] }],
    build: (b, [x]) => b.slice(x!, [2, 0], [2 ** 62, 4], [-2, -1]),
  },
  {
    name: 'Slice symbolic [B,T,3]: T from 1 to the end, B window [0,1)',
    op: 'Slice',
    inputs: [{ name: 'x', shape: [2, 4, 3], decl: ['B', 'T', 3] }],
    build: (b, [x]) => b.slice(x!, [1, 0], [Number.MAX_SAFE_INTEGER, 1], [1, 0]),
  },
  {
    name: 'Slice symbolic [B,T]: T fixed window [1,3) and negative end on B',
    op: 'Slice',
    inputs: [{ name: 'x', shape: [3, 4], decl: ['B', 'T'] }],
    build: (b, [x]) => b.slice(x!, [1, 0], [3, -1], [1, 0]),
  },
  {
    name: 'Slice symbolic [T,2]: end 2^31-1 (INT32_MAX, "to the end")',
    op: 'Slice',
    inputs: [{ name: 'x', shape: [4, 2], decl: ['T', 2] }],
    build: (b, [x]) => b.slice(x!, [1], [2 ** 31 - 1], [0]),
  },
  {
    // 9223372036854775807 is 2^63 as a JS number: it must saturate to INT64_MAX, not wrap to INT64_MIN
    name: 'Slice symbolic [T,2]: end INT64_MAX and Infinity',
    op: 'Slice',
    inputs: [{ name: 'x', shape: [4, 2], decl: ['T', 2] }],
    build: (b, [x]) => b.slice(x!, [1, 1], [9223372036854775807, Infinity], [0, 1]),
  },
  {
    name: 'Gather rows with repeated and negative indices',
    op: 'Gather',
    inputs: [{ name: 'emb', shape: [5, 3] }, { name: 'ids', shape: [4], dtype: 'int64', data: [1, 3, 1, -1] }],
    build: (b, [e, i]) => b.gather(e!, i!, 0),
  },
  {
    name: 'Gather rows, symbolic number of indices',
    op: 'Gather',
    inputs: [{ name: 'emb', shape: [4, 2] }, { name: 'ids', shape: [5], decl: ['T'], dtype: 'int64', data: [0, 2, 2, 3, 2] }],
    build: (b, [e, i]) => b.gather(e!, i!, 0),
  },
  {
    name: 'GatherElements axis 1 with repeats',
    op: 'GatherElements',
    inputs: [{ name: 'x', shape: [3, 4] }, { name: 'idx', shape: [3, 2], dtype: 'int64', data: [0, 0, 3, 1, 2, 2] }],
    build: (b, [x, i]) => b.gatherElements(x!, i!, 1),
  },
  {
    name: 'GatherElements axis -2, symbolic, negative index',
    op: 'GatherElements',
    inputs: [{ name: 'x', shape: [3, 2], decl: ['B', 2] }, { name: 'idx', shape: [2, 2], dtype: 'int64', data: [0, -1, 2, 0] }],
    build: (b, [x, i]) => b.gatherElements(x!, i!, -2),
  },
  { name: 'Expand [3,1] -> [2,3,4]', op: 'Expand', inputs: [{ name: 'x', shape: [3, 1] }], build: (b, [x]) => b.expand(x!, [2, 3, 4]) },
  {
    name: 'Expand [1,3] to a runtime shape [B,3]',
    op: 'Expand',
    inputs: [{ name: 'x', shape: [1, 3] }, { name: 'like', shape: [2, 3], decl: ['B', 3], diff: false }],
    build: (b, [x, like]) => b.add(b.expand(x!, b.shapeOf(like!), like!.shape), like!),
  },

  {
    name: 'Split [B,7] into 2 + 4 + 1 along the last axis (all parts reach the loss)',
    op: 'Split',
    inputs: [{ name: 'x', shape: [2, 7], decl: ['B', 7] }],
    build: (b, [x]) => {
      const [p, q, r] = b.split(x!, -1, [2, 4, 1]);
      return b.concat([b.mul(p!, p!), b.mulScalar(q!, 3), b.exp(r!)], -1);
    },
  },
  {
    name: 'Split [3,5] along axis 0, the middle part unused (its gradient is zero)',
    op: 'Split',
    inputs: [{ name: 'x', shape: [3, 5] }],
    build: (b, [x]) => {
      const [p, , r] = b.split(x!, 0, [1, 1, 1]);
      return b.mul(p!, r!);
    },
  },

  // ---- a composite with a hand-written VJP: the RMS norm's closed form (Builder.rmsNorm) ----
  {
    name: "CustomVjp: rmsNorm's closed-form VJP, x [B,6] and scale [6]",
    op: 'CustomVjp',
    inputs: [{ name: 'x', shape: [3, 6], decl: ['B', 6] }, { name: 'scale', shape: [6] }],
    build: (b, [x, s]) => b.rmsNorm(x!, s!, 1e-5),
  },
  {
    name: "CustomVjp: rmsNorm's closed-form VJP without scale, [2,3,4] (eps 0.05)",
    op: 'CustomVjp',
    inputs: [{ name: 'x', shape: [2, 3, 4] }],
    build: (b, [x]) => b.rmsNorm(x!, null, 0.05),
  },

  // ---- 4-bit weights, float32 ----
  nbitsCase('MatMulNBits d/dA, zero point 8 (absent)', qSym),
  nbitsCase('MatMulNBits d/dA, packed zero points', qZp),
];

beforeAll(async () => {
  await testBackend();
});

describe('gradient check: every op with a VJP', () => {
  it('every registered op with a VJP has a check case', () => {
    // StopGradient's VJP is zero by design, so finite differences cannot check it: it has its own test below
    const withVjp = allOps()
      .filter(([name, d]) => d.vjp && name !== 'StopGradient')
      .map(([name, d]) => opKey(name, d.domain));
    const checked = new Set(cases.map((c) => c.op));
    expect(withVjp.filter((k) => !checked.has(k)), 'ops with a VJP but no gradient check case').toEqual([]);
    // and every case names an op that exists
    const known = new Set(allOps().map(([name, d]) => opKey(name, d.domain)));
    expect([...checked].filter((k) => !known.has(k))).toEqual([]);
  });

  it('StopGradient passes values and blocks gradients: d/dx [x · StopGradient(x)] = x, not 2x', async () => {
    const g = new Graph('sg');
    const b = new Builder(g, 'float64');
    const x = g.input('x', 'float64', [3]);
    const y = b.reduceSum(b.mul(x, b.stopGradient(x)), [0], false);
    g.output(y, 'y');
    const { grad } = await import('../../src/engine/autodiff');
    g.output(grad(b, y, [x])[0]!, 'dx');
    const xs = [0.5, -1.25, 2];
    const out = await compileAndRun(g, { x: { dtype: 'float64', shape: [3], data: Float64Array.from(xs) } });
    expect(asNumbers(out.y!)[0]).toBeCloseTo(xs.reduce((a, v) => a + v * v, 0), 12);
    expect(asNumbers(out.dx!)).toEqual(xs);
  });

  it('CustomVjp: the autodiff takes the rule and does not walk the parts; the ONNX node is Identity(y)', async () => {
    // the rule is deliberately not the parts' derivative (2x): the gradient must be the rule's 3·g
    const g = new Graph('custom');
    const b = new Builder(g, 'float64');
    const x = g.input('x', 'float64', [3]);
    const y = b.withVjp(b.mul(x, x), [x], (gy) => [b.mulScalar(gy, 3)]);
    const loss = b.reduceSum(y, [0], false);
    g.output(loss, 'y');
    const { grad } = await import('../../src/engine/autodiff');
    g.output(grad(b, loss, [x])[0]!, 'dx');
    const { serialize } = await import('../../src/engine/onnx/serialize');
    const { decodeModel } = await import('../../src/engine/onnx/proto');
    const nodes = decodeModel(serialize(g).bytes).graph!.node!;
    const id = nodes.find((n) => n.op_type === 'Identity')!;
    expect(id.input).toHaveLength(1);
    const xs = [0.5, -1.25, 2];
    const out = await compileAndRun(g, { x: { dtype: 'float64', shape: [3], data: Float64Array.from(xs) } });
    expect(asNumbers(out.y!)[0]).toBeCloseTo(xs.reduce((a, v) => a + v * v, 0), 12);
    expect(asNumbers(out.dx!)).toEqual([3, 3, 3]);
  });

  for (const c of cases) {
    it(c.name, async () => {
      const r = await gradCheck(c);
      expect([...r.ops], `${c.name} should build a ${c.op} node`).toContain(c.op);
      expectGradsMatch(c, r);
    });
  }
});

// ---------------------------------------------------------------------------------------------------------

describe('4-bit weights', () => {
  for (const [label, p] of [
    ['zero point 8', qSym],
    ['packed zero points', qZp],
  ] as const) {
    /** dequantizeNBits of the case's bytes in a graph of `float`: the graph (for its nodes) and the result */
    const dequantized = async (float: 'float32' | 'float64') => {
      const g = new Graph();
      const b = new Builder(g, float);
      const nb = Math.ceil(p.K / p.blockSize);
      const packed = g.input('packed', 'uint8', [p.N, nb, p.blockSize / 2]);
      const scales = g.input('scales', 'float32', [p.N * nb]);
      const zp = p.zeroPoints ? g.input('zp', 'uint8', [p.zeroPoints.length]) : null;
      const w = dequantizeNBits(b, packed, scales, zp, p.K, p.N, p.blockSize);
      expect(w.shape).toEqual([p.N, p.K]);
      g.output(w, 'w');
      const feeds: Record<string, TensorData> = {
        packed: { dtype: 'uint8', shape: [p.N, nb, p.blockSize / 2], data: p.packed },
        scales: { dtype: 'float32', shape: [p.N * nb], data: p.scales },
      };
      if (p.zeroPoints) feeds.zp = { dtype: 'uint8', shape: [p.zeroPoints.length], data: p.zeroPoints };
      const out = await compileAndRun(g, feeds);
      expect(out.w!.shape).toEqual([p.N, p.K]);
      return { g, w: asNumbers(out.w!) };
    };

    it(`dequantizeNBits equals a JS reading of the same bytes (${label})`, async () => {
      // (q - z)·scale with a float32 scale is exact in float64
      expect((await dequantized('float64')).w).toEqual(Array.from(dequantizeRef(p)));
    });

    it(`dequantizeNBits in float32 equals the JS reading rounded to float32 (${label})`, async () => {
      const { g, w } = await dequantized('float32');
      // symmetric weights: one GatherBlockQuantized; packed zero points: the elementwise unpacking
      expect(g.nodes.filter((n) => n.op === 'GatherBlockQuantized')).toHaveLength(p.zeroPoints ? 0 : 1);
      expect(w).toEqual(Array.from(Float32Array.from(dequantizeRef(p))));
    });

    it(`MatMulNBits forward equals a·Wᵀ with the JS-dequantised W (${label})`, async () => {
      const c = nbitsCase('fwd', p);
      const [a] = materialise(c, 99);
      const g = new Graph();
      const b = new Builder(g, 'float32');
      const xs = c.inputs.map((i) => g.input(i.name, i.dtype ?? 'float32', i.decl ?? i.shape));
      g.output(c.build(b, xs), 'y');
      const feeds: Record<string, TensorData> = {};
      materialise(c, 99).forEach((t, k) => (feeds[c.inputs[k]!.name] = t));
      const y = (await compileAndRun(g, feeds)).y!;
      expect(y.shape).toEqual([1, 2, p.N]);
      const W = dequantizeRef(p);
      const A = asNumbers(a!);
      for (let t = 0; t < 2; t++) {
        for (let n = 0; n < p.N; n++) {
          let s = 0;
          for (let k = 0; k < p.K; k++) s += A[t * p.K + k]! * W[n * p.K + k]!;
          expect(Number(y.data[t * p.N + n])).toBeCloseTo(s, 4);
        }
      }
    });
  }

  it('the quantiser used here reproduces W to within half a quantisation step', () => {
    // guards the fixture itself: a broken packer would make the checks above vacuous
    const W = randomMatrix(Q_N * Q_K, 8);
    const Wq = dequantizeRef(qZp);
    const nb = Math.ceil(Q_K / Q_BS);
    for (let n = 0; n < Q_N; n++) {
      for (let k = 0; k < Q_K; k++) {
        const s = qZp.scales[n * nb + Math.floor(k / Q_BS)]!;
        expect(Math.abs(W[n * Q_K + k]! - Wq[n * Q_K + k]!)).toBeLessThanOrEqual(s / 2 + 1e-6);
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------------------

describe('composite helpers: JS reference forward and finite differences', () => {
  const sig = (v: number) => 1 / (1 + Math.exp(-v));
  const composites: { c: GradCase; ref: (x: number[], extra: number[]) => number[] }[] = [
    {
      c: {
        name: 'rmsNorm(x [B,5], scale [5], eps 1e-6)',
        op: 'rmsNorm',
        inputs: [{ name: 'x', shape: [2, 5], decl: ['B', 5] }, { name: 'scale', shape: [5] }],
        build: (b, [x, s]) => b.rmsNorm(x!, s!, 1e-6),
      },
      ref: (x, s) => {
        const out: number[] = [];
        for (let r = 0; r < 2; r++) {
          const row = x.slice(r * 5, r * 5 + 5);
          const inv = 1 / Math.sqrt(row.reduce((p, v) => p + v * v, 0) / 5 + 1e-6);
          row.forEach((v, i) => out.push(v * inv * s[i]!));
        }
        return out;
      },
    },
    {
      c: { name: 'rmsNorm without scale, eps 0.1', op: 'rmsNorm', inputs: [{ name: 'x', shape: [3, 4] }], build: (b, [x]) => b.rmsNorm(x!, null, 0.1) },
      ref: (x) => {
        const out: number[] = [];
        for (let r = 0; r < 3; r++) {
          const row = x.slice(r * 4, r * 4 + 4);
          const inv = 1 / Math.sqrt(row.reduce((p, v) => p + v * v, 0) / 4 + 0.1);
          row.forEach((v) => out.push(v * inv));
        }
        return out;
      },
    },
    {
      c: {
        name: 'silu',
        op: 'silu',
        inputs: [{ name: 'x', shape: [2, 4], range: [-4, 4] }],
        build: (b, [x]) => b.silu(x!),
        // ORT's extended level fuses x·sigmoid(x) into com.microsoft.QuickGelu, which has no float64 kernel
        optLevel: 'basic',
      },
      ref: (x) => x.map((v) => v * sig(v)),
    },
    {
      c: { name: 'geluTanh', op: 'geluTanh', inputs: [{ name: 'x', shape: [2, 4], range: [-4, 4] }], build: (b, [x]) => b.geluTanh(x!) },
      ref: (x) => x.map((v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)))),
    },
    {
      c: { name: 'softcap 3', op: 'softcap', inputs: [{ name: 'x', shape: [2, 4], range: [-8, 8] }], build: (b, [x]) => b.softcap(x!, 3) },
      ref: (x) => x.map((v) => 3 * Math.tanh(v / 3)),
    },
  ];
  for (const { c, ref } of composites) {
    it(c.name, async () => {
      const r = await gradCheck(c);
      const [x, extra] = materialise(c, 1234);
      const want = ref(asNumbers(x!), extra ? asNumbers(extra) : []);
      const got = asNumbers(r.y);
      expect(got.length).toBe(want.length);
      got.forEach((v, i) => expect(v, `${c.name} forward [${i}]`).toBeCloseTo(want[i]!, 12));
      expectGradsMatch(c, r);
    });
  }
});
