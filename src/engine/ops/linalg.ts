// MatMul and Transpose with their VJPs.

import { broadcastShapes } from '../shape';
import type { Value } from '../ir';
import type { OpDef } from './op_def';

export const LINALG_OPS = {
  MatMul: {
    infer: (_b, ins) => {
      const [a, w] = ins as Value[];
      if (a!.rank < 2 || w!.rank < 2) throw new Error(`MatMul: operands must have rank >= 2 (${a}, ${w})`);
      if (a!.dtype !== w!.dtype) throw new Error(`MatMul: dtype mismatch ${a!.dtype} vs ${w!.dtype}`);
      const K1 = a!.shape[a!.rank - 1]!;
      const K2 = w!.shape[w!.rank - 2]!;
      if (typeof K1 === 'number' && typeof K2 === 'number' && K1 !== K2) throw new Error(`MatMul: inner dims ${K1} != ${K2} (${a}, ${w})`);
      const batch = broadcastShapes(a!.shape.slice(0, -2), w!.shape.slice(0, -2), 'MatMul');
      return [{ dtype: a!.dtype, shape: [...batch, a!.shape[a!.rank - 2]!, w!.shape[w!.rank - 1]!] }];
    },
    vjp: (b, n, [g]) => {
      const [a, w] = n.inputs as Value[];
      const ga = b.sumToShape(b.matmul(g!, b.transposeLast2(w!)), a!);
      let gw: Value;
      if (w!.rank === 2 && a!.rank > 2) {
        // a weight-like right operand: flatten the batch instead of materialising per-batch products
        const [K, N] = w!.shape;
        if (typeof K !== 'number' || typeof N !== 'number') throw new Error('MatMul VJP: a rank-2 right operand needs static dims');
        const a2 = b.reshape(a!, [-1, K]);
        const g2 = b.reshape(g!, [-1, N]);
        gw = b.matmul(b.transposeLast2(a2), g2);
      } else {
        gw = b.sumToShape(b.matmul(b.transposeLast2(a!), g!), w!);
      }
      return [ga, gw];
    },
  },

  Transpose: {
    attrs: { perm: 'ints' },
    infer: (_b, ins, attrs) => {
      const x = ins[0]!;
      const perm = attrs.perm as number[];
      if (perm.length !== x.rank) throw new Error(`Transpose: perm ${perm} does not fit rank ${x.rank}`);
      return [{ dtype: x.dtype, shape: perm.map((p) => x.shape[p]!) }];
    },
    vjp: (b, n, [g]) => {
      const perm = n.attrs.perm as number[];
      const inv = new Array<number>(perm.length);
      perm.forEach((p, i) => (inv[p] = i));
      return [b.transpose(g!, inv)];
    },
  },

  /**
   * Gemm with transB = 1: Y = A·Bᵀ for a 2-D A [M,K] and B [N,K]. Used for a tied LM head, whose weight is the
   * embedding table [vocab, d]: no transposed copy of the largest matrix in the model is ever made.
   */
  Gemm: {
    attrs: { alpha: 'float', beta: 'float', transA: 'int', transB: 'int' },
    infer: (_b, ins, attrs) => {
      const [a, w] = ins as Value[];
      if (attrs.transB !== 1 || attrs.transA) throw new Error('Gemm: only transA=0, transB=1 is supported');
      if (a!.rank !== 2 || w!.rank !== 2) throw new Error(`Gemm: operands must be 2-D (${a}, ${w})`);
      return [{ dtype: a!.dtype, shape: [a!.shape[0]!, w!.shape[0]!] }];
    },
    vjp: (b, n, [g]) => {
      const [a, w] = n.inputs as Value[];
      // dA = g·B ; dB = gᵀ·A
      return [b.matmul(g!, w!), b.matmul(b.transposeLast2(g!), a!)];
    },
  },
} satisfies Record<string, OpDef>;
