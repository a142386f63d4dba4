// PCA of steering-vector trajectories (Fig 5): stack the checkpoints of several runs, standardise each coordinate
// (mean 0, sd 1 over all stacked checkpoints; constant coordinates stay 0), and project on the top k components.
// There are far fewer checkpoints (n, hundreds) than coordinates (d, 896…5120), so the eigenproblem is solved on
// the n×n Gram matrix G = Z·Zᵀ rather than the d×d covariance: G's eigenvectors u_i give the scores
// Z·v_i = √λ_i·u_i and the components v_i = Zᵀu_i/√λ_i, and λ_i/(n−1) is the variance along v_i.
// Small n: cyclic Jacobi on G (exact, all eigenvalues; O(n³) per sweep). Larger n: block subspace iteration with Rayleigh–Ritz,
// which only needs G·Q products and converges on the top few eigenpairs.

import { Rng } from './rng';

export interface PcaRun {
  name: string;
  /** checkpoints in training order, each of length d */
  checkpoints: ArrayLike<number>[];
}

export interface PcaOptions {
  /** number of components (default 5; capped at the number of checkpoints) */
  k?: number;
  /** 'auto' (default): Jacobi up to JACOBI_MAX_N checkpoints, subspace iteration above */
  method?: 'auto' | 'jacobi' | 'subspace';
}

export interface PcaResult {
  n: number;
  d: number;
  k: number;
  /** per-coordinate mean and standard deviation (population, as sklearn's StandardScaler); sd 0 = constant */
  mean: Float64Array;
  sd: Float64Array;
  /** k unit vectors in the standardised space; sign fixed so that each one's largest-magnitude entry is positive */
  components: Float64Array[];
  /** variance along each component (eigenvalue / (n − 1)) */
  explainedVariance: number[];
  /** share of the total standardised variance */
  explainedVarianceRatio: number[];
  /** per run, per checkpoint, the k coordinates */
  projections: { name: string; coords: number[][] }[];
}

export const JACOBI_MAX_N = 64;

/**
 * Eigen-decomposition of a symmetric n×n matrix (row-major) by cyclic Jacobi rotations.
 * Returns eigenvalues in descending order and the matching eigenvectors as columns of `vectors` (row-major n×n).
 */
export function jacobiEigen(matrix: ArrayLike<number>, n: number, maxSweeps = 100): { values: Float64Array; vectors: Float64Array } {
  if (matrix.length !== n * n) throw new Error(`jacobiEigen: expected ${n}×${n} = ${n * n} entries, got ${matrix.length}`);
  const a = Float64Array.from(matrix);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  let total = 0;
  for (let i = 0; i < n * n; i++) total += a[i]! * a[i]!;
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q]! * a[p * n + q]!;
    if (off <= 1e-30 * total || off === 0) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q]!;
        if (apq === 0) continue;
        const app = a[p * n + p]!;
        const aqq = a[q * n + q]!;
        // rotation angle that zeroes a[p][q]: t = tan(φ) is the smaller root of t² + 2θt − 1 = 0
        const theta = (aqq - app) / (2 * apq);
        const t = Math.abs(theta) > 1e150 ? 1 / (2 * theta) : (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        // A ← A·J (columns p, q), then A ← Jᵀ·A (rows p, q); V ← V·J
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p]!;
          const akq = a[k * n + q]!;
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k]!;
          const aqk = a[q * n + k]!;
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p]!;
          const vkq = v[k * n + q]!;
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => a[j * n + j]! - a[i * n + i]!);
  const values = Float64Array.from(order, (i) => a[i * n + i]!);
  const vectors = new Float64Array(n * n);
  order.forEach((src, dst) => {
    for (let k = 0; k < n; k++) vectors[k * n + dst] = v[k * n + src]!;
  });
  return { values, vectors };
}

/** y = G·x for the symmetric n×n G */
function symMatVec(g: Float64Array, n: number, x: Float64Array, y: Float64Array): void {
  for (let i = 0; i < n; i++) {
    let s = 0;
    const row = i * n;
    for (let j = 0; j < n; j++) s += g[row + j]! * x[j]!;
    y[i] = s;
  }
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** Modified Gram–Schmidt in place; a column that collapses (rank-deficient G) is replaced by a fresh random one. */
function orthonormalize(cols: Float64Array[], rng: Rng): void {
  for (let j = 0; j < cols.length; j++) {
    for (let attempt = 0; ; attempt++) {
      const c = cols[j]!;
      const before = Math.sqrt(dot(c, c));
      for (let i = 0; i < j; i++) {
        const r = dot(cols[i]!, c);
        for (let t = 0; t < c.length; t++) c[t]! -= r * cols[i]![t]!;
      }
      const norm = Math.sqrt(dot(c, c));
      if (norm > 1e-10 * Math.max(before, 1e-300) && norm > 0) {
        for (let t = 0; t < c.length; t++) c[t]! /= norm;
        break;
      }
      if (attempt > 5) throw new Error('pca: cannot orthonormalise the iteration block');
      for (let t = 0; t < c.length; t++) c[t] = rng.gaussian();
    }
  }
}

/** Top-k eigenpairs of the symmetric n×n G by block subspace iteration with Rayleigh–Ritz. */
export function topEigenSubspace(g: Float64Array, n: number, k: number, opts: { tol?: number; maxIter?: number; seed?: number } = {}): { values: Float64Array; vectors: Float64Array[] } {
  const tol = opts.tol ?? 1e-11;
  const maxIter = opts.maxIter ?? 5000;
  const b = Math.min(n, k + 8); // oversampling speeds convergence when λ_k and λ_{k+1} are close
  const rng = new Rng(opts.seed ?? 12345);
  let q = Array.from({ length: b }, () => Float64Array.from({ length: n }, () => rng.gaussian()));
  orthonormalize(q, rng);
  const y = Array.from({ length: b }, () => new Float64Array(n));
  let values = new Float64Array(k);
  let vectors: Float64Array[] = [];
  for (let iter = 0; iter < maxIter; iter++) {
    for (let j = 0; j < b; j++) symMatVec(g, n, q[j]!, y[j]!);
    // Rayleigh–Ritz: H = Qᵀ G Q, its eigenvectors W rotate Q into Ritz vectors U = Q·W (and G·U = Y·W)
    const h = new Float64Array(b * b);
    for (let i = 0; i < b; i++) for (let j = i; j < b; j++) h[i * b + j] = h[j * b + i] = dot(q[i]!, y[j]!);
    const { values: theta, vectors: w } = jacobiEigen(h, b);
    const u = Array.from({ length: b }, () => new Float64Array(n));
    const gu = Array.from({ length: b }, () => new Float64Array(n));
    for (let c = 0; c < b; c++) {
      for (let j = 0; j < b; j++) {
        const wjc = w[j * b + c]!;
        if (wjc === 0) continue;
        const qj = q[j]!, yj = y[j]!, uc = u[c]!, guc = gu[c]!;
        for (let t = 0; t < n; t++) {
          uc[t]! += wjc * qj[t]!;
          guc[t]! += wjc * yj[t]!;
        }
      }
    }
    values = theta.slice(0, k);
    vectors = u.slice(0, k);
    const scale = Math.max(Math.abs(theta[0]!), 1e-300);
    let worst = 0;
    for (let c = 0; c < k; c++) {
      let r2 = 0;
      for (let t = 0; t < n; t++) {
        const r = gu[c]![t]! - theta[c]! * u[c]![t]!;
        r2 += r * r;
      }
      worst = Math.max(worst, Math.sqrt(r2) / scale);
    }
    if (worst < tol) break;
    q = gu;
    orthonormalize(q, rng);
  }
  return { values, vectors };
}

/** PCA of the stacked checkpoints of several runs. */
export function pcaTrajectories(runs: PcaRun[], opts: PcaOptions = {}): PcaResult {
  const rows: ArrayLike<number>[] = [];
  for (const r of runs) for (const c of r.checkpoints) rows.push(c);
  if (rows.length === 0) throw new Error('pca: no checkpoints to analyse');
  const d = rows[0]!.length;
  if (d === 0) throw new Error('pca: checkpoints are empty vectors');
  for (const r of runs) {
    r.checkpoints.forEach((c, i) => {
      if (c.length !== d) throw new Error(`pca: run "${r.name}" checkpoint ${i} has ${c.length} coordinates, expected ${d}`);
    });
  }
  const n = rows.length;
  const k = Math.max(1, Math.min(opts.k ?? 5, n));

  // standardise (two passes in float64, so that a constant coordinate comes out with sd ≈ 0, not noise)
  const mean = new Float64Array(d);
  for (const x of rows) for (let j = 0; j < d; j++) mean[j]! += x[j]!;
  for (let j = 0; j < d; j++) mean[j]! /= n;
  const sd = new Float64Array(d);
  for (const x of rows) {
    for (let j = 0; j < d; j++) {
      const e = x[j]! - mean[j]!;
      sd[j]! += e * e;
    }
  }
  for (let j = 0; j < d; j++) {
    const s = Math.sqrt(sd[j]! / n);
    sd[j] = s <= 1e-12 * Math.abs(mean[j]!) ? 0 : s;
  }
  for (let j = 0; j < d; j++) {
    if (!Number.isFinite(mean[j]!) || !Number.isFinite(sd[j]!)) throw new Error(`pca: coordinate ${j} is not finite in some checkpoint`);
  }
  const z = rows.map((x) => {
    const out = new Float64Array(d);
    for (let j = 0; j < d; j++) out[j] = sd[j] === 0 ? 0 : (x[j]! - mean[j]!) / sd[j]!;
    return out;
  });

  const g = new Float64Array(n * n);
  let trace = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) g[i * n + j] = g[j * n + i] = dot(z[i]!, z[j]!);
    trace += g[i * n + i]!;
  }

  const method = opts.method ?? 'auto';
  let lambdas: number[];
  let us: Float64Array[];
  if (method === 'jacobi' || (method === 'auto' && n <= JACOBI_MAX_N)) {
    const { values, vectors } = jacobiEigen(g, n);
    lambdas = Array.from(values.subarray(0, k));
    us = Array.from({ length: k }, (_, c) => Float64Array.from({ length: n }, (_, i) => vectors[i * n + c]!));
  } else {
    const { values, vectors } = topEigenSubspace(g, n, k);
    lambdas = Array.from(values);
    us = vectors;
  }

  const components: Float64Array[] = [];
  const scores: Float64Array[] = [];
  for (let c = 0; c < k; c++) {
    // rounding can leave a tiny negative eigenvalue for a null direction; such a component carries no variance
    const lam = lambdas[c]! > 1e-12 * Math.max(trace, 1e-300) ? lambdas[c]! : 0;
    lambdas[c] = lam;
    const v = new Float64Array(d);
    const sc = new Float64Array(n);
    if (lam > 0) {
      const u = us[c]!;
      const inv = 1 / Math.sqrt(lam);
      for (let i = 0; i < n; i++) {
        const ui = u[i]! * inv;
        const zi = z[i]!;
        for (let j = 0; j < d; j++) v[j]! += ui * zi[j]!;
      }
      // sign convention (sklearn's svd_flip on components): largest |entry| positive
      let big = 0;
      for (let j = 0; j < d; j++) if (Math.abs(v[j]!) > Math.abs(v[big]!) + 1e-12) big = j;
      if (v[big]! < 0) for (let j = 0; j < d; j++) v[j] = 0 - v[j]!; // 0 − x, not −x: no −0 for unused coordinates
      for (let i = 0; i < n; i++) sc[i] = dot(z[i]!, v);
    }
    components.push(v);
    scores.push(sc);
  }

  const projections: PcaResult['projections'] = [];
  let row = 0;
  for (const r of runs) {
    const coords: number[][] = [];
    for (let i = 0; i < r.checkpoints.length; i++, row++) coords.push(scores.map((s) => s[row]!));
    projections.push({ name: r.name, coords });
  }
  return {
    n,
    d,
    k,
    mean,
    sd,
    components,
    explainedVariance: lambdas.map((l) => (n > 1 ? l / (n - 1) : 0)),
    explainedVarianceRatio: lambdas.map((l) => (trace > 0 ? l / trace : 0)),
    projections,
  };
}

/** Coordinates of a new vector (e.g. the live slider point) in a fitted PCA. */
export function projectPoint(pca: PcaResult, x: ArrayLike<number>): number[] {
  if (x.length !== pca.d) throw new Error(`projectPoint: vector has ${x.length} coordinates, the PCA has ${pca.d}`);
  const z = new Float64Array(pca.d);
  for (let j = 0; j < pca.d; j++) z[j] = pca.sd[j] === 0 ? 0 : (x[j]! - pca.mean[j]!) / pca.sd[j]!;
  return pca.components.map((v) => dot(z, v));
}
