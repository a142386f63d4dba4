// LoRA gradients through the engine: y = x·Wᵀ + s·(x·Aᵀ)·Bᵀ with rank-r factors A [r,K] and B [N,r] as graph
// inputs and the base weight W frozen, the loss through a nonlinearity. Autodiff gradients w.r.t. A and B are
// compared with central finite differences of the forward (see gradcheck_harness.ts), in float64, and in float32
// over a 4-bit MatMulNBits base weight as the lab runs it.

import { describe, it, expect } from 'vitest';
import type { Builder } from '../../src/engine/builder';
import type { Value } from '../../src/engine/ir';
import { asNumbers, expectGradsMatch, gradCheck, type CaseInput, type GradCase } from './gradcheck_harness';
import { quantize4, randomMatrix } from './quant4_fixture';

const K = 6;
const N = 5;
const R = 2;
const S = 2.0; // alpha / r

/** x [B,T,K] · mᵀ for m [M,K], as a model writes a linear layer over a batch of sequences */
function linear(b: Builder, x: Value, m: Value): Value {
  return b.matmul(x, b.transpose(m, [1, 0]));
}

function loraForward(b: Builder, x: Value, base: Value, A: Value, Bm: Value): Value {
  const delta = b.mulScalar(linear(b, linear(b, x, A), Bm), S);
  return b.add(base, delta);
}

const xIn: CaseInput = { name: 'x', shape: [2, 3, K], decl: ['B', 'T', K], diff: false };
const wIn: CaseInput = { name: 'W', shape: [N, K], diff: false };
const aIn: CaseInput = { name: 'A', shape: [R, K] };
const bIn: CaseInput = { name: 'Bm', shape: [N, R] };

describe('LoRA factor gradients vs finite differences', () => {
  it('float64, random A and B, tanh then log-softmax', async () => {
    const c: GradCase = {
      name: 'lora f64',
      op: 'MatMul',
      inputs: [xIn, wIn, aIn, bIn],
      build: (b, [x, W, A, Bm]) => b.logSoftmax(b.tanh(loraForward(b, x!, linear(b, x!, W!), A!, Bm!)), -1),
    };
    const r = await gradCheck(c, 31);
    expect(Object.keys(r.ad).sort()).toEqual(['A', 'Bm']);
    expectGradsMatch(c, r);
  });

  it('float64, B = 0 (the usual LoRA init): dA is exactly zero, dB is not', async () => {
    const c: GradCase = {
      name: 'lora f64 B=0',
      op: 'MatMul',
      inputs: [xIn, wIn, aIn, { ...bIn, data: new Float64Array(N * R) }],
      build: (b, [x, W, A, Bm]) => b.tanh(loraForward(b, x!, linear(b, x!, W!), A!, Bm!)),
    };
    const r = await gradCheck(c, 32);
    expect(asNumbers(r.ad.A!).every((v) => v === 0)).toBe(true);
    expect(Math.max(...asNumbers(r.ad.Bm!).map(Math.abs))).toBeGreaterThan(1e-2);
    expectGradsMatch(c, r);
  });

  it('float32 over a 4-bit MatMulNBits base weight (Gemm for the 2-D factors)', async () => {
    const Kq = 32; // MatMulNBits blocks are at least 16 wide
    const q = quantize4(randomMatrix(N * Kq, 5), N, Kq, 16, true);
    const c: GradCase = {
      name: 'lora f32 over MatMulNBits',
      op: 'com.microsoft.MatMulNBits',
      float: 'float32',
      inputs: [
        { name: 'x', shape: [3, Kq], decl: ['T', Kq], diff: false },
        { name: 'packed', shape: [N, 2, 8], dtype: 'uint8', data: q.packed },
        { name: 'scales', shape: [N * 2], dtype: 'float32', data: q.scales, diff: false },
        { name: 'zp', shape: [N], dtype: 'uint8', data: q.zeroPoints! },
        { name: 'A', shape: [R, Kq], range: [-0.3, 0.3] },
        { name: 'Bm', shape: [N, R] },
      ],
      build: (b, [x, packed, scales, zp, A, Bm]) => {
        const base = b.matmulNBits(x!, packed!, scales!, zp!, Kq, N, 16);
        const delta = b.mulScalar(b.matmulTransB(b.matmulTransB(x!, A!), Bm!), S);
        return b.tanh(b.add(base, delta));
      },
      // float32: a larger step, looser tolerance (truncation ~h², rounding ~1e-7/h)
      h: 1e-2,
      atol: 2e-3,
      rtol: 2e-3,
    };
    const r = await gradCheck(c, 33);
    expectGradsMatch(c, r);
  });
});
