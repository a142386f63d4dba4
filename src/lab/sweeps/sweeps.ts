// The paper's sweeps over a trained vector (SCIENCE.md): efficiency (loss vs norm, Fig 4a), stability (loss
// under orthogonal noise, Fig 4b) and pre-training significance (KL on FineWeb vs norm, Fig 6). Each point is
// also available alone (efficiencyPoint, stabilityPoint, finewebKlPoint) for the UI's sliders; the sweeps call
// the same functions, so a slider lands exactly on the plotted curve.

import { Rng, deriveSeed, randomUnitVector } from '../rng';
import { vectorNorm as norm } from '../vectors/norm';

/** What the sweeps evaluate: the vector evaluators (evaluator.ts) and the adapter ones (adapters/evaluator.ts). */
export interface LossEvaluator {
  loss(x: Float32Array): Promise<number>;
}
export interface KlEvaluator {
  kl(x: Float32Array): Promise<number>;
  readonly model: { config: { hiddenSize: number } };
  /** parameters per evaluated point (an adapter's θ); default the model width (a steering vector) */
  readonly size?: number;
}

import { EFFICIENCY_SCALES, STABILITY_EPS } from './grids';

export { EFFICIENCY_SCALES, STABILITY_EPS };

export function scaled(v: Float32Array, factor: number): Float32Array {
  return Float32Array.from(v, (x) => x * factor);
}

/** v rescaled to norm n (zero stays zero). */
export function withNorm(v: Float32Array, n: number): Float32Array {
  const m = norm(v);
  return m === 0 ? new Float32Array(v.length) : scaled(v, n / m);
}

export interface EfficiencyPoint {
  scale?: number;
  norm: number;
  loss: number;
  /** L(θ)/‖θ‖² (undefined at norm 0) */
  lossPerNormSq?: number;
}

/** One efficiency point: the loss of `effective` (α·v) rescaled by `scale` × its own norm, or to absolute `norm`. */
export async function efficiencyPoint(ev: LossEvaluator, effective: Float32Array, at: { scale: number } | { norm: number }): Promise<EfficiencyPoint> {
  const vec = 'scale' in at ? scaled(effective, at.scale) : withNorm(effective, at.norm);
  const n = norm(vec);
  const loss = await ev.loss(vec);
  return { ...('scale' in at ? { scale: at.scale } : {}), norm: n, loss, lossPerNormSq: n > 0 ? loss / (n * n) : undefined };
}

/** Loss at scale × the vector's own norm for each scale, and at each absolute norm. `effective` is α·v. */
export async function efficiencySweep(ev: LossEvaluator, effective: Float32Array, opts: { scales?: number[]; norms?: number[]; signal?: AbortSignal; onPoint?: (p: EfficiencyPoint, i: number, n: number) => void } = {}): Promise<{ byScale: EfficiencyPoint[]; byNorm: EfficiencyPoint[] }> {
  const scales = opts.scales ?? EFFICIENCY_SCALES;
  const norms = opts.norms ?? [];
  const total = scales.length + norms.length;
  const check = () => {
    if (opts.signal?.aborted) throw new DOMException('cancelled', 'AbortError');
  };
  const byScale: EfficiencyPoint[] = [];
  for (const s of scales) {
    check();
    byScale.push(await efficiencyPoint(ev, effective, { scale: s }));
    opts.onPoint?.(byScale.at(-1)!, byScale.length - 1, total);
  }
  const byNorm: EfficiencyPoint[] = [];
  for (const n of norms) {
    check();
    byNorm.push(await efficiencyPoint(ev, effective, { norm: n }));
    opts.onPoint?.(byNorm.at(-1)!, scales.length + byNorm.length - 1, total);
  }
  return { byScale, byNorm };
}

/**
 * x' = √(1−ε²)·x + ε·y, y Gaussian noise made orthogonal to x (Gram–Schmidt) and rescaled to ‖x‖,
 * so ‖x'‖ = ‖x‖ and the angle between x and x' is asin(ε).
 */
export function perturb(x: Float32Array, eps: number, seed: number): Float32Array {
  if (!(eps >= 0 && eps <= 1)) throw new Error(`ε must be in [0, 1], got ${eps}`);
  const d = x.length;
  const rng = new Rng(deriveSeed(seed, 'stability-noise'));
  const y = new Float64Array(d);
  for (let i = 0; i < d; i++) y[i] = rng.gaussian();
  const nx = norm(x);
  if (nx === 0) return Float32Array.from(x);
  let dot = 0;
  for (let i = 0; i < d; i++) dot += y[i]! * x[i]!;
  for (let i = 0; i < d; i++) y[i]! -= (dot / (nx * nx)) * x[i]!;
  const ny = norm(y);
  const a = Math.sqrt(1 - eps * eps);
  return Float32Array.from(x, (xi, i) => a * xi + eps * (y[i]! / ny) * nx);
}

export interface StabilityPoint {
  eps: number;
  /** relative loss increase, % (0 = trained vector, 100 = unsteered) */
  mean: number;
  sd: number;
  perSeed: number[];
}

/** The two losses the relative increase is measured between: the trained vector's and the unsteered model's. */
export async function stabilityReference(ev: LossEvaluator, effective: Float32Array): Promise<{ lossTrained: number; lossChat: number }> {
  const lossTrained = await ev.loss(effective);
  const lossChat = await ev.loss(new Float32Array(effective.length));
  if (!(Math.abs(lossChat - lossTrained) > 0)) throw new Error('the vector does not change the loss (L(chat) = L(x)); stability is undefined');
  return { lossTrained, lossChat };
}

/**
 * One stability point: relative loss increase at ε over `seeds` noise draws (noise seed i is
 * deriveSeed(seed, i), the same draws the sweep makes). `ref` from stabilityReference, computed once per vector.
 */
export async function stabilityPoint(ev: LossEvaluator, effective: Float32Array, eps: number, ref: { lossTrained: number; lossChat: number }, opts: { seeds?: number; seed?: number; signal?: AbortSignal } = {}): Promise<StabilityPoint> {
  const seeds = opts.seeds ?? 10;
  const denom = ref.lossChat - ref.lossTrained;
  const perSeed: number[] = [];
  for (let s = 0; s < seeds; s++) {
    if (opts.signal?.aborted) throw new DOMException('cancelled', 'AbortError');
    const l = await ev.loss(perturb(effective, eps, deriveSeed(opts.seed ?? 0, s)));
    perSeed.push(((l - ref.lossTrained) / denom) * 100);
  }
  const mean = perSeed.reduce((a, b) => a + b, 0) / perSeed.length;
  const sd = perSeed.length > 1 ? Math.sqrt(perSeed.reduce((a, b) => a + (b - mean) ** 2, 0) / (perSeed.length - 1)) : 0;
  return { eps, mean, sd, perSeed };
}

/** Relative loss increase (L(x') − L(x)) / (L(chat) − L(x)) × 100 over an ε grid and noise seeds. */
export async function stabilitySweep(ev: LossEvaluator, effective: Float32Array, opts: { eps?: number[]; seeds?: number; seed?: number; signal?: AbortSignal; onPoint?: (p: StabilityPoint, i: number, n: number) => void } = {}): Promise<{ lossTrained: number; lossChat: number; points: StabilityPoint[] }> {
  const epsGrid = opts.eps ?? STABILITY_EPS;
  const ref = await stabilityReference(ev, effective);
  const points: StabilityPoint[] = [];
  for (const eps of epsGrid) {
    points.push(await stabilityPoint(ev, effective, eps, ref, { seeds: opts.seeds, seed: opts.seed, signal: opts.signal }));
    opts.onPoint?.(points.at(-1)!, points.length - 1, epsGrid.length);
  }
  return { ...ref, points };
}

export interface KlPoint {
  norm: number;
  kl: number;
}

/** One FineWeb point: mean per-token KL with the direction `dir` rescaled to norm `n`. */
export async function finewebKlPoint(ev: KlEvaluator, dir: Float32Array, n: number): Promise<KlPoint> {
  return { norm: n, kl: await ev.kl(withNorm(dir, n)) };
}

/**
 * Mean per-token KL on pre-training text for each named vector rescaled to each norm, plus random unit Gaussian
 * directions (one curve per seed) as the baseline.
 */
export async function finewebKlSweep(ev: KlEvaluator, vectors: Record<string, Float32Array>, opts: { norms: number[]; randomSeeds?: number[]; signal?: AbortSignal; onPoint?: (name: string, p: KlPoint) => void }): Promise<Record<string, KlPoint[]>> {
  const d = ev.size ?? ev.model.config.hiddenSize;
  const dirs: [string, Float32Array][] = Object.entries(vectors);
  for (const s of opts.randomSeeds ?? []) dirs.push([`random_${s}`, randomUnitVector(d, s)]);
  const out: Record<string, KlPoint[]> = {};
  for (const [name, dir] of dirs) {
    if (norm(dir) === 0) throw new Error(`vector ${name} is zero; it has no direction to rescale`);
    out[name] = [];
    for (const n of opts.norms) {
      if (opts.signal?.aborted) throw new DOMException('cancelled', 'AbortError');
      const p = await finewebKlPoint(ev, dir, n);
      out[name]!.push(p);
      opts.onPoint?.(name, p);
    }
  }
  return out;
}
