// Finite-difference gradient checking for the engine's autodiff, on onnxruntime-web's wasm EP.
// A check case is a small graph fragment `build(b, inputs) -> y` over seeded random inputs. The loss is
// Σ(y ⊙ R) with a random R of y's runtime shape. The autodiff gradient of every differentiable input comes from
// one session (grad() appended to the forward); the central differences come from ONE other session that holds
// every perturbed copy of the forward side by side (one copy per ±h step of one element), so a case costs two
// sessions and two runs however many elements it perturbs.

import { expect } from 'vitest';
import type { DType, FloatDType } from '../../src/engine/dtype';
import { typedArrayFor } from '../../src/engine/dtype';
import { Graph, type Shape, type TensorData, type Value } from '../../src/engine/ir';
import { Builder } from '../../src/engine/builder';
import { grad } from '../../src/engine/autodiff';
import { createBackend, type Backend } from '../../src/engine/runtime/backend';
import { CompiledGraph, type CompileOptions } from '../../src/engine/runtime/session';
import { Rng } from '../../src/lab/rng';

export interface CaseInput {
  name: string;
  /** runtime shape */
  shape: number[];
  /** declared shape (symbolic dims such as 'B'); default: `shape` */
  decl?: Shape;
  /** default: the case's float type */
  dtype?: DType;
  /** explicit values; default: seeded uniform draws in `range` */
  data?: ArrayLike<number>;
  range?: [number, number];
  /** default: true for float inputs */
  diff?: boolean;
}

export interface GradCase {
  name: string;
  /** the registry op this case checks ('MatMul', 'com.microsoft.MatMulNBits'); must appear in the built graph */
  op: string;
  inputs: CaseInput[];
  build(b: Builder, xs: Value[]): Value;
  /** float type of the graph (default float64) */
  float?: FloatDType;
  /** finite-difference step (default 1e-5) */
  h?: number;
  /** |ad - fd| <= atol + rtol·|fd| (defaults 1e-7, 1e-6) */
  atol?: number;
  rtol?: number;
  /** ORT graph optimisation level for both sessions (default: the runtime's own, 'all') */
  optLevel?: CompileOptions['graphOptimizationLevel'];
}

export interface GradResult {
  /** forward output of the unperturbed copy */
  y: TensorData;
  /** autodiff gradients of the differentiable inputs, by input name */
  ad: Record<string, TensorData>;
  /** central-difference gradients, by input name */
  fd: Record<string, Float64Array>;
  /** op types of the forward nodes the case built */
  ops: Set<string>;
}

let backend: Promise<Backend> | undefined;
export function testBackend(): Promise<Backend> {
  // one thread: tests share two cores with other work
  backend ??= createBackend({ prefer: 'wasm', numThreads: 1 });
  return backend;
}

export function opKey(type: string, domain = ''): string {
  return domain ? `${domain}.${type}` : type;
}

function numelOf(shape: number[]): number {
  return shape.reduce((p, q) => p * q, 1);
}

/** Seeded data for a case's inputs (same seed → same numbers, so failures reproduce). */
export function materialise(c: GradCase, seed: number): TensorData[] {
  const rng = new Rng(seed);
  const float = c.float ?? 'float64';
  return c.inputs.map((inp) => {
    const dtype = inp.dtype ?? float;
    const n = numelOf(inp.shape);
    const data = typedArrayFor(dtype, n);
    const [lo, hi] = inp.range ?? [-1.5, 1.5];
    for (let i = 0; i < n; i++) {
      const v = inp.data ? inp.data[i]! : lo + (hi - lo) * rng.next();
      if (data instanceof BigInt64Array) data[i] = BigInt(v);
      else (data as Float64Array)[i] = v;
    }
    if (inp.data && inp.data.length !== n) throw new Error(`${c.name}: input ${inp.name} has ${inp.data.length} values for shape [${inp.shape}]`);
    return { dtype, shape: inp.shape, data };
  });
}

function isDiff(c: GradCase, inp: CaseInput): boolean {
  const dtype = inp.dtype ?? c.float ?? 'float64';
  return inp.diff ?? (dtype === 'float64' || dtype === 'float32');
}

export async function compileAndRun(g: Graph, feeds: Record<string, TensorData>, opts: CompileOptions = {}): Promise<Record<string, TensorData>> {
  const cg = await CompiledGraph.create(await testBackend(), g, undefined, opts);
  try {
    return await cg.run(feeds);
  } finally {
    await cg.release();
  }
}

/** A copy of `t` with element `i` moved by `d` (in the tensor's own precision). */
function perturbed(t: TensorData, i: number, d: number): TensorData {
  const data = t.data.slice() as Float64Array;
  data[i] = data[i]! + d;
  return { ...t, data };
}

/** Run the case: autodiff gradients and central differences (no assertions). */
export async function gradCheck(c: GradCase, seed = 1234): Promise<GradResult> {
  const float = c.float ?? 'float64';
  const h = c.h ?? 1e-5;
  const base = materialise(c, seed);
  const diffIdx = c.inputs.map((inp, k) => (isDiff(c, inp) ? k : -1)).filter((k) => k >= 0);

  // ---- finite differences: every perturbed copy of the forward in one graph ----
  const fg = new Graph('fd');
  const fb = new Builder(fg, float);
  const shared = c.inputs.map((inp, k) => (diffIdx.includes(k) ? null : fg.input(inp.name, base[k]!.dtype, inp.decl ?? inp.shape)));
  const feeds: Record<string, TensorData> = {};
  c.inputs.forEach((inp, k) => {
    if (shared[k]) feeds[inp.name] = base[k]!;
  });
  // copy 0 is unperturbed; then for each differentiable element, a +h and a -h copy
  const plan: { k: number; i: number; sign: number }[] = [{ k: -1, i: -1, sign: 0 }];
  for (const k of diffIdx) for (let i = 0; i < base[k]!.data.length; i++) plan.push({ k, i, sign: 1 }, { k, i, sign: -1 });
  plan.forEach((p, copy) => {
    const xs = c.inputs.map((inp, k) => {
      if (shared[k]) return shared[k]!;
      const name = `${inp.name}__${copy}`;
      feeds[name] = p.k === k ? perturbed(base[k]!, p.i, p.sign * h) : base[k]!;
      return fg.input(name, base[k]!.dtype, inp.decl ?? inp.shape);
    });
    fg.output(c.build(fb, xs), `y__${copy}`);
  });
  const opts: CompileOptions = c.optLevel ? { graphOptimizationLevel: c.optLevel } : {};
  const fout = await compileAndRun(fg, feeds, opts);
  const y = fout['y__0']!;

  // ---- the loss weights, shaped like the runtime output ----
  const rng = new Rng(seed + 1);
  const R = typedArrayFor(float, y.data.length) as Float64Array;
  for (let i = 0; i < R.length; i++) R[i] = rng.gaussian();
  const lossOf = (t: TensorData): number => {
    let s = 0;
    for (let i = 0; i < R.length; i++) s += Number(t.data[i]) * R[i]!;
    return s;
  };
  const fd: Record<string, Float64Array> = {};
  for (const k of diffIdx) fd[c.inputs[k]!.name] = new Float64Array(base[k]!.data.length);
  for (let copy = 1; copy < plan.length; copy += 2) {
    const p = plan[copy]!;
    // the step actually taken, after rounding to the input's precision
    const step = Number(feeds[`${c.inputs[p.k]!.name}__${copy}`]!.data[p.i]) - Number(feeds[`${c.inputs[p.k]!.name}__${copy + 1}`]!.data[p.i]);
    fd[c.inputs[p.k]!.name]![p.i] = (lossOf(fout[`y__${copy}`]!) - lossOf(fout[`y__${copy + 1}`]!)) / step;
  }

  // ---- autodiff ----
  const g = new Graph('ad');
  const b = new Builder(g, float);
  const xs = c.inputs.map((inp, k) => g.input(inp.name, base[k]!.dtype, inp.decl ?? inp.shape));
  const n0 = g.nodes.length;
  const yv = c.build(b, xs);
  const ops = new Set(g.nodes.slice(n0).map((n) => opKey(n.op, n.domain)));
  // the inferred shape must agree with what ORT computed (numeric dims exactly, rank always)
  expect(yv.shape.length, `${c.name}: rank of the inferred output [${yv.shape}] vs runtime [${y.shape}]`).toBe(y.shape.length);
  yv.shape.forEach((d, i) => {
    if (typeof d === 'number') expect(d, `${c.name}: inferred output dim ${i} ([${yv.shape}] vs [${y.shape}])`).toBe(y.shape[i]);
  });
  const Rv = g.input('R__', float, yv.shape);
  const prod = b.mul(yv, Rv);
  const loss = prod.rank ? b.reduceSum(prod, [...Array(prod.rank).keys()], false) : prod;
  const gs = grad(b, loss, diffIdx.map((k) => xs[k]!));
  g.output(b.identity(loss), 'loss__');
  // Identity: two inputs may receive the very same gradient value (Add), and output() renames a value
  gs.forEach((gv, j) => g.output(b.identity(gv), `grad__${c.inputs[diffIdx[j]!]!.name}`));
  const aout = await compileAndRun(g, { ...Object.fromEntries(c.inputs.map((inp, k) => [inp.name, base[k]!])), R__: { dtype: float, shape: y.shape, data: R } }, opts);
  expect(Number(aout['loss__']!.data[0]), `${c.name}: loss of the gradient graph vs the forward graph`).toBeCloseTo(lossOf(y), float === 'float64' ? 9 : 3);
  const ad: Record<string, TensorData> = {};
  for (const k of diffIdx) ad[c.inputs[k]!.name] = aout[`grad__${c.inputs[k]!.name}`]!;
  return { y, ad, fd, ops };
}

/** Assert autodiff == finite differences for every differentiable input. */
export function expectGradsMatch(c: GradCase, r: GradResult): void {
  const atol = c.atol ?? 1e-7;
  const rtol = c.rtol ?? 1e-6;
  for (const [name, fd] of Object.entries(r.fd)) {
    const ad = r.ad[name]!;
    const inp = c.inputs.find((i) => i.name === name)!;
    expect(ad.shape, `${c.name}: shape of d/d${name}`).toEqual(inp.shape);
    // worst |ad - fd| as a fraction of the allowed error at that element (<= 1 passes); NaN counts as a failure
    let worst = 0;
    let at = 0;
    for (let i = 0; i < fd.length; i++) {
      const ratio = Math.abs(Number(ad.data[i]) - fd[i]!) / (atol + rtol * Math.abs(fd[i]!));
      if (!(ratio <= worst)) {
        worst = ratio;
        at = i;
      }
    }
    if (process.env.GRADCHECK_REPORT) console.log(`[gradcheck] ${c.name} d/d${name}: worst error ${worst.toExponential(2)} of the tolerance`);
    const msg = `${c.name}: d/d${name}[${at}] autodiff ${Number(ad.data[at])} vs finite difference ${fd[at]}`;
    expect(worst, msg).toBeLessThanOrEqual(1);
  }
  // a check that compares zeros to zeros proves nothing
  const scale = Object.values(r.fd).reduce((m, f) => Math.max(m, ...Array.from(f, Math.abs)), 0);
  expect(scale, `${c.name}: every finite difference is zero`).toBeGreaterThan(1e-3);
}

/** The numbers of a tensor (int64 included) as a plain array. */
export function asNumbers(t: TensorData): number[] {
  return Array.from(t.data as ArrayLike<number | bigint>, (x) => Number(x));
}

export function f64(shape: number[], data: ArrayLike<number>): TensorData {
  return { dtype: 'float64', shape, data: Float64Array.from(data) };
}
