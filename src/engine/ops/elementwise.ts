// Elementwise ops (numpy broadcasting): forward type rule and VJP side by side.

import { broadcastShapes } from '../shape';
import type { Value } from '../ir';
import type { OpDef, OutType } from './op_def';
import { isFloat } from '../dtype';

function sameTypeBroadcast(type: string) {
  return (_b: unknown, ins: (Value | null)[]): OutType[] => {
    const [a, c] = ins as Value[];
    if (a!.dtype !== c!.dtype) throw new Error(`${type}: dtype mismatch ${a!.dtype} vs ${c!.dtype} (${a!.name}, ${c!.name})`);
    return [{ dtype: a!.dtype, shape: broadcastShapes(a!.shape, c!.shape, type) }];
  };
}

function unarySame(_b: unknown, ins: (Value | null)[]): OutType[] {
  return [{ dtype: ins[0]!.dtype, shape: ins[0]!.shape }];
}

function compare(type: string) {
  return (_b: unknown, ins: (Value | null)[]): OutType[] => [
    { dtype: 'bool', shape: broadcastShapes(ins[0]!.shape, ins[1]!.shape, type) },
  ];
}

export const ELEMENTWISE_OPS = {
  Add: {
    infer: sameTypeBroadcast('Add'),
    vjp: (b, n, [g]) => [b.sumToShape(g!, n.inputs[0]!), b.sumToShape(g!, n.inputs[1]!)],
  },

  Sub: {
    infer: sameTypeBroadcast('Sub'),
    vjp: (b, n, [g]) => [b.sumToShape(g!, n.inputs[0]!), b.sumToShape(b.neg(g!), n.inputs[1]!)],
  },

  Mul: {
    infer: sameTypeBroadcast('Mul'),
    vjp: (b, n, [g]) => {
      const [x, y] = n.inputs as Value[];
      return [b.sumToShape(b.mul(g!, y!), x!), b.sumToShape(b.mul(g!, x!), y!)];
    },
  },

  Div: {
    infer: sameTypeBroadcast('Div'),
    vjp: (b, n, [g]) => {
      const [x, y] = n.inputs as Value[];
      const out = n.outputs[0]!;
      const gx = b.div(g!, y!);
      // d(x/y)/dy = -(x/y)/y
      const gy = b.neg(b.mul(gx, out));
      return [b.sumToShape(gx, x!), b.sumToShape(gy, y!)];
    },
  },

  Pow: {
    infer: (_b, ins) => [{ dtype: ins[0]!.dtype, shape: broadcastShapes(ins[0]!.shape, ins[1]!.shape, 'Pow') }],
    nondiff: [1],
    vjp: (b, n, [g]) => {
      const [x, e] = n.inputs as Value[];
      const c = b.g.initializers.get(e!);
      if (!c || c.data.length !== 1) throw new Error('Pow: only constant scalar exponents are differentiable');
      const p = Number(c.data[0]);
      const dx = p === 2 ? b.mulScalar(x!, 2) : b.mulScalar(b.pow(x!, p - 1), p);
      return [b.sumToShape(b.mul(g!, dx), x!), null];
    },
  },

  Neg: { infer: unarySame, vjp: (b, _n, [g]) => [b.neg(g!)] },

  Exp: { infer: unarySame, vjp: (b, n, [g]) => [b.mul(g!, n.outputs[0]!)] },

  Log: { infer: unarySame, vjp: (b, n, [g]) => [b.div(g!, n.inputs[0]!)] },

  Sqrt: {
    infer: unarySame,
    vjp: (b, n, [g]) => [b.div(b.mulScalar(g!, 0.5), n.outputs[0]!)],
  },

  Reciprocal: {
    infer: unarySame,
    vjp: (b, n, [g]) => {
      const y = n.outputs[0]!;
      return [b.neg(b.mul(g!, b.mul(y, y)))];
    },
  },

  Tanh: {
    infer: unarySame,
    vjp: (b, n, [g]) => {
      const y = n.outputs[0]!;
      return [b.mul(g!, b.sub(b.scalar(1, y.dtype), b.mul(y, y)))];
    },
  },

  Sigmoid: {
    infer: unarySame,
    vjp: (b, n, [g]) => {
      const y = n.outputs[0]!;
      return [b.mul(g!, b.mul(y, b.sub(b.scalar(1, y.dtype), y)))];
    },
  },

  Cos: { infer: unarySame, vjp: (b, n, [g]) => [b.neg(b.mul(g!, b.sin(n.inputs[0]!)))] },

  Sin: { infer: unarySame, vjp: (b, n, [g]) => [b.mul(g!, b.cos(n.inputs[0]!))] },

  Identity: { infer: unarySame, vjp: (_b, _n, [g]) => [g!] },

  Floor: { infer: unarySame },

  Where: {
    infer: (_b, ins) => {
      const [c, x, y] = ins as Value[];
      if (x!.dtype !== y!.dtype) throw new Error(`Where: dtype mismatch ${x!.dtype} vs ${y!.dtype}`);
      return [{ dtype: x!.dtype, shape: broadcastShapes(c!.shape, broadcastShapes(x!.shape, y!.shape, 'Where'), 'Where') }];
    },
    nondiff: [0],
    vjp: (b, n, [g]) => {
      const [c, x, y] = n.inputs as Value[];
      const zero = b.scalar(0, g!.dtype);
      return [null, b.sumToShape(b.where(c!, g!, zero), x!), b.sumToShape(b.where(c!, zero, g!), y!)];
    },
  },

  Cast: {
    attrs: { to: 'int' },
    infer: (_b, ins, attrs) => {
      const codes: Record<number, OutType['dtype']> = { 1: 'float32', 2: 'uint8', 3: 'int8', 6: 'int32', 7: 'int64', 9: 'bool', 10: 'float16', 11: 'float64' };
      const to = codes[attrs.to as number];
      if (!to) throw new Error(`Cast: unsupported target ${String(attrs.to)}`);
      return [{ dtype: to, shape: ins[0]!.shape }];
    },
    vjp: (b, n, [g]) => {
      const x = n.inputs[0]!;
      return [isFloat(x.dtype) && isFloat(g!.dtype) ? b.cast(g!, x.dtype) : null];
    },
  },

  Equal: { infer: compare('Equal') },

  Less: { infer: compare('Less') },

  LessOrEqual: { infer: compare('LessOrEqual') },

  Greater: { infer: compare('Greater') },

  And: { infer: compare('And') },

  Not: { infer: unarySame },
} satisfies Record<string, OpDef>;
