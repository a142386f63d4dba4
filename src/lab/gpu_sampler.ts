// Sampling a token from softmax(z) inside the decode graph, so that per token only the sampled ids leave the GPU
// (a batch-8 step used to read back 8 vocabulary-sized rows whenever a draw fell outside the top-K, and with a
// flat distribution that is nearly every draw). Inverse CDF: with u ~ U(0, 1) fed per row from the seeded Rng,
// the token is the first j whose cumulative probability reaches u·total, i.e. the number of entries whose
// cumulative probability is below it. The cumulative sum runs in two levels — within blocks of BS ≈ √V entries,
// then across the V/BS block totals — because the WebGPU CumSum kernel sums each output's prefix on its own
// (cost ∝ axis length per entry). Exact up to float32 rounding of the cumulative sums: a draw within ~1e-7 of a
// boundary between two tokens may land on the neighbour.

import type { Builder } from '../engine/builder';
import type { Value } from '../engine/ir';

/** the block length of the two-level cumulative sum: the power of two nearest above √V */
export function samplerBlock(V: number): number {
  return 2 ** Math.ceil(Math.log2(Math.sqrt(V)));
}

/**
 * `z` [B, V] tempered logits, `lse` [B, 1] their log Σ exp, `u` [B] uniforms in (0, 1): the sampled ids, int64 [B].
 */
export function inverseCdfSample(b: Builder, z: Value, lse: Value, u: Value, V: number): Value {
  const BS = samplerBlock(V);
  const NB = Math.ceil(V / BS);
  let p = b.exp(b.sub(z, lse)); // [B, V]
  if (NB * BS > V) p = b.pad(p, [0, 0, 0, NB * BS - V]); // zero mass past the vocabulary
  const within = b.cumsum(b.reshape(p, [-1, NB, BS]), 2); // [B, NB, BS]
  const blockTotals = b.reshape(b.slice(within, [BS - 1], [BS], [2]), [-1, NB]); // [B, NB]
  const before = b.cumsum(blockTotals, 1, true); // [B, NB], mass of the blocks before each
  const cum = b.add(b.unsqueeze(before, [2]), within); // [B, NB, BS]
  // the threshold against the last cumulative entry as computed here, so that u < 1 always lands on a real token
  const total = b.slice(cum, [NB - 1, BS - 1], [NB, BS], [1, 2]); // [B, 1, 1]
  const t = b.mul(b.reshape(u, [-1, 1, 1]), total);
  const below = b.reduceSum(b.cast(b.less(cum, t), 'float32'), [1, 2], false); // [B]
  const last = b.scalar(V - 1, 'float32');
  return b.cast(b.where(b.less(below, last), below, last), 'int64');
}
