// Ops onnxruntime runs as one kernel where our elementwise parts took many, with their VJPs. On a GPU each kernel
// costs a roughly fixed dispatch time in onnxruntime's WebGPU EP (a 4×128 train step on an H200 spends ~70 ms in
// kernels and ~200 ms in total), so kernel count is the first-order cost of every graph.
//   RotaryEmbedding (com.microsoft): rotate-half RoPE; 7 kernels forward and ~8 backward from parts, twice a layer.
// float32 only (float64 graphs, the gradient checks' precision, build the same maths from parts in models/rope.ts).
// Measured and not taken: RMS norm as one SimplifiedLayerNormalization (same H200 run, same build otherwise:
// train step 228 vs 196 ms, cached step 267 vs 163 ms without it; onnxruntime then fuses it into its
// MatMulNBitsQkv/Mlp kernels, and its inv_std output on WebGPU disagreed with the CPU's).

import type { OpDef } from './op_def';

export const FUSED_OPS = {
  RotaryEmbedding: {
    // inputs x [B, S, heads·hd], position_ids (int64 [1] = first position, or [B, S]), cos and sin caches
    // [positions, hd/2]; rotate-half (interleaved 0) over the whole head
    domain: 'com.microsoft',
    attrs: { interleaved: 'int', num_heads: 'int', rotary_embedding_dim: 'int', scale: 'float' },
    infer: (_b, [x]) => [{ dtype: x!.dtype, shape: x!.shape }],
    nondiff: [1, 2, 3],
    vjp: (b, n, [g]) => {
      if (!g) return [null, null, null, null];
      // each (i, i + hd/2) pair is rotated by R(θ); the transpose is R(−θ): the same op with sin negated
      const [, pos, cos, sin] = n.inputs as NonNullable<(typeof n.inputs)[0]>[];
      const negSin = b.cached(`neg:${sin!.name}`, () => b.neg(sin!));
      return [b.one('RotaryEmbedding', [g, pos!, cos!, negSin], n.attrs), null, null, null];
    },
  },
} satisfies Record<string, OpDef>;
