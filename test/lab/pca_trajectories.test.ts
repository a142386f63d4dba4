// PCA on hand-checked cases (a line, a correlated plane with a constant coordinate), the duality with the
// d×d covariance route, and agreement of the Jacobi and subspace-iteration paths.
import { describe, it, expect } from 'vitest';
import { pcaTrajectories, projectPoint, jacobiEigen, topEigenSubspace } from '../../src/lab/pca';
import { Rng } from '../../src/lab/rng';

describe('jacobiEigen', () => {
  it('diagonalises a 3×3 symmetric matrix with known eigenvalues', () => {
    // [[2,1,0],[1,2,0],[0,0,5]]: eigenvalues 5, 3 (vector (1,1,0)/√2), 1 (vector (1,−1,0)/√2)
    const { values, vectors } = jacobiEigen([2, 1, 0, 1, 2, 0, 0, 0, 5], 3);
    expect(Array.from(values)).toEqual([expect.closeTo(5, 12), expect.closeTo(3, 12), expect.closeTo(1, 12)]);
    const col = (c: number) => [0, 1, 2].map((i) => vectors[i * 3 + c]!);
    expect(Math.abs(col(0)[2]!)).toBeCloseTo(1, 12);
    expect(Math.abs(col(1)[0]! - col(1)[1]!)).toBeLessThan(1e-12);
    expect(Math.abs(col(1)[0]!)).toBeCloseTo(Math.SQRT1_2, 12);
    expect(col(2)[0]! + col(2)[1]!).toBeCloseTo(0, 12);
  });

  it('rejects a wrongly sized matrix', () => {
    expect(() => jacobiEigen([1, 2, 3], 2)).toThrow(/2×2/);
  });
});

describe('pcaTrajectories: analytic cases', () => {
  it('points on a line: one component along the standardised direction, 100% of the variance', () => {
    // x = c + s·a, a = (1, 2, −3). Standardising each coordinate maps it to ±(s − s̄)/σ_s, so PC1 = (1, 1, −1)/√3
    // and the scores are √3·(s − s̄)/σ_s; with s = −2…2, σ_s = √2 (population sd).
    const a = [1, 2, -3], c0 = [10, -4, 0.5];
    const s = [-2, -1, 0, 1, 2];
    const pts = s.map((t) => c0.map((c, j) => c + t * a[j]!));
    const res = pcaTrajectories([{ name: 'line', checkpoints: pts }], { k: 3 });
    expect(res.k).toBe(3);
    expect(res.explainedVarianceRatio[0]).toBeCloseTo(1, 12);
    expect(res.explainedVarianceRatio[1]).toBeCloseTo(0, 12);
    // variance along PC1 = total standardised variance·n/(n−1) = 3·5/4
    expect(res.explainedVariance[0]).toBeCloseTo(15 / 4, 10);
    const inv3 = 1 / Math.sqrt(3);
    expect(Array.from(res.components[0]!)).toEqual([expect.closeTo(inv3, 10), expect.closeTo(inv3, 10), expect.closeTo(-inv3, 10)]);
    const expected = s.map((t) => (Math.sqrt(3) * t) / Math.SQRT2);
    res.projections[0]!.coords.forEach((xy, i) => {
      expect(xy[0]).toBeCloseTo(expected[i]!, 10);
      expect(Math.abs(xy[1]!)).toBeLessThan(1e-9);
    });
  });

  it('a correlated plane plus a constant coordinate: eigenvalues 1 ± ρ of the correlation matrix', () => {
    // coordinates a = (1, −1, 0, 0), b = (1, −1, 1, −1), c = 7 constant.
    // var a = 1/2, var b = 1, cov = 1/2 → ρ = 1/√2; PCs (1, 1, 0)/√2 and (1, −1, 0)/√2 in standardised space.
    const pts = [
      [1, 1, 7],
      [-1, -1, 7],
      [0, 1, 7],
      [0, -1, 7],
    ];
    const res = pcaTrajectories(
      [
        { name: 'first', checkpoints: pts.slice(0, 3) },
        { name: 'second', checkpoints: pts.slice(3) },
      ],
      { k: 2 },
    );
    const rho = Math.SQRT1_2;
    expect(res.sd[2]).toBe(0);
    expect(res.explainedVarianceRatio[0]).toBeCloseTo((2 + rho * 2) / 4, 12); // (1+ρ)/2 of the 2 non-constant units
    expect(res.explainedVarianceRatio[1]).toBeCloseTo((1 - rho) / 2, 12);
    expect(res.explainedVariance[0]).toBeCloseTo((4 * (1 + rho)) / 3, 10);
    const h = Math.SQRT1_2;
    expect(Array.from(res.components[0]!)).toEqual([expect.closeTo(h, 10), expect.closeTo(h, 10), 0]);
    expect(Array.from(res.components[1]!)).toEqual([expect.closeTo(h, 10), expect.closeTo(-h, 10), 0]);
    // hand-computed scores: z = ((a)/√(1/2), b), score1 = (z_a + z_b)/√2
    const za = [1, -1, 0, 0].map((v) => v * Math.SQRT2);
    const zb = [1, -1, 1, -1];
    const all = [...res.projections[0]!.coords, ...res.projections[1]!.coords];
    all.forEach((xy, i) => {
      expect(xy[0]).toBeCloseTo((za[i]! + zb[i]!) * h, 10);
      expect(xy[1]).toBeCloseTo((za[i]! - zb[i]!) * h, 10);
    });
    expect(res.projections.map((p) => [p.name, p.coords.length])).toEqual([
      ['first', 3],
      ['second', 1],
    ]);
    // projecting a stacked checkpoint again gives its own coordinates
    expect(projectPoint(res, pts[2]!)).toEqual([expect.closeTo(all[2]![0]!, 10), expect.closeTo(all[2]![1]!, 10)]);
  });

  it('k is capped at the number of checkpoints; errors name the run and checkpoint', () => {
    const res = pcaTrajectories([{ name: 'r', checkpoints: [[0, 1], [1, 0]] }]);
    expect(res.k).toBe(2);
    expect(() => pcaTrajectories([])).toThrow(/no checkpoints/);
    expect(() => pcaTrajectories([{ name: 'ok', checkpoints: [[1, 2]] }, { name: 'bad', checkpoints: [[1, 2], [1, 2, 3]] }])).toThrow(
      /run "bad" checkpoint 1 has 3 coordinates, expected 2/,
    );
    expect(() => projectPoint(res, [1, 2, 3])).toThrow(/3 coordinates/);
  });
});

/** A random trajectory set with planted low-dimensional structure: smooth curves in a few directions + noise. */
function plantedRuns(nRuns: number, len: number, d: number, seed: number) {
  const rng = new Rng(seed);
  const dirs = Array.from({ length: 4 }, () => rng.gaussianArray(d));
  return Array.from({ length: nRuns }, (_, r) => ({
    name: `run${r}`,
    checkpoints: Array.from({ length: len }, (_, t) => {
      const s = t / len;
      const w = [s * (1 + r), Math.sin(3 * s + r), s * s * (r - 1), 0.3 * Math.cos(5 * s)];
      const x = new Float32Array(d);
      for (let j = 0; j < d; j++) x[j] = w.reduce((acc, wi, i) => acc + wi * dirs[i]![j]!, 0) + 0.05 * rng.gaussian();
      return x;
    }),
  }));
}

describe('pcaTrajectories: numerical agreement', () => {
  it('Gram-matrix eigenvalues equal the d×d covariance eigenvalues (n > d case)', () => {
    const runs = plantedRuns(2, 20, 6, 1);
    const res = pcaTrajectories(runs, { k: 5 });
    // covariance route in the standardised space: C = ZᵀZ (d×d), from the same standardisation
    const z = runs.flatMap((r) => r.checkpoints).map((x) => Array.from(x, (v, j) => (v - res.mean[j]!) / res.sd[j]!));
    const d = 6;
    const cov = new Float64Array(d * d);
    for (const row of z) for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) cov[i * d + j]! += row[i]! * row[j]!;
    const { values } = jacobiEigen(cov, d);
    const n = z.length;
    for (let c = 0; c < 5; c++) expect(res.explainedVariance[c]).toBeCloseTo(values[c]! / (n - 1), 9);
    // ratios sum to ≤ 1, and to 1 over all d components
    const total = Array.from(values).reduce((a, b) => a + b, 0);
    expect(total).toBeCloseTo(n * d, 8);
  });

  it('subspace iteration matches Jacobi on 150 checkpoints of dimension 64', () => {
    const runs = plantedRuns(5, 30, 64, 2);
    const exact = pcaTrajectories(runs, { k: 5, method: 'jacobi' });
    const iter = pcaTrajectories(runs, { k: 5, method: 'subspace' });
    for (let c = 0; c < 5; c++) {
      expect(iter.explainedVarianceRatio[c]).toBeCloseTo(exact.explainedVarianceRatio[c]!, 9);
      for (let j = 0; j < 64; j++) expect(iter.components[c]![j]).toBeCloseTo(exact.components[c]![j]!, 6);
    }
    exact.projections.forEach((p, r) =>
      p.coords.forEach((xy, i) => xy.forEach((v, c) => expect(iter.projections[r]!.coords[i]![c]).toBeCloseTo(v, 5))),
    );
    // the planted structure: 4 directions carry nearly all the variance
    const top4 = exact.explainedVarianceRatio.slice(0, 4).reduce((a, b) => a + b, 0);
    expect(top4).toBeGreaterThan(0.95);
  });

  it('subspace iteration copes with a rank-deficient Gram matrix', () => {
    // G = u·uᵀ, rank 1
    const n = 30;
    const u = Float64Array.from({ length: n }, (_, i) => Math.sin(i + 1));
    const g = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) g[i * n + j] = u[i]! * u[j]!;
    const { values } = topEigenSubspace(g, n, 3);
    const uu = u.reduce((a, b) => a + b * b, 0);
    expect(values[0]).toBeCloseTo(uu, 9);
    expect(Math.abs(values[1]!)).toBeLessThan(1e-9);
  });
});
