// Test-side 4-bit reference: dequantisation of the layouts ModelWeights documents (MatMulNBits, GatherBlockQuantized)
// and a small block quantizer for hand-built graphs. Written from the layout description, not from the loader.

import { floatToHalf, halfToFloat } from '../../src/engine/dtype';
import type { EmbeddingWeight, LinearWeight } from '../../src/models/weights';

type Scales = Float32Array | { f16: Uint16Array };
const scaleAt = (s: Scales, i: number) => (s instanceof Float32Array ? s[i]! : halfToFloat(s.f16[i]!));
const nibble = (bytes: Uint8Array, i: number) => (bytes[i >> 1]! >> ((i & 1) * 4)) & 15;

/** A linear weight as a dense [N out, K in] matrix: value = (code − zero point) · scale per block along K. */
export function linearMatrix(w: LinearWeight): { N: number; K: number; data: Float32Array; code?: (n: number, k: number) => number; scale?: (n: number, k: number) => number } {
  if (w.kind === 'dense') return { N: w.shape[0]!, K: w.shape[1]!, data: w.data };
  const nb = Math.ceil(w.K / w.blockSize);
  const zpr = Math.ceil(nb / 2);
  const code = (n: number, k: number) => nibble(w.packed, (n * nb + Math.floor(k / w.blockSize)) * w.blockSize + (k % w.blockSize));
  const scale = (n: number, k: number) => scaleAt(w.scales, n * nb + Math.floor(k / w.blockSize));
  const zp = (n: number, k: number) => (w.zeroPoints ? nibble(w.zeroPoints, n * zpr * 2 + Math.floor(k / w.blockSize)) : 8);
  const out = new Float32Array(w.N * w.K);
  for (let n = 0; n < w.N; n++) for (let k = 0; k < w.K; k++) out[n * w.K + k] = (code(n, k) - zp(n, k)) * scale(n, k);
  return { N: w.N, K: w.K, data: out, code, scale };
}

/** An embedding table as dense [vocab, dim] (GatherBlockQuantized: blocks along dim, default zero point 8). */
export function embeddingMatrix(e: EmbeddingWeight): { vocab: number; dim: number; data: Float32Array } {
  if (e.kind === 'dense') return { vocab: e.shape[0]!, dim: e.shape[1]!, data: e.data };
  const nb = Math.ceil(e.dim / e.blockSize);
  const zpr = Math.ceil(nb / 2);
  const out = new Float32Array(e.vocab * e.dim);
  for (let v = 0; v < e.vocab; v++)
    for (let j = 0; j < e.dim; j++) {
      const b = Math.floor(j / e.blockSize);
      const zp = e.zeroPoints ? nibble(e.zeroPoints, v * zpr * 2 + b) : 8;
      out[v * e.dim + j] = (nibble(e.packed, v * e.dim + j) - zp) * scaleAt(e.scales, v * nb + b);
    }
  return { vocab: e.vocab, dim: e.dim, data: out };
}

/**
 * Asymmetric 4-bit block quantisation of rows of W [rows, cols] along cols (min/max → 0..15 with a zero point),
 * scales stored as float16 bits: the layout of both MatMulNBits (rows = N) and GatherBlockQuantized (rows = vocab).
 */
export function quantizeRows(W: Float32Array, rows: number, cols: number, block: number): { packed: Uint8Array; scales: Uint16Array; zeroPoints: Uint8Array } {
  const nb = Math.ceil(cols / block);
  const zpr = Math.ceil(nb / 2);
  const packed = new Uint8Array(rows * nb * (block / 2));
  const scales = new Uint16Array(rows * nb);
  const zeroPoints = new Uint8Array(rows * zpr);
  for (let r = 0; r < rows; r++)
    for (let b = 0; b < nb; b++) {
      let lo = 0;
      let hi = 0;
      for (let c = b * block; c < Math.min(cols, (b + 1) * block); c++) {
        lo = Math.min(lo, W[r * cols + c]!);
        hi = Math.max(hi, W[r * cols + c]!);
      }
      // the float16 step, nudged up if rounding made it too small to span the block
      let h = floatToHalf((hi - lo) / 15 || 1);
      if (halfToFloat(h) * 15 < hi - lo) h++;
      const s = halfToFloat(h);
      const zp = Math.min(15, Math.max(0, Math.round(-lo / s)));
      scales[r * nb + b] = h;
      zeroPoints[r * zpr + (b >> 1)]! |= zp << ((b & 1) * 4);
      for (let c = b * block; c < Math.min(cols, (b + 1) * block); c++) {
        const q = Math.min(15, Math.max(0, Math.round(W[r * cols + c]! / s) + zp));
        const i = (r * nb + b) * block + (c - b * block);
        packed[i >> 1]! |= q << ((i & 1) * 4);
      }
    }
  return { packed, scales, zeroPoints };
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
