// Ops onnxruntime runs as one kernel where our elementwise parts took many, with their VJPs. On a GPU each kernel
// costs a roughly fixed dispatch time in onnxruntime's WebGPU EP (a 4×128 train step on an H200 spends ~70 ms in
// kernels and ~200 ms in total), so kernel count is the first-order cost of every graph.
//   SimplifiedLayerNormalization (default domain): RMS norm; 7 kernels forward and ~15 backward from parts, 49 per
//     forward of a 0.5B model.
//   RotaryEmbedding (com.microsoft): rotate-half RoPE; 7 kernels forward and ~8 backward from parts, twice a layer.
// Both are float32-only here (float64 graphs, the gradient checks' precision, build the same maths from parts).

import type { OpDef } from './op_def';

export const FUSED_OPS = {
  SimplifiedLayerNormalization: {
    // inputs x [.., d], scale [d]; output y. The op's optional output r (inv_std_var) is not used: onnxruntime
    // keeps it in float32 even for float64 x, and the WebGPU EP's value did not match the CPU's, so the VJP
    // recomputes r (four small kernels over [.., 1] rows). float64 graphs build the norm from parts (Builder.rmsNorm).
    attrs: { axis: 'int', epsilon: 'float', stash_type: 'int' },
    infer: (_b, [x]) => [{ dtype: x!.dtype, shape: x!.shape }],
    vjp: (b, n, [g]) => {
      if (!g) return [null, null];
      const [x, w] = n.inputs as [NonNullable<(typeof n.inputs)[0]>, NonNullable<(typeof n.inputs)[0]>];
      const eps = n.attrs.epsilon as number;
      const r = b.reciprocal(b.sqrt(b.addScalar(b.reduceMean(b.mul(x, x), [-1], true), eps)));
      // x̂ = x·r;  ∂x = r · (g·w − x̂ · mean(g·w·x̂));  ∂scale = Σ g·x̂ over the broadcast axes
      const xhat = b.mul(x, r);
      const gw = b.mul(g, w);
      const m = b.reduceMean(b.mul(gw, xhat), [-1], true);
      const gx = b.mul(b.sub(gw, b.mul(xhat, m)), r);
      return [gx, b.sumToShape(b.mul(g, xhat), w)];
    },
  },

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
