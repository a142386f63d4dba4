// com.microsoft MatMulBnb4 weights (transformers.js's `bnb4` files: bitsandbytes NF4 / FP4, blocks of 64 with an
// absmax per block) dequantised to a dense [out, in] float32 matrix. The op stores B as the row-major [N, K]
// matrix (N = out features) flattened and cut into blocks; two codes per byte, the first in the high nibble; a
// weight is table[code] · absmax[block] (onnxruntime contrib_ops/cpu/quantization/blockwise_quant_block_bnb4.h).

import { dense, type DenseTensor } from './weights';

/** bitsandbytes' NF4 code book (normal-float quantiles) */
export const NF4 = Float32Array.from([
  -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
  0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
]);
/** bitsandbytes' FP4 code book (sign bit first), normalised to absmax 1 */
export const FP4 = Float32Array.from([
  0, 5.208333333e-3, 0.66666667, 1, 0.33333333, 0.5, 0.16666667, 0.25, -0, -5.208333333e-3, -0.66666667, -1, -0.33333333, -0.5, -0.16666667, -0.25,
]);

export function dequantBnb4(packed: Uint8Array, absmax: Float32Array, K: number, N: number, blockSize: number, quantType: number, where: string): DenseTensor {
  const n = N * K;
  if (quantType !== 0 && quantType !== 1) throw new Error(`${where}: MatMulBnb4 quant_type ${quantType}; expected 0 (FP4) or 1 (NF4)`);
  if (!(blockSize > 0) || blockSize % 2) throw new Error(`${where}: MatMulBnb4 block_size ${blockSize}; expected a positive even number`);
  if (packed.length !== Math.ceil(n / 2)) throw new Error(`${where}: packed weight has ${packed.length} bytes; N=${N} K=${K} needs ${Math.ceil(n / 2)}`);
  if (absmax.length !== Math.ceil(n / blockSize)) throw new Error(`${where}: ${absmax.length} absmax values; N=${N} K=${K} in blocks of ${blockSize} needs ${Math.ceil(n / blockSize)}`);
  const table = quantType === 1 ? NF4 : FP4;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const byte = packed[i >> 1]!;
    const code = i & 1 ? byte & 0xf : byte >> 4;
    out[i] = table[code]! * absmax[Math.floor(i / blockSize)]!;
  }
  return dense([N, K], out);
}
