// A small seeded PRNG for everything random in the lab (data split, epoch shuffles, noise for the stability
// test, random baseline vectors), so that a run is reproducible from its seed in every browser and in Node.
// mulberry32: 32-bit state, passes the usual statistical batteries well enough for sampling and shuffling,
// and is a few lines of integer arithmetic that give identical streams everywhere (Math.random cannot be seeded).

/** splitmix32-style mixing of a 32-bit integer: spreads nearby seeds (0, 1, 2…) into unrelated states. */
function mix32(x: number): number {
  x = (x + 0x9e3779b9) | 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/**
 * A seed for a named sub-stream, e.g. deriveSeed(42, 'noise', 3) for the 4th noise draw of run seed 42.
 * Different parts give independent-looking streams, so adding one more random consumer never shifts the others.
 */
export function deriveSeed(seed: number, ...parts: (number | string)[]): number {
  let h = mix32(seed >>> 0);
  for (const p of parts) {
    if (typeof p === 'number') {
      h = mix32(h ^ (p >>> 0));
      // numbers above 2^32 (rare) still contribute their high bits
      h = mix32(h ^ Math.floor(p / 4294967296));
    } else {
      for (let i = 0; i < p.length; i++) h = mix32(h ^ p.charCodeAt(i));
      h = mix32(h ^ p.length);
    }
  }
  return h >>> 0;
}

export class Rng {
  private state: number;
  /** second Box–Muller value, kept so that gaussian() costs one uniform pair per two draws */
  private spare: number | null = null;

  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new Error(`Rng: seed must be a finite number, got ${seed}`);
    this.state = mix32(Math.floor(seed) >>> 0);
  }

  /** uniform 32-bit unsigned integer (mulberry32 step) */
  nextUint32(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** uniform in [0, 1) */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** uniform integer in [0, n) without modulo bias */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > 4294967296) throw new Error(`Rng.int: n must be an integer in [1, 2^32], got ${n}`);
    const limit = 4294967296 - (4294967296 % n);
    let x = this.nextUint32();
    while (x >= limit) x = this.nextUint32();
    return x % n;
  }

  /** standard normal N(0, 1) by Box–Muller */
  gaussian(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    // 1 - next() is in (0, 1], so the log is finite
    const u1 = 1 - this.next();
    const u2 = this.next();
    const r = Math.sqrt(-2 * Math.log(u1));
    const theta = 2 * Math.PI * u2;
    this.spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  }

  /** a Float32Array of n independent N(0, 1) draws */
  gaussianArray(n: number): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.gaussian();
    return out;
  }

  /** Fisher–Yates shuffle in place; returns the same array */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i]!;
      items[i] = items[j]!;
      items[j] = tmp;
    }
    return items;
  }
}

/** A seeded permutation of 0..n-1. */
export function permutation(n: number, seed: number): number[] {
  const idx = Array.from({ length: n }, (_, i) => i);
  return new Rng(seed).shuffle(idx);
}

/** A Gaussian vector scaled to unit L2 norm (the random baseline direction of the FineWeb test). */
export function randomUnitVector(d: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const v = new Float64Array(d);
  let s = 0;
  for (let i = 0; i < d; i++) {
    v[i] = rng.gaussian();
    s += v[i]! * v[i]!;
  }
  const inv = 1 / Math.sqrt(s);
  const out = new Float32Array(d);
  for (let i = 0; i < d; i++) out[i] = v[i]! * inv;
  return out;
}
