// Shape and indexing ops. Static shapes are inferred where the inputs are constants; where they are not,
// fresh symbolic dims stand in (or the caller names them through the internal `__dims` attribute).

import { broadcastShapes, normAxis } from '../shape';
import type { Builder } from '../builder';
import type { Dim, Shape, Value } from '../ir';
import type { OpDef } from './op_def';
import { constInts } from './reduce';

// an end at or past INT32_MAX means "to the end of the axis" (INT32_MAX itself is the usual sentinel)
const BIG = 2 ** 31 - 1;

function constOrNull(b: Builder, v: Value | null | undefined): number[] | null {
  const t = v ? b.g.initializers.get(v) : undefined;
  return t ? Array.from(t.data as BigInt64Array, (x) => Number(x)) : null;
}

function namedDims(attrs: Record<string, unknown>): Shape | undefined {
  return attrs.__dims as Shape | undefined;
}

export const SHAPE_OPS = {
  Shape: {
    infer: (_b, ins) => [{ dtype: 'int64', shape: [ins[0]!.rank] }],
  },

  Reshape: {
    attrs: { allowzero: 'int' },
    infer: (b, ins, attrs) => {
      const [x, s] = ins as Value[];
      const named = namedDims(attrs);
      if (named) return [{ dtype: x!.dtype, shape: named }];
      const target = constOrNull(b, s);
      if (!target) {
        const r = s!.shape[0];
        if (typeof r !== 'number') throw new Error('Reshape: runtime shape of unknown rank');
        return [{ dtype: x!.dtype, shape: Array.from({ length: r }, () => b.g.freshDim('r')) }];
      }
      const out: Dim[] = target.map((t, i) => (t === 0 ? x!.shape[i]! : t === -1 ? -1 : t));
      const minus = out.indexOf(-1);
      if (minus >= 0) {
        const known = out.filter((d, i) => i !== minus);
        const inN = x!.shape.every((d) => typeof d === 'number') ? (x!.shape as number[]).reduce((p, q) => p * q, 1) : undefined;
        if (inN !== undefined && known.every((d) => typeof d === 'number')) {
          out[minus] = inN / (known as number[]).reduce((p, q) => p * q, 1);
        } else {
          // a -1 that swallows exactly the symbolic dims of the input keeps their name when there is one
          const sym = x!.shape.filter((d) => typeof d === 'string');
          const numIn = (x!.shape.filter((d) => typeof d === 'number') as number[]).reduce((p, q) => p * q, 1);
          const numOut = (known.filter((d) => typeof d === 'number') as number[]).reduce((p, q) => p * q, 1);
          const symOut = known.filter((d) => typeof d === 'string');
          const rest = sym.filter((d) => !symOut.includes(d));
          if (rest.length === 0 && symOut.length === sym.length && numIn % numOut === 0) {
            // the symbols cancel (e.g. [B,3,4] -> [0,-1]): the -1 is static. A fresh symbol here would be assumed
            // never to be 1, and a broadcast against it would then lose its gradient reduction.
            out[minus] = numIn / numOut;
          } else out[minus] = rest.length === 1 && numIn === numOut ? rest[0]! : b.g.freshDim('r');
        }
      }
      return [{ dtype: x!.dtype, shape: out }];
    },
    nondiff: [1],
    vjp: (b, n, [g]) => {
      const x = n.inputs[0]!;
      const static_ = x.shape.every((d) => typeof d === 'number');
      return [static_ ? b.reshape(g!, x.shape as number[]) : b.reshape(g!, b.shapeOf(x), x.shape), null];
    },
  },

  Unsqueeze: {
    infer: (b, ins) => {
      const x = ins[0]!;
      const r = x.rank + constInts(b, ins[1]!, 'Unsqueeze').length;
      const axes = constInts(b, ins[1]!, 'Unsqueeze').map((a) => normAxis(a, r));
      const out: Dim[] = [];
      let j = 0;
      for (let i = 0; i < r; i++) out.push(axes.includes(i) ? 1 : x.shape[j++]!);
      return [{ dtype: x.dtype, shape: out }];
    },
    nondiff: [1],
    vjp: (b, n, [g]) => [b.squeeze(g!, constInts(b, n.inputs[1]!, 'Unsqueeze')), null],
  },

  Squeeze: {
    infer: (b, ins) => {
      const x = ins[0]!;
      const axes = constInts(b, ins[1]!, 'Squeeze').map((a) => normAxis(a, x.rank));
      for (const a of axes) if (x.shape[a] !== 1) throw new Error(`Squeeze: axis ${a} of ${x} is not 1`);
      return [{ dtype: x.dtype, shape: x.shape.filter((_d, i) => !axes.includes(i)) }];
    },
    nondiff: [1],
    vjp: (b, n, [g]) => {
      const x = n.inputs[0]!;
      const axes = constInts(b, n.inputs[1]!, 'Squeeze').map((a) => normAxis(a, x.rank));
      return [b.unsqueeze(g!, axes), null];
    },
  },

  Concat: {
    attrs: { axis: 'int' },
    infer: (b, ins, attrs) => {
      const xs = ins as Value[];
      const axis = normAxis(attrs.axis as number, xs[0]!.rank);
      const dims = xs.map((x) => x.shape[axis]!);
      const total = dims.every((d) => typeof d === 'number') ? (dims as number[]).reduce((p, q) => p + q, 0) : b.g.freshDim('c');
      const shape = [...xs[0]!.shape];
      shape[axis] = total;
      return [{ dtype: xs[0]!.dtype, shape }];
    },
    vjp: (b, n, [g]) => {
      const xs = n.inputs as Value[];
      const axis = normAxis(n.attrs.axis as number, xs[0]!.rank);
      let off = 0;
      return xs.map((x) => {
        const d = x.shape[axis];
        if (typeof d !== 'number') throw new Error('Concat VJP: symbolic concat sizes are not supported');
        const s = b.slice(g!, [off], [off + d], [axis]);
        off += d;
        return s;
      });
    },
  },

  Split: {
    // into parts of the constant sizes `split` along `axis`; the VJP concatenates the parts' gradients (zeros for
    // a part the loss does not reach)
    attrs: { axis: 'int' },
    infer: (b, ins, attrs) => {
      const x = ins[0]!;
      const axis = normAxis(attrs.axis as number, x.rank);
      const sizes = constOrNull(b, ins[1]);
      if (!sizes) throw new Error('Split: sizes must be constant');
      const d = x.shape[axis];
      const total = sizes.reduce((p, q) => p + q, 0);
      if (typeof d === 'number' && d !== total) throw new Error(`Split: sizes [${sizes}] add up to ${total}, but axis ${axis} of ${x.name} is ${d}`);
      return sizes.map((n) => ({ dtype: x.dtype, shape: x.shape.map((s, i) => (i === axis ? n : s)) }));
    },
    nondiff: [1],
    vjp: (b, n, gouts) => {
      const axis = normAxis(n.attrs.axis as number, n.inputs[0]!.rank);
      return [b.concat(n.outputs.map((o, i) => gouts[i] ?? b.zerosLike(o)), axis), null];
    },
  },

  Slice: {
    infer: (b, ins, attrs) => {
      const x = ins[0]!;
      const named = namedDims(attrs);
      if (named) return [{ dtype: x.dtype, shape: named }];
      const starts = constOrNull(b, ins[1]);
      const ends = constOrNull(b, ins[2]);
      const axes = constOrNull(b, ins[3]) ?? starts?.map((_s, i) => i);
      const steps = constOrNull(b, ins[4]);
      const shape = [...x.shape];
      if (!axes) throw new Error('Slice: axes must be constant');
      axes.forEach((a0, i) => {
        const a = normAxis(a0, x.rank);
        const d = x.shape[a]!;
        const s = starts?.[i];
        const e = ends?.[i];
        const step = steps?.[i] ?? 1;
        if (s === undefined || e === undefined || step !== 1) {
          if (typeof d === 'number' && s !== undefined && e !== undefined) {
            const lo = s < 0 ? Math.max(0, d + s) : Math.min(s, d);
            const hi = e < 0 ? Math.max(0, d + e) : Math.min(e, d);
            shape[a] = Math.max(0, Math.ceil((hi - lo) / step));
          } else shape[a] = b.g.freshDim('s');
        } else if (typeof d === 'number') {
          const lo = s < 0 ? Math.max(0, d + s) : Math.min(s, d);
          const hi = e < 0 ? Math.max(0, d + e) : Math.min(e, d);
          shape[a] = Math.max(0, hi - lo);
        } else if (s >= 0 && e >= 0 && e < BIG) {
          shape[a] = e - s; // a fixed window of a symbolic dim (assumed in range)
        } else if (s === 0 && e >= BIG) {
          shape[a] = d;
        } else shape[a] = b.g.freshDim('s');
      });
      return [{ dtype: x.dtype, shape }];
    },
    nondiff: [1, 2, 3, 4],
    vjp: (b, n, [g]) => {
      // pad the gradient back into place with zeros
      const x = n.inputs[0]!;
      const starts = constOrNull(b, n.inputs[1]);
      const ends = constOrNull(b, n.inputs[2]);
      const axes = constOrNull(b, n.inputs[3]);
      const steps = constOrNull(b, n.inputs[4]);
      if (!starts || !ends || !axes || (steps && steps.some((s) => s !== 1))) throw new Error('Slice VJP: needs constant starts/ends/axes and unit steps');
      const before = new Array<number>(x.rank).fill(0);
      const after: (number | null)[] = new Array<number | null>(x.rank).fill(0);
      axes.forEach((a0, i) => {
        const a = normAxis(a0, x.rank);
        const d = x.shape[a]!;
        const s = starts[i]!;
        const e = ends[i]!;
        if (s < 0) {
          if (typeof d !== 'number') throw new Error('Slice VJP: negative start on a symbolic dim');
          before[a] = Math.max(0, d + s);
        } else before[a] = s;
        if (e >= BIG) after[a] = 0;
        else if (e < 0) after[a] = -e;
        else after[a] = typeof d === 'number' ? Math.max(0, d - Math.min(e, d)) : null;
      });
      if (after.some((v) => v === null)) {
        // after-padding = dim - end, known only at run time
        const parts: Value[] = [b.ints(before)];
        const shp = b.shapeOf(x);
        for (let a = 0; a < x.rank; a++) {
          if (after[a] !== null) parts.push(b.ints([after[a]!]));
          else {
            const i = axes.findIndex((q) => normAxis(q, x.rank) === a);
            parts.push(b.sub(b.gather(shp, b.ints([a]), 0), b.ints([ends[i]!])));
          }
        }
        return [b.pad(g!, b.concat(parts, 0)), null, null, null, null];
      }
      return [b.pad(g!, [...before, ...(after as number[])]), null, null, null, null];
    },
  },

  Pad: {
    attrs: { mode: 'string' },
    infer: (b, ins) => {
      const x = ins[0]!;
      const pads = constOrNull(b, ins[1]);
      const shape = x.shape.map((d, i) => (pads && typeof d === 'number' ? d + pads[i]! + pads[i + x.rank]! : pads && pads[i] === 0 && pads[i + x.rank] === 0 ? d : b.g.freshDim('p')));
      return [{ dtype: x.dtype, shape }];
    },
    nondiff: [1],
  },

  Gather: {
    attrs: { axis: 'int' },
    infer: (_b, ins, attrs) => {
      const [data, idx] = ins as Value[];
      const axis = normAxis((attrs.axis as number) ?? 0, data!.rank);
      return [{ dtype: data!.dtype, shape: [...data!.shape.slice(0, axis), ...idx!.shape, ...data!.shape.slice(axis + 1)] }];
    },
    nondiff: [1],
    vjp: (b, n, [g]) => {
      // scatter-add rows back (repeated indices accumulate)
      const [data, idx] = n.inputs as Value[];
      const axis = normAxis((n.attrs.axis as number) ?? 0, data!.rank);
      if (axis !== 0 || data!.rank !== 2 || idx!.rank !== 1) throw new Error('Gather VJP: only row gathers (axis 0, 2-D data, 1-D indices)');
      const idx2 = b.expand(b.unsqueeze(idx!, [1]), b.shapeOf(g!), g!.shape);
      return [b.scatterElements(b.zerosLikeAtRunTime(data!, g!), idx2, g!, 0, 'add'), null];
    },
  },

  GatherElements: {
    attrs: { axis: 'int' },
    infer: (_b, ins) => [{ dtype: ins[0]!.dtype, shape: ins[1]!.shape }],
    nondiff: [1],
    vjp: (b, n, [g]) => {
      const [data, idx] = n.inputs as Value[];
      return [b.scatterElements(b.zerosLikeAtRunTime(data!, g!), idx!, g!, n.attrs.axis as number, 'add'), null];
    },
  },

  ScatterElements: {
    attrs: { axis: 'int', reduction: 'string' },
    infer: (_b, ins) => [{ dtype: ins[0]!.dtype, shape: ins[0]!.shape }],
  },

  Expand: {
    infer: (b, ins, attrs) => {
      const [x, s] = ins as Value[];
      const named = namedDims(attrs);
      if (named) return [{ dtype: x!.dtype, shape: broadcastShapes(x!.shape, named, 'Expand') }];
      const target = constOrNull(b, s);
      if (!target) {
        const r = s!.shape[0] as number;
        return [{ dtype: x!.dtype, shape: Array.from({ length: r }, () => b.g.freshDim('e')) }];
      }
      return [{ dtype: x!.dtype, shape: broadcastShapes(x!.shape, target, 'Expand') }];
    },
    nondiff: [1],
    vjp: (b, n, [g]) => [b.sumToShape(g!, n.inputs[0]!), null],
  },

  ConstantOfShape: {
    attrs: { value: 'tensor' },
    infer: (b, ins, attrs) => {
      const named = namedDims(attrs);
      const t = attrs.value as { dtype: Value['dtype'] };
      const shape = named ?? constOrNull(b, ins[0]) ?? Array.from({ length: ins[0]!.shape[0] as number }, () => b.g.freshDim('z'));
      return [{ dtype: t.dtype, shape }];
    },
  },

  Range: {
    infer: (b, ins, attrs) => [{ dtype: ins[0]!.dtype, shape: namedDims(attrs) ?? [b.g.freshDim('n')] }],
  },

  CumSum: {
    attrs: { exclusive: 'int', reverse: 'int' },
    infer: (_b, ins) => [{ dtype: ins[0]!.dtype, shape: ins[0]!.shape }],
  },
} satisfies Record<string, OpDef>;
