// Numbers as the panels show them.

export function formatBytes(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '?';
  const u = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1000 && i < u.length - 1) {
    n /= 1000;
    i++;
  }
  return `${n.toFixed(n >= 100 || i === 0 ? 0 : 1)} ${u[i]}`;
}

export function formatDuration(sec: number): string {
  if (!Number.isFinite(sec) || sec < 0) return '–';
  if (sec < 60) return `${Math.round(sec)} s`;
  if (sec < 3600) return `${Math.floor(sec / 60)} min ${Math.round(sec % 60)} s`;
  return `${Math.floor(sec / 3600)} h ${Math.round((sec % 3600) / 60)} min`;
}

export function fmt(x: number | undefined | null, digits = 3): string {
  if (x === undefined || x === null || !Number.isFinite(x)) return '–';
  if (x !== 0 && (Math.abs(x) < 1e-3 || Math.abs(x) >= 1e5)) return x.toExponential(2);
  return x.toFixed(digits);
}

/** A KL divergence as shown: KL ≥ 0 by definition, so float noise below zero (−1.26e-8 from a float32 softmax) is 0. */
export function klShown(x: number): number {
  return x > 0 ? x : Number.isNaN(x) ? x : 0;
}

export function fmtKl(x: number | undefined | null, digits = 4): string {
  if (x === undefined || x === null) return '–';
  const k = klShown(x);
  return k === 0 ? '0' : fmt(k, digits);
}

export { noun, plural } from '../../engine/plural';

/** A fraction in [0, 1] as a percentage: 0.1 → "10 %" */
export function pct(f: number, digits = 0): string {
  return `${(f * 100).toFixed(digits)} %`;
}
