// The graph layer around the autodiff: static shape inference (checked against what ORT computes), ONNX
// serialisation (dead code dropped, round trip through decodeModel), and the errors users meet first.

import { describe, it, expect, beforeAll } from 'vitest';
import { Graph, type Dim, type Shape, type TensorData, type Value } from '../../src/engine/ir';
import { Builder } from '../../src/engine/builder';
import { grad } from '../../src/engine/autodiff';
import { serialize } from '../../src/engine/onnx/serialize';
import { decodeModel, toNum, type OnnxValueInfo } from '../../src/engine/onnx/proto';
import { CompiledGraph } from '../../src/engine/runtime/session';
import { asNumbers, compileAndRun, f64, testBackend } from './gradcheck_harness';

beforeAll(async () => {
  await testBackend();
});

function seq(n: number, scale = 0.1, offset = 0): Float64Array {
  return Float64Array.from({ length: n }, (_v, i) => offset + scale * (((i * 7) % 11) - 5));
}

describe('shape inference', () => {
  it('infers representative ops, symbolic dims included, and agrees with ORT at run time', async () => {
    const g = new Graph();
    const b = new Builder(g, 'float64');
    const x = g.input('x', 'float64', ['B', 'T', 4]);
    const w = g.input('w', 'float64', [4, 3]);
    const v = g.input('v', 'float64', ['T', 1]);
    const ids = g.input('ids', 'int64', ['B', 'T']);
    const emb = g.input('emb', 'float64', [5, 4]);
    const expected: [string, Value, Shape][] = [];
    const want = (name: string, val: Value, shape: Shape) => expected.push([name, val, shape]);

    want('matmul', b.matmul(x, w), ['B', 'T', 3]);
    want('add_bcast', b.add(b.unsqueeze(v, [0]), x), ['B', 'T', 4]);
    want('reshape_0_m1', b.reshape(x, [0, -1]), ['B', 'T*4']);
    want('reshape_m1_fresh', b.reshape(x, [-1, 4]), ['?', 4]);
    want('reduce_keep', b.reduceSum(x, [-1], true), ['B', 'T', 1]);
    want('reduce_drop', b.reduceMean(x, [0, -1], false), ['T']);
    want('slice_window', b.slice(x, [1], [3], [1]), ['B', 2, 4]);
    want('slice_tail', b.slice(x, [0, 2], [2 ** 31 - 1, 4], [1, 2]), ['B', 'T', 2]);
    want('gather', b.gather(emb, ids, 0), ['B', 'T', 4]);
    want('unsqueeze', b.unsqueeze(w, [0, -1]), [1, 4, 3, 1]);
    want('transpose', b.transpose(x, [2, 0, 1]), [4, 'B', 'T']);
    want('concat', b.concat([w, w], 0), [8, 3]);
    want('softmax', b.softmax(x, 1), ['B', 'T', 4]);
    want('where', b.where(b.greater(v, b.scalar(0)), x, b.scalar(1)), ['B', 'T', 4]);
    want('cast', b.cast(ids, 'float32'), ['B', 'T']);
    want('expand', b.expand(b.reduceMax(x, [0], true), b.shapeOf(x), x.shape), ['B', 'T', 4]);

    // static expectations (read from ONNX semantics); '?' and 'T*4' stand for a fresh symbol
    for (const [name, val, shape] of expected) {
      expect(val.shape.length, name).toBe(shape.length);
      val.shape.forEach((d, i) => {
        const e = shape[i]!;
        if (e === '?' || e === 'T*4') expect(typeof d, `${name} dim ${i}`).toBe('string');
        else expect(d, `${name} dim ${i}`).toBe(e);
      });
      g.output(val, name);
    }
    expect(b.cast(ids, 'float32').dtype).toBe('float32');
    expect(b.greater(v, b.scalar(0)).dtype).toBe('bool');

    // and at run time ORT agrees, with B = 2, T = 3 (each fresh symbol is bound consistently)
    const out = await compileAndRun(g, {
      x: f64([2, 3, 4], seq(24)),
      w: f64([4, 3], seq(12)),
      v: f64([3, 1], seq(3)),
      ids: { dtype: 'int64', shape: [2, 3], data: BigInt64Array.from([0n, 1n, 4n, 2n, 2n, 3n]) },
      emb: f64([5, 4], seq(20)),
    });
    const bind = new Map<Dim, number>([
      ['B', 2],
      ['T', 3],
    ]);
    for (const [name, val] of expected) {
      const rt = out[name]!.shape;
      expect(rt.length, name).toBe(val.shape.length);
      val.shape.forEach((d, i) => {
        if (typeof d === 'number') expect(rt[i], `${name} dim ${i}`).toBe(d);
        else if (bind.has(d)) expect(rt[i], `${name} dim ${i} (${d})`).toBe(bind.get(d));
        else bind.set(d, rt[i]!);
      });
    }
    expect(out.reshape_0_m1!.shape).toEqual([2, 12]);
  });

  it('names the operands when shapes or dtypes do not fit', () => {
    const g = new Graph();
    const b = new Builder(g, 'float32');
    const a = g.input('a', 'float32', [2, 3]);
    const c = g.input('c', 'float32', [4, 3]);
    const d = g.input('d', 'float64', [2, 3]);
    expect(() => b.add(a, c)).toThrow(/Add: shapes \[2,3\] and \[4,3\] do not broadcast/);
    expect(() => b.mul(a, d)).toThrow(/Mul: dtype mismatch float32 vs float64 \(a, d\)/);
    expect(() => b.matmul(a, c)).toThrow(/MatMul: inner dims 3 != 4/);
    expect(() => b.squeeze(a, [0])).toThrow(/Squeeze: axis 0 of a:float32\[2,3\] is not 1/);
    expect(() => b.reduceSum(a, [2])).toThrow(/axis 2 out of range for rank 2/);
    expect(() => b.matmulNBits(a, a, a, null, 8, 4, 16)).toThrow(/MatMulNBits: input has 3 features, weight expects K=8/);
  });

  it('keeps the symbolic name when a -1 swallows exactly one symbol', () => {
    const g = new Graph();
    const b = new Builder(g);
    const x = g.input('x', 'float32', ['B', 3, 4]);
    expect(b.reshape(x, [-1, 12]).shape).toEqual(['B', 12]);
    expect(b.reshape(x, [0, -1]).shape).toEqual(['B', 12]);
    const y = b.reshape(x, [-1, 4]).shape[0];
    expect(typeof y === 'string' && y !== 'B').toBe(true);
  });

  it('saturates out-of-range int64 constants instead of wrapping them', () => {
    const g = new Graph();
    const b = new Builder(g);
    const c = b.ints([2 ** 63, -(2 ** 64), Infinity, -Infinity, 7]);
    expect(Array.from(g.initializers.get(c)!.data as BigInt64Array)).toEqual([2n ** 63n - 1n, -(2n ** 63n), 2n ** 63n - 1n, -(2n ** 63n), 7n]);
    expect(() => b.ints([1.5])).toThrow(/1\.5/);
  });
});

describe('builder rewrites', () => {
  it('a transpose of a transpose is one transpose with the composed permutation, and none when they cancel', async () => {
    const g = new Graph();
    const b = new Builder(g, 'float64');
    const x = g.input('x', 'float64', [2, 3, 4]);
    const once = b.transpose(x, [1, 2, 0]);
    const twice = b.transpose(once, [2, 0, 1]); // undoes it
    expect(twice).toBe(x);
    const y = b.transpose(b.transpose(x, [0, 2, 1]), [2, 0, 1]);
    expect(y.shape).toEqual([3, 2, 4]);
    expect(y.producer!.inputs[0]).toBe(x);
    g.output(y, 'y');
    expect(decodeModel(serialize(g).bytes).graph!.node!.map((n) => n.op_type)).toEqual(['Transpose']);
    const data = Float64Array.from({ length: 24 }, (_v, i) => i);
    const out = asNumbers((await compileAndRun(g, { x: { dtype: 'float64', shape: [2, 3, 4], data } })).y!);
    // transposing [0,2,1] then [2,0,1] reads x's axes in the order (1, 0, 2): y[i][j][k] = x[j][i][k]
    const want: number[] = [];
    for (let i = 0; i < 3; i++) for (let j = 0; j < 2; j++) for (let k = 0; k < 4; k++) want.push(data[j * 12 + i * 4 + k]!);
    expect(out).toEqual(want);
  });
});

describe('serialize for graph capture: int32Inputs, fixDims', () => {
  it('declares int64 inputs int32 and widens them in the graph: same outputs from int32 feeds', async () => {
    const g = new Graph('narrow');
    const b = new Builder(g, 'float32');
    const table = g.input('table', 'float32', ['V', 2]);
    const ids = g.input('ids', 'int64', ['B']);
    g.output(b.gather(table, ids, 0), 'rows');
    g.output(b.cast(b.add(ids, b.ints([1])), 'float32'), 'next');
    const narrow = serialize(g, { int32Inputs: true });
    const m = decodeModel(narrow.bytes).graph!;
    expect(m.input!.map((i) => [i.name, i.type!.tensor_type!.elem_type])).toEqual([['table', 1], ['ids', 6]]);
    expect(m.node![0]!.op_type).toBe('Cast');
    expect(m.node!.slice(1).every((n) => !n.input!.includes('ids'))).toBe(true);
    const be = await testBackend();
    const table32 = { dtype: 'float32' as const, shape: [4, 2], data: Float32Array.from([0, 1, 10, 11, 20, 21, 30, 31]) };
    const wide = await CompiledGraph.create(be, g);
    const want = await wide.run({ table: table32, ids: { dtype: 'int64', shape: [3], data: BigInt64Array.from([3n, 0n, 2n]) } });
    const session = await be.ort.InferenceSession.create(narrow.bytes);
    const got = await session.run({ table: new be.ort.Tensor('float32', table32.data, [4, 2]), ids: new be.ort.Tensor('int32', Int32Array.from([3, 0, 2]), [3]) });
    expect(Array.from(got.rows!.data as Float32Array)).toEqual(Array.from(want.rows!.data as Float32Array));
    expect(Array.from(got.next!.data as Float32Array)).toEqual([4, 1, 3]);
    await session.release();
    await wide.release();
  });

  it('fixDims writes the sizes into the input declarations (other shapes are then refused)', async () => {
    const g = new Graph('fixed');
    const b = new Builder(g, 'float32');
    const x = g.input('x', 'float32', ['B', 'T', 3]);
    g.output(b.reduceSum(x, [1], false), 'y');
    const m = decodeModel(serialize(g, { fixDims: { B: 2, T: 5 } }).bytes).graph!;
    expect((m.input![0]!.type!.tensor_type!.shape!.dim ?? []).map((d) => (d.dim_param ? d.dim_param : toNum(d.dim_value)))).toEqual([2, 5, 3]);
    const be = await testBackend();
    const session = await be.ort.InferenceSession.create(serialize(g, { fixDims: { B: 2, T: 5 } }).bytes);
    await expect(session.run({ x: new be.ort.Tensor('float32', new Float32Array(2 * 4 * 3), [2, 4, 3]) })).rejects.toThrow(/dim|shape|Got/i);
    const ok = await session.run({ x: new be.ort.Tensor('float32', new Float32Array(30).fill(1), [2, 5, 3]) });
    expect(Array.from(ok.y!.data as Float32Array)).toEqual(new Array(6).fill(5));
    await session.release();
  });
});

describe('serialize', () => {
  /** a private, aligned copy of decoded bytes (protobufjs hands out views into the whole message in Node) */
  function own(bytes: Uint8Array): ArrayBuffer {
    return Uint8Array.from(bytes).buffer;
  }
  function dims(vi: OnnxValueInfo): (number | string)[] {
    return (vi.type!.tensor_type!.shape!.dim ?? []).map((d) => (d.dim_param ? d.dim_param : toNum(d.dim_value)));
  }

  it('drops dead nodes, unused inputs and unused constants; round-trips through decodeModel', () => {
    const g = new Graph('rt');
    const b = new Builder(g, 'float32');
    const x = g.input('x', 'float32', ['B', 3]);
    g.input('unused', 'float32', [2]);
    const w = g.weight('layer.w', 'float32', [3, 3]);
    const deadOnly = b.scalar(5); // used by the dead branch only
    b.mul(b.exp(x), deadOnly); // dead: never reaches an output
    const y = b.softmax(b.add(b.matmul(x, b.transpose(w, [1, 0])), b.scalar(0.25)), -1);
    b.cast(b.reduceMax(x, [-1], false), 'int64'); // dead too
    const s = b.scatterElements(b.zerosLike(x), b.unsqueeze(b.ints([0, 1]), [0]), b.slice(x, [0], [2], [1]), 1, 'add');
    g.output(y, 'probs');
    g.output(s, 'scattered');

    const ser = serialize(g);
    expect(ser.inputs.map((v) => v.name)).toEqual(['x', 'layer.w']);
    const m = decodeModel(ser.bytes);
    const graph = m.graph!;
    expect(graph.name).toBe('rt');
    expect(graph.input!.map((i) => i.name)).toEqual(['x', 'layer.w']);
    expect(dims(graph.input![0]!)).toEqual(['B', 3]);
    expect(graph.input![0]!.type!.tensor_type!.elem_type).toBe(1);
    expect(graph.output!.map((o) => o.name)).toEqual(['probs', 'scattered']);
    // outputs declare their element type only (their dims are not a contract ORT should check)
    expect(graph.output!.map((o) => o.type!.tensor_type!.elem_type)).toEqual([1, 1]);
    const ops = graph.node!.map((n) => n.op_type);
    expect(ops).not.toContain('Exp');
    expect(ops).not.toContain('Cast');
    expect(ops).not.toContain('ReduceMax');
    expect(ops).toEqual(expect.arrayContaining(['Transpose', 'MatMul', 'Add', 'Softmax', 'Shape', 'ConstantOfShape', 'Unsqueeze', 'Slice', 'ScatterElements']));
    // constants: the dead scalar 5 is gone, the 0.25 kept with its bytes
    const inits = new Map(graph.initializer!.map((t) => [t.name!, t]));
    const floats = [...inits.values()].filter((t) => t.data_type === 1).map((t) => [...new Float32Array(own(t.raw_data!))]);
    expect(floats).toEqual([[0.25]]);
    expect(inits.has(deadOnly.name)).toBe(false);
    // attributes of each kind survive; internal ones (__dims) are not written
    const attr = (op: string, name: string) => graph.node!.find((n) => n.op_type === op)!.attribute!.find((a) => a.name === name);
    expect(attr('Transpose', 'perm')!.ints!.map(toNum)).toEqual([1, 0]);
    expect(toNum(attr('Softmax', 'axis')!.i)).toBe(-1);
    expect(new TextDecoder().decode(attr('ScatterElements', 'reduction')!.s)).toBe('add');
    const cos = attr('ConstantOfShape', 'value')!.t!;
    expect(cos.data_type).toBe(1);
    expect(Array.from(new Float32Array(own(cos.raw_data!)))).toEqual([0]);
    expect(attr('ConstantOfShape', '__dims')).toBeUndefined();
    // node inputs refer only to names that exist
    const known = new Set([...graph.input!.map((i) => i.name!), ...inits.keys(), ...graph.node!.flatMap((n) => n.output!)]);
    for (const n of graph.node!) for (const i of n.input!) expect(known.has(i) || i === '', `${n.name} input ${i}`).toBe(true);
    const ints = [...inits.values()].find((t) => t.data_type === 7 && t.dims!.map(toNum).join() === '2');
    expect(Array.from(new BigInt64Array(own(ints!.raw_data!)))).toEqual([0n, 1n]);
    expect(m.opset_import!.map((o) => [o.domain, toNum(o.version)])).toEqual([['', 18]]);
  });

  it('types attributes from the op declaration: a float attribute equal to 1.0 is written FLOAT, and ORT runs it', async () => {
    const g = new Graph();
    const b = new Builder(g, 'float32');
    const a = g.input('a', 'float32', [2, 3]);
    const w = g.input('w', 'float32', [2, 3]);
    // alpha = 1 (a JS number that looks like an int) and beta = 2.5 with no C: Y = alpha · A·Bᵀ
    const y = b.one('Gemm', [a, w], { transB: 1, alpha: 1, beta: 2.5 });
    g.output(y, 'y');
    const gemm = decodeModel(serialize(g).bytes).graph!.node!.find((n) => n.op_type === 'Gemm')!;
    const byName = Object.fromEntries(gemm.attribute!.map((x) => [x.name, x]));
    expect(byName.alpha!.type).toBe(1); // AttributeProto.FLOAT
    expect(byName.alpha!.f).toBe(1);
    expect(byName.beta!.type).toBe(1);
    expect(byName.transB!.type).toBe(2); // INT
    expect(toNum(byName.transB!.i)).toBe(1);
    const out = await compileAndRun(g, {
      a: { dtype: 'float32', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) },
      w: { dtype: 'float32', shape: [2, 3], data: Float32Array.from([1, 0, -1, 0.5, 0.5, 0.5]) },
    });
    expect(asNumbers(out.y!)).toEqual([-2, 3, -2, 7.5]);
  });

  it('refuses an attribute the op does not declare, or one whose value does not fit the declared type', () => {
    const g = new Graph();
    const b = new Builder(g, 'float32');
    const x = g.input('x', 'float32', [2, 3]);
    g.output(b.one('Softmax', [x], { axis: -1, temperature: 2 }), 'y');
    expect(() => serialize(g)).toThrow('attribute temperature of Softmax is not declared in the op table');
    const g2 = new Graph();
    const b2 = new Builder(g2, 'float32');
    const x2 = g2.input('x', 'float32', [2, 3]);
    g2.output(b2.one('Softmax', [x2], { axis: 0.5 }), 'y');
    expect(() => serialize(g2)).toThrow('attribute axis of Softmax: value 0.5 is not a valid int');
  });

  it('a subset of outputs keeps only what they need, and contrib ops declare their domain', () => {
    const g = new Graph();
    const b = new Builder(g, 'float32');
    const a = g.input('a', 'float32', ['B', 32]);
    const packed = g.input('packed', 'uint8', [2, 2, 8]);
    const scales = g.input('scales', 'float32', [4]);
    const q = b.matmulNBits(a, packed, scales, null, 32, 2, 16);
    const plain = b.tanh(a);
    g.output(q, 'q');
    g.output(plain, 'plain');
    const only = serialize(g, { outputs: [plain] });
    expect(only.inputs.map((v) => v.name)).toEqual(['a']);
    const m1 = decodeModel(only.bytes);
    expect(m1.graph!.node!.map((n) => n.op_type)).toEqual(['Tanh']);
    expect(m1.opset_import!.map((o) => o.domain)).toEqual(['']);
    const m2 = decodeModel(serialize(g).bytes);
    const nb = m2.graph!.node!.find((n) => n.op_type === 'MatMulNBits')!;
    expect(nb.domain).toBe('com.microsoft');
    expect(Object.fromEntries(nb.attribute!.map((x) => [x.name, toNum(x.i)]))).toEqual({ K: 32, N: 2, bits: 4, block_size: 16 });
    expect(m2.opset_import!.map((o) => [o.domain, toNum(o.version)])).toEqual([
      ['', 18],
      ['com.microsoft', 1],
    ]);
    expect(() => serialize(new Graph())).toThrow(/no outputs/);
  });

  it('rejects a graph output that is a graph input, weight or constant, saying what to do', () => {
    const g = new Graph();
    const b = new Builder(g);
    const x = g.input('x', 'float32', [2]);
    const w = g.weight('w', 'float32', [2]);
    expect(() => g.output(x)).toThrow(/output x is a graph input; wrap it in an Identity first/);
    expect(() => g.output(w, 'w_out')).toThrow(/is a graph input; wrap it in an Identity first/);
    expect(() => g.output(b.scalar(3))).toThrow(/is a graph input; wrap it in an Identity first/);
    expect(g.output(b.identity(x), 'x_copy').name).toBe('x_copy');
  });
});

describe('grad', () => {
  it('says when the loss does not depend on the parameters', () => {
    const g = new Graph();
    const b = new Builder(g, 'float64');
    const x = g.input('x', 'float64', [3]);
    const p = g.input('p', 'float64', [3]);
    const loss = b.reduceSum(b.exp(x), [0], false);
    expect(() => grad(b, loss, [p])).toThrow(/loss ReduceSum_\d+ does not depend on p/);
  });

  it('names an op without a VJP that lies on the path', () => {
    const g = new Graph();
    const b = new Builder(g, 'float64');
    const x = g.input('x', 'float64', [3]);
    const loss = b.reduceSum(b.mul(b.floor(x), x), [0], false);
    expect(() => grad(b, loss, [x])).toThrow(/op Floor \(Floor_\d+\) lies between the parameters and the loss but has no VJP/);
    const loss2 = b.reduceSum(b.cumsum(x, 0), [0], false);
    expect(() => grad(b, loss2, [x])).toThrow(/op CumSum .* has no VJP/);
  });

  it('says when a parameter gets no gradient, and when a non-scalar loss has no seed', () => {
    const g = new Graph();
    const b = new Builder(g, 'float64');
    const x = g.input('x', 'float64', [3]);
    const z = g.input('z', 'float64', [3]);
    // z only reaches the loss through integer indices, which carry no gradient
    const picked = b.gather(b.unsqueeze(x, [1]), b.cast(b.floor(b.mulScalar(b.sigmoid(z), 2.9)), 'int64'), 0);
    const loss = b.reduceSum(b.mul(picked, picked), [0, 1], false);
    expect(() => grad(b, loss, [x, z])).toThrow(/no gradient reached z/);
    expect(() => grad(b, b.exp(x), [x])).toThrow(/is not a scalar \(shape \[3\]\); pass a seed/);
  });

  it('VJPs that only cover part of an op say which part', () => {
    const g = new Graph();
    const b = new Builder(g, 'float64');
    const x = g.input('x', 'float64', ['T', 4]);
    const sumOf = (v: Value) => b.reduceSum(v, [...Array(v.rank).keys()], false);
    expect(() => grad(b, sumOf(b.slice(x, [0], [4], [1], [2])), [x])).toThrow(/Slice VJP: needs constant starts\/ends\/axes and unit steps/);
    expect(() => grad(b, sumOf(b.slice(x, [-2], [1000], [0])), [x])).toThrow(/Slice VJP: negative start on a symbolic dim/);
    expect(() => grad(b, sumOf(b.gather(x, b.ints([0, 1]), 1)), [x])).toThrow(/Gather VJP: only row gathers/);
    const p = g.input('p', 'float64', []);
    expect(() => grad(b, sumOf(b.one('Pow', [x, p])), [x])).toThrow(/Pow: only constant scalar exponents are differentiable/);
  });

  it('sums gradients that meet at a value (x used twice, and a diamond)', async () => {
    const g = new Graph();
    const b = new Builder(g, 'float64');
    const x = g.input('x', 'float64', ['B', 3]);
    // L = Σ x·x + sin(x) + tanh(x)² + tanh(x)
    const h = b.tanh(x);
    const loss = b.reduceSum(b.add(b.add(b.mul(x, x), b.sin(x)), b.add(b.mul(h, h), h)), [0, 1], false);
    const [gx] = grad(b, loss, [x]);
    g.output(gx!, 'gx');
    const xs = seq(6, 0.3, 0.1);
    const out = await compileAndRun(g, { x: f64([2, 3], xs) });
    const got = asNumbers(out.gx!);
    xs.forEach((v, i) => {
      const t = Math.tanh(v);
      expect(got[i]).toBeCloseTo(2 * v + Math.cos(v) + (2 * t + 1) * (1 - t * t), 12);
    });
  });

  it('a seed makes a vector-Jacobian product of a non-scalar output', async () => {
    const g = new Graph();
    const b = new Builder(g, 'float64');
    const x = g.input('x', 'float64', [4]);
    const seed = g.input('seed', 'float64', [4]);
    const y = b.exp(x);
    const [gx] = grad(b, y, [x], { seed });
    g.output(gx!, 'gx');
    const xs = seq(4);
    const ss = [1, -2, 0.5, 3];
    const out = await compileAndRun(g, { x: f64([4], xs), seed: f64([4], ss) });
    asNumbers(out.gx!).forEach((v, i) => expect(v).toBeCloseTo(ss[i]! * Math.exp(xs[i]!), 12));
  });
});

describe('CompiledGraph', () => {
  it('names the missing feed and lists what the graph needs', async () => {
    const g = new Graph();
    const b = new Builder(g, 'float64');
    const x = g.input('x', 'float64', [2]);
    const scale = g.input('scale', 'float64', [2]);
    g.input('not_needed', 'float64', [2]);
    g.output(b.mul(x, scale), 'y');
    const cg = await CompiledGraph.create(await testBackend(), g);
    try {
      expect(cg.feedNames).toEqual(['x', 'scale']);
      await expect(cg.run({ x: f64([2], [1, 2]) })).rejects.toThrow("missing input 'scale' (this graph needs: x, scale)");
      const ok = await cg.run({ x: f64([2], [1, 2]), scale: f64([2], [3, 4]) } as Record<string, TensorData>);
      expect(asNumbers(ok.y!)).toEqual([3, 8]);
    } finally {
      await cg.release();
    }
  });
});
