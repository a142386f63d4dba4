// Ops that pick from a distribution without reading it back: TopK (the K largest entries and their indices along
// the last axis), ArgMax, ReduceLogSumExp (with its VJP, softmax · g), and StopGradient. Generation keeps the
// vocabulary-sized logits on the GPU and returns only these to the CPU; the loss heads use ReduceLogSumExp and
// StopGradient to compute their gradients chunk by chunk (models/losses.ts).

import { normAxis } from '../shape';
import type { Value } from '../ir';
import type { OpDef } from './op_def';
import { constInts } from './reduce';

export const SELECT_OPS = {
  TopK: {
    // inputs: x, k (int64 [1]); outputs values, indices (int64)
    attrs: { axis: 'int', largest: 'int', sorted: 'int' },
    infer: (b, ins, attrs) => {
      const x = ins[0]!;
      const k = constInts(b, ins[1] ?? null, 'TopK')[0]!;
      const axis = normAxis((attrs.axis as number | undefined) ?? -1, x.rank);
      const shape = x.shape.map((d, i) => (i === axis ? k : d));
      return [
        { dtype: x.dtype, shape },
        { dtype: 'int64', shape },
      ];
    },
  },
  ArgMax: {
    // select_last_index 0: the first maximum, as a CPU argmax would pick
    attrs: { axis: 'int', keepdims: 'int', select_last_index: 'int' },
    infer: (_b, ins, attrs) => {
      const x = ins[0]!;
      const axis = normAxis((attrs.axis as number | undefined) ?? 0, x.rank);
      const keep = attrs.keepdims !== 0;
      return [{ dtype: 'int64', shape: keep ? x.shape.map((d, i) => (i === axis ? 1 : d)) : x.shape.filter((_d, i) => i !== axis) }];
    },
  },
  ReduceLogSumExp: {
    attrs: { keepdims: 'int', noop_with_empty_axes: 'int' },
    infer: (b, ins, attrs) => {
      const x = ins[0]!;
      const axes = constInts(b, ins[1] ?? null, 'ReduceLogSumExp').map((a) => normAxis(a, x.rank));
      const keep = attrs.keepdims !== 0;
      return [{ dtype: x.dtype, shape: keep ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x.shape.filter((_d, i) => !axes.includes(i)) }];
    },
    nondiff: [1],
    vjp: (b, n, [g]) => {
      // d lse / dx = exp(x − lse): broadcast the (kept) output back over the reduced axes
      const x = n.inputs[0]!;
      const axes = constInts(b, n.inputs[1] ?? null, 'ReduceLogSumExp').map((a) => normAxis(a, x.rank));
      let y: Value = n.outputs[0]!;
      let gk: Value = g!;
      if (n.attrs.keepdims === 0) {
        const sorted = [...axes].sort((p, q) => p - q);
        y = b.unsqueeze(y, sorted);
        gk = b.unsqueeze(gk, sorted);
      }
      return [b.mul(b.exp(b.sub(x, y)), gk), null];
    },
  },
  StopGradient: {
    // an Identity the autodiff does not see through: d(StopGradient(x))/dx = 0
    onnxType: 'Identity',
    infer: (_b, ins) => [{ dtype: ins[0]!.dtype, shape: ins[0]!.shape }],
    vjp: () => [null],
  },
} satisfies Record<string, OpDef>;
