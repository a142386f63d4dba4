// 4-bit weight ops (com.microsoft). The forward runs ORT's MatMulNBits kernel on the packed weights; its VJP
// with respect to the activations needs Wᵀ, which MatMulNBits cannot express (its blocks run along K), so the
// backward dequantises the same packed bytes in-graph (GatherBlockQuantized) and uses a plain MatMul: one copy of
// the weights, the gradient exactly consistent with the forward's dequantised values.

import type { Builder } from '../builder';
import type { Value } from '../ir';
import type { OpDef } from './op_def';

/**
 * W [N, K] (float) from MatMulNBits' packed uint8 [N, nBlocks, block/2], scales [N*nBlocks], zero points
 * (uint8 [N*ceil(nBlocks/2)] nibbles, or null for the default 8). Symmetric weights (the onnx-community q4 files)
 * take one GatherBlockQuantized over all N rows: the same packing (low nibble first, blocks along K) that
 * onnxruntime-genai shares between its embedding and LM head, so one kernel per weight instead of the dozen
 * elementwise ones an in-graph unpacking takes (the backward of every 4-bit linear runs this, every step).
 */
export function dequantizeNBits(b: Builder, packed: Value, scales: Value, zeroPoints: Value | null, K: number, N: number, blockSize: number, float = b.float): Value {
  // float64 graphs need the exact product, and onnxruntime's WebGPU GatherBlockQuantized wants zero points shaped
  // like the scales (one per block, not MatMulNBits' two per byte): both keep the elementwise unpacking.
  if (float === 'float64' || zeroPoints) return dequantizeNBitsElementwise(b, packed, scales, zeroPoints, K, N, blockSize, float);
  const nBlocks = Math.ceil(K / blockSize);
  const data = b.reshape(packed, [N, (nBlocks * blockSize) / 2]);
  const sc = b.reshape(scales, [N, nBlocks]);
  let w = b.gatherBlockQuantized(data, b.iota(N), sc, null, blockSize); // [N, nBlocks*blockSize] in the scales' type
  if (nBlocks * blockSize !== K) w = b.slice(w, [0], [K], [1]);
  return w.dtype === float ? w : b.cast(w, float);
}

/** The elementwise unpacking: for float64 graphs (GatherBlockQuantized computes in the scales' float32) and zero points. */
function dequantizeNBitsElementwise(b: Builder, packed: Value, scales: Value, zeroPoints: Value | null, K: number, N: number, blockSize: number, float = b.float): Value {
  const nBlocks = Math.ceil(K / blockSize);
  const q = b.cast(packed, float); // [N, nb, bs/2]
  const hi = b.floor(b.mulScalar(q, 1 / 16));
  const lo = b.sub(q, b.mulScalar(hi, 16));
  // low nibble first: element 2j is lo, 2j+1 is hi
  const pairs = b.concat([b.unsqueeze(lo, [3]), b.unsqueeze(hi, [3])], 3); // [N, nb, bs/2, 2]
  const vals = b.reshape(pairs, [N, nBlocks, blockSize]);
  let zp: Value;
  if (zeroPoints) {
    const zq = b.cast(zeroPoints, float); // [N * ceil(nb/2)] packed nibbles
    const zPerRow = Math.ceil(nBlocks / 2);
    const z2 = b.reshape(zq, [N, zPerRow]);
    const zhi = b.floor(b.mulScalar(z2, 1 / 16));
    const zlo = b.sub(z2, b.mulScalar(zhi, 16));
    const zz = b.reshape(b.concat([b.unsqueeze(zlo, [2]), b.unsqueeze(zhi, [2])], 2), [N, zPerRow * 2]);
    zp = b.unsqueeze(zPerRow * 2 === nBlocks ? zz : b.slice(zz, [0], [nBlocks], [1]), [2]);
  } else {
    zp = b.scalar(8, float);
  }
  const sc = b.reshape(b.cast(scales, float), [N, nBlocks, 1]);
  const w = b.reshape(b.mul(b.sub(vals, zp), sc), [N, nBlocks * blockSize]);
  return nBlocks * blockSize === K ? w : b.slice(w, [0], [K], [1]);
}

export const QUANT_OPS = {
  MatMulNBits: {
    attrs: { K: 'int', N: 'int', bits: 'int', block_size: 'int', accuracy_level: 'int' },
    domain: 'com.microsoft',
    infer: (_b, ins, attrs) => {
      const a = ins[0]!;
      const K = attrs.K as number;
      const last = a.shape[a.rank - 1];
      if (typeof last === 'number' && last !== K) throw new Error(`MatMulNBits: input has ${last} features, weight expects K=${K}`);
      return [{ dtype: a.dtype, shape: [...a.shape.slice(0, -1), attrs.N as number] }];
    },
    nondiff: [1, 2, 3],
    vjp: (b, n, [g]) => {
      const [, packed, scales, zp] = n.inputs;
      const { K, N, block_size } = n.attrs as { K: number; N: number; block_size: number };
      const w = dequantizeNBits(b, packed!, scales!, zp ?? null, K, N, block_size, g!.dtype as 'float32');
      return [b.matmul(g!, w), null, null, null];
    },
  },

  GatherBlockQuantized: {
    attrs: { block_size: 'int', gather_axis: 'int', quantize_axis: 'int', bits: 'int' },
    domain: 'com.microsoft',
    infer: (_b, ins) => {
      const [data, idx, scales] = ins as Value[];
      const dim = (data!.shape[1] as number) * 2;
      return [{ dtype: scales!.dtype, shape: [...idx!.shape, dim] }];
    },
  },
} satisfies Record<string, OpDef>;
