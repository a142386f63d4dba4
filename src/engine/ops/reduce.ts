// Reductions, Softmax and LogSoftmax with their VJPs. Axes come as constant int64 inputs (opset 18).

import { normAxis } from '../shape';
import type { Builder } from '../builder';
import type { Node, Value } from '../ir';
import type { OpDef, OutType } from './op_def';

export function constInts(b: Builder, v: Value | null, what: string): number[] {
  const t = v ? b.g.initializers.get(v) : undefined;
  if (!t) throw new Error(`${what}: expected a constant int64 input`);
  return Array.from(t.data as BigInt64Array, (x) => Number(x));
}

function reduceInfer(type: string) {
  return (b: Builder, ins: (Value | null)[], attrs: Record<string, unknown>): OutType[] => {
    const x = ins[0]!;
    const axes = constInts(b, ins[1] ?? null, type).map((a) => normAxis(a, x.rank));
    const keep = attrs.keepdims !== 0;
    const shape = keep ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x.shape.filter((_d, i) => !axes.includes(i));
    return [{ dtype: x.dtype, shape }];
  };
}

/** Broadcast a reduced gradient back over the reduced axes (re-inserting them if keepdims was 0). */
function unreduce(b: Builder, n: Node, g: Value): { full: Value; axes: number[] } {
  const x = n.inputs[0]!;
  const axes = constInts(b, n.inputs[1] ?? null, n.op).map((a) => normAxis(a, x.rank));
  let gk = g;
  if (n.attrs.keepdims === 0) gk = b.unsqueeze(g, [...axes].sort((p, q) => p - q));
  return { full: b.expand(gk, b.shapeOf(x), x.shape), axes };
}

export const REDUCE_OPS = {
  ReduceSum: {
    attrs: { keepdims: 'int', noop_with_empty_axes: 'int' },
    infer: reduceInfer('ReduceSum'),
    nondiff: [1],
    vjp: (b, n, [g]) => [unreduce(b, n, g!).full, null],
  },

  ReduceMean: {
    attrs: { keepdims: 'int', noop_with_empty_axes: 'int' },
    infer: reduceInfer('ReduceMean'),
    nondiff: [1],
    vjp: (b, n, [g]) => {
      const x = n.inputs[0]!;
      const { full, axes } = unreduce(b, n, g!);
      const dims = axes.map((a) => x.shape[a]!);
      if (dims.every((d) => typeof d === 'number')) {
        return [b.mulScalar(full, 1 / (dims as number[]).reduce((p, q) => p * q, 1)), null];
      }
      // symbolic reduced dims: count at run time
      const count = b.cast(b.one('ReduceProd', [b.gather(b.shapeOf(x), b.ints(axes), 0), b.ints([0])], { keepdims: 0 }), x.dtype);
      return [b.div(full, count), null];
    },
  },

  ReduceProd: { attrs: { keepdims: 'int', noop_with_empty_axes: 'int' }, infer: reduceInfer('ReduceProd') },

  ReduceMax: {
    attrs: { keepdims: 'int', noop_with_empty_axes: 'int' },
    infer: reduceInfer('ReduceMax'),
    nondiff: [1],
    vjp: (b, n, [g]) => {
      // gradient to the arg-max entries (ties share it fully; ties have measure zero for real data)
      const x = n.inputs[0]!;
      let y = n.outputs[0]!;
      if (n.attrs.keepdims === 0) {
        const axes = constInts(b, n.inputs[1] ?? null, 'ReduceMax').map((a) => normAxis(a, x.rank));
        y = b.unsqueeze(y, axes);
      }
      const mask = b.cast(b.equal(x, y), x.dtype);
      return [b.mul(unreduce(b, n, g!).full, mask), null];
    },
  },

  Softmax: {
    attrs: { axis: 'int' },
    infer: (_b, ins) => [{ dtype: ins[0]!.dtype, shape: ins[0]!.shape }],
    vjp: (b, n, [g]) => {
      const y = n.outputs[0]!;
      const axis = n.attrs.axis as number;
      const s = b.reduceSum(b.mul(g!, y), [axis], true);
      return [b.mul(y, b.sub(g!, s))];
    },
  },

  LogSoftmax: {
    attrs: { axis: 'int' },
    infer: (_b, ins) => [{ dtype: ins[0]!.dtype, shape: ins[0]!.shape }],
    vjp: (b, n, [g]) => {
      const y = n.outputs[0]!;
      const axis = n.attrs.axis as number;
      const s = b.reduceSum(g!, [axis], true);
      return [b.sub(g!, b.mul(b.exp(y), s))];
    },
  },
} satisfies Record<string, OpDef>;
