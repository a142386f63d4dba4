// Ops that pick from a distribution without reading it back: TopK (the K largest entries and their indices along
// the last axis) and ReduceLogSumExp (with its VJP, softmax · g). Generation keeps the vocabulary-sized logits on
// the GPU and returns only these to the CPU.

import { normAxis } from '../shape';
import type { Value } from '../ir';
import { constInts } from './reduce';
import { defineOp } from './registry';

defineOp({
  type: 'TopK',
  // inputs: x, k (int64 [1]); attrs axis (-1), largest (1), sorted (1); outputs values, indices (int64)
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
});

defineOp({
  type: 'ReduceLogSumExp',
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
});

defineOp({
  type: 'ArgMax',
  // attrs axis, keepdims (default 1), select_last_index 0: the first maximum, as a CPU argmax would pick
  infer: (_b, ins, attrs) => {
    const x = ins[0]!;
    const axis = normAxis((attrs.axis as number | undefined) ?? 0, x.rank);
    const keep = attrs.keepdims !== 0;
    return [{ dtype: 'int64', shape: keep ? x.shape.map((d, i) => (i === axis ? 1 : d)) : x.shape.filter((_d, i) => i !== axis) }];
  },
});

defineOp({
  // an Identity the autodiff does not see through: d(StopGradient(x))/dx = 0. Used to feed a gradient computed
  // chunk by chunk into one backward pass through the body (models/losses.ts).
  type: 'StopGradient',
  onnxType: 'Identity',
  infer: (_b, ins) => [{ dtype: ins[0]!.dtype, shape: ins[0]!.shape }],
  vjp: () => [null],
});
