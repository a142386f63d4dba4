// Cases for the in-graph inverse-CDF sampler (src/lab/gpu_sampler.ts), shared by the wasm test and the WebGPU page:
// logits rows of the reference vocabularies (1000, Qwen's 151936, Gemma's 262144; padded and unpadded block
// layouts), flat, peaked and with −∞ entries, and uniforms from the edges of (0, 1) to its middle. The check reads
// the answer against float64: the sampled token's CDF interval [cum_{j−1}, cum_j] must hold u.

export interface SamplerCase {
  name: string;
  V: number;
  /** [B, V] row-major logits (float32 values, −∞ allowed as null for JSON) */
  logits: (number | null)[];
  B: number;
  /** one [B] uniform vector per run */
  us: number[][];
}

function lcg(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
}

function gaussianRow(V: number, scale: number, r: () => number): number[] {
  return Array.from({ length: V }, () => Math.fround(scale * Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r())));
}

const EDGES = [2 ** -24, 1e-6, 0.5, 1 - 1e-6, 1 - 2 ** -24];

export function samplerCases(): SamplerCase[] {
  const r = lcg(7);
  const small = [
    gaussianRow(1000, 2, r),
    gaussianRow(1000, 0.3, r).map((x, i) => (i === 417 ? 12 : x)), // peaked: one token holds most of the mass
    gaussianRow(1000, 1, r).map((x, i) => (i % 3 === 0 ? null : x)), // −∞: zero probability, never drawn
  ];
  const runs = (B: number, n: number) => [...EDGES.map((e) => new Array<number>(B).fill(e)), ...Array.from({ length: n }, () => Array.from({ length: B }, r))];
  return [
    { name: 'vocab 1000 (blocks of 32, padded to 1024): flat, peaked, −∞ entries', V: 1000, B: 3, logits: small.flat(), us: runs(3, 40) },
    { name: "Qwen's vocab 151936 (blocks of 512, padded)", V: 151936, B: 2, logits: [...gaussianRow(151936, 1, r), ...gaussianRow(151936, 4, r)], us: runs(2, 10) },
    { name: "Gemma's vocab 262144 (512 blocks of 512)", V: 262144, B: 1, logits: gaussianRow(262144, 2, r), us: runs(1, 6) },
  ];
}

/** For each (run, row): where u falls against the float64 CDF of that row; `miss` is how far outside its token's interval (0 = inside). */
export function checkSamples(c: SamplerCase, sampled: number[][]): { exact: number; total: number; worstMiss: number; zeroMass: number } {
  let exact = 0;
  let total = 0;
  let worstMiss = 0;
  let zeroMass = 0;
  for (let row = 0; row < c.B; row++) {
    const z = c.logits.slice(row * c.V, (row + 1) * c.V).map((x) => (x === null ? -Infinity : x));
    const m = z.reduce((a, x) => (x > a ? x : a), -Infinity);
    const p = z.map((x) => Math.exp(x - m));
    const s = p.reduce((a, x) => a + x, 0);
    const cum = new Float64Array(c.V);
    let acc = 0;
    p.forEach((x, i) => (cum[i] = acc += x / s));
    c.us.forEach((u, run) => {
      const j = sampled[run]![row]!;
      total++;
      if (!(j >= 0 && j < c.V) || p[j] === 0) {
        zeroMass++;
        return;
      }
      const lo = j ? cum[j - 1]! : 0;
      const hi = cum[j]!;
      const ur = u[row]!;
      const miss = ur < lo ? lo - ur : ur > hi ? ur - hi : 0;
      worstMiss = Math.max(worstMiss, miss);
      if (!miss) exact++;
    });
  }
  return { exact, total, worstMiss, zeroMass };
}
