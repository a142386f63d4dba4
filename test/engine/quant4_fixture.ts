// 4-bit weights packed in the layout of com.microsoft MatMulNBits, written here from the contrib-op spec (not
// from the engine): B [N, nBlocks, blockSize/2] uint8, two 4-bit values per byte, low nibble first, blocks along
// K with the last one zero-padded; scales [N·nBlocks]; optional zero points [N·ceil(nBlocks/2)] packed the same
// way; absent zero points mean 8.

import { Rng } from '../../src/lab/rng';

export interface Packed4 {
  packed: Uint8Array;
  scales: Float32Array;
  zeroPoints: Uint8Array | null;
  N: number;
  K: number;
  blockSize: number;
}

export function quantize4(W: Float64Array, N: number, K: number, blockSize: number, withZeroPoints: boolean): Packed4 {
  const nb = Math.ceil(K / blockSize);
  const half = blockSize / 2;
  const zRow = Math.ceil(nb / 2);
  const packed = new Uint8Array(N * nb * half);
  const scales = new Float32Array(N * nb);
  const zeroPoints = withZeroPoints ? new Uint8Array(N * zRow) : null;
  for (let n = 0; n < N; n++) {
    for (let blk = 0; blk < nb; blk++) {
      const vals: number[] = [];
      for (let j = 0; j < blockSize && blk * blockSize + j < K; j++) vals.push(W[n * K + blk * blockSize + j]!);
      let scale: number;
      let z: number;
      if (withZeroPoints) {
        const mn = Math.min(0, ...vals);
        const mx = Math.max(0, ...vals);
        scale = (mx - mn) / 15 || 1;
        z = Math.min(15, Math.max(0, Math.round(-mn / scale)));
        zeroPoints![n * zRow + (blk >> 1)]! |= z << ((blk & 1) * 4);
      } else {
        scale = Math.max(...vals.map(Math.abs)) / 7 || 1;
        z = 8;
      }
      scales[n * nb + blk] = scale;
      for (let j = 0; j < blockSize; j++) {
        // padding past K quantises to the zero point (value 0)
        const q = j < vals.length ? Math.min(15, Math.max(0, Math.round(vals[j]! / scale) + z)) : z;
        packed[(n * nb + blk) * half + (j >> 1)]! |= q << ((j & 1) * 4);
      }
    }
  }
  return { packed, scales, zeroPoints, N, K, blockSize };
}

/** W [N, K] read back from the bytes, independently of the engine's in-graph dequantisation. */
export function dequantizeRef(p: Packed4): Float64Array {
  const { N, K, blockSize } = p;
  const nb = Math.ceil(K / blockSize);
  const zRow = Math.ceil(nb / 2);
  const W = new Float64Array(N * K);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) {
      const blk = Math.floor(k / blockSize);
      const j = k % blockSize;
      const byte = p.packed[(n * nb + blk) * (blockSize / 2) + (j >> 1)]!;
      const q = j & 1 ? byte >> 4 : byte & 15;
      const z = p.zeroPoints ? (p.zeroPoints[n * zRow + (blk >> 1)]! >> ((blk & 1) * 4)) & 15 : 8;
      W[n * K + k] = (q - z) * p.scales[n * nb + blk]!;
    }
  }
  return W;
}

/** n seeded N(0,1) draws */
export function randomMatrix(n: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  return Float64Array.from({ length: n }, () => rng.gaussian());
}
