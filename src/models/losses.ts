// Loss heads over final hidden states. Both take rows picked by flat index (b·T + t) so the vocabulary-sized
// logits exist only where a loss needs them (label positions for CE, attended tokens for KL).

import type { Builder } from '../engine/builder';
import type { Value } from '../engine/ir';
import { gatherRows, logitsOf } from './decoder';
import type { LoadedModel } from './model';

/**
 * Mean next-token cross-entropy. `index` [M] are the flat positions t−1 whose logits predict a label at t;
 * `target` [M] the label ids.
 */
export function crossEntropy(b: Builder, model: LoadedModel, final: Value, index: Value, target: Value): Value {
  const z = logitsOf(b, model, gatherRows(b, final, index, model.config.hiddenSize));
  const logp = b.logSoftmax(z, -1);
  const picked = b.gatherElements(logp, b.unsqueeze(target, [1]), 1); // [M, 1]
  return b.neg(b.reduceMean(picked, [0, 1], false));
}

/**
 * Mean over `index` rows of KL(p_chat ‖ p_steered) = Σ_v p_chat (log p_chat − log p_steered).
 *
 * `precision` is the float type of the log-softmaxes: KL between close distributions is a small difference
 * of numbers of size log(vocab), so float32 leaves ~1e-7 absolute noise per token (a 2e-5 relative error on a
 * KL of 0.005). float64 removes it; WebGPU has no float64 (WGSL), so there the head stays float32.
 */
export function klDivergence(b: Builder, model: LoadedModel, chatFinal: Value, steeredFinal: Value, index: Value, precision: 'float32' | 'float64' = 'float32'): Value {
  const d = model.config.hiddenSize;
  const logp = (h: Value) => b.logSoftmax(b.cast(logitsOf(b, model, gatherRows(b, h, index, d)), precision), -1);
  const lc = logp(chatFinal);
  const ls = logp(steeredFinal);
  const perRow = b.reduceSum(b.mul(b.exp(lc), b.sub(lc, ls)), [1], true); // [M, 1]
  return b.cast(b.reduceMean(perRow, [0, 1], false), 'float32');
}

/** CPU side: flat indices/targets of label positions (loss_mask[b,t] = 1, t ≥ 1; logits at t−1 predict t). */
export function labelRows(ids: ArrayLike<number>, lossMask: ArrayLike<number>, B: number, T: number): { index: BigInt64Array; target: BigInt64Array } {
  const idx: number[] = [];
  const tgt: number[] = [];
  for (let r = 0; r < B; r++) {
    for (let t = 1; t < T; t++) {
      if (lossMask[r * T + t]) {
        idx.push(r * T + t - 1);
        tgt.push(ids[r * T + t]!);
      }
    }
  }
  if (!idx.length) throw new Error('batch has no label positions (every loss_mask entry is 0 or only at t = 0)');
  return { index: BigInt64Array.from(idx, BigInt), target: BigInt64Array.from(tgt, BigInt) };
}

/** CPU side: flat indices of attended tokens (attention_mask = 1). */
export function attendedRows(mask: ArrayLike<number>): BigInt64Array {
  const idx: bigint[] = [];
  for (let i = 0; i < mask.length; i++) if (mask[i]) idx.push(BigInt(i));
  if (!idx.length) throw new Error('batch has no attended tokens');
  return BigInt64Array.from(idx);
}
