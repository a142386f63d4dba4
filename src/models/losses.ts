// Loss heads over final hidden states. Both take rows picked by flat index (b·T + t) so the vocabulary-sized
// logits exist only where a loss needs them (label positions for CE, attended tokens for KL).
//
// Memory does not grow with rows × vocabulary: the rows are split into a fixed number of chunks (sized from the
// caller's bound on the rows, see headChunks), and each chunk's logits are made, reduced and — when a gradient is
// wanted — differentiated before the next chunk starts, so ORT frees them. The head's gradient is computed per
// chunk (∂CE/∂z = w·(softmax z − onehot), ∂KL/∂z_s = w·(p_s − p_chat)) and handed to the body's single backward
// pass through a surrogate Σ h ⊙ StopGradient(∂L/∂h): its gradient w.r.t. anything upstream of h is the loss's.

import { grad } from '../engine/autodiff';
import type { Builder } from '../engine/builder';
import type { Value } from '../engine/ir';
import { gatherRows, logitsOf } from './decoder';
import type { LoadedModel } from './model';

/** bytes one chunk's vocabulary-sized buffers may take (the logits and the few tensors made from them) */
export const HEAD_CHUNK_BYTES = 192 * 2 ** 20;

/** How many chunks keep `maxRows` rows of a `vocab`-wide head under HEAD_CHUNK_BYTES (`buffers` live tensors of `bytes` each). */
export function headChunks(maxRows: number | undefined, vocab: number, buffers = 3, bytes = 4): number {
  if (!maxRows || maxRows <= 0) return 1;
  const rowsPerChunk = Math.max(8, Math.floor(HEAD_CHUNK_BYTES / (vocab * buffers * bytes)));
  return Math.max(1, Math.ceil(maxRows / rowsPerChunk));
}

export interface HeadResult {
  /** the mean loss over the rows */
  loss: Value;
  /** present when a gradient was asked for: a scalar whose gradient upstream of the hidden rows is the loss's */
  surrogate?: Value;
}

interface RowChunk {
  /** flat row indices of this chunk */
  index: Value;
  /** 1 for real rows, 0 for the padding that makes every chunk the same length; absent when unpadded */
  weight?: Value;
  /** the chunk's positions in the padded row list, for per-row companions (targets) */
  take: (v: Value) => Value;
}

/**
 * Split `index` [M] (dynamic M) into `chunks` equal slices of ceil(M / chunks) rows. The list is padded with row
 * index[0] at weight 0 so no chunk is ever empty (zero-size tensors are not welcome on every backend).
 */
function rowChunks(b: Builder, index: Value, chunks: number): RowChunk[] {
  if (chunks <= 1) return [{ index, take: (v) => v }];
  const M = b.gather(b.shapeOf(index), b.ints([0]), 0); // [1]
  const size = b.div(b.add(M, b.ints([chunks - 1])), b.ints([chunks])); // [1], ceil(M / chunks)
  const total = b.mul(size, b.ints([chunks]));
  const zero = b.scalar(0, 'int64');
  const pos = b.range(zero, b.squeeze(total, [0]), b.scalar(1, 'int64'), ['Mpad']);
  const valid = b.less(pos, b.squeeze(M, [0]));
  const at = b.where(valid, pos, zero);
  const w = b.cast(valid, 'float32');
  const out: RowChunk[] = [];
  for (let c = 0; c < chunks; c++) {
    const s = b.mul(size, b.ints([c]));
    const e = b.mul(size, b.ints([c + 1]));
    const slice = (v: Value) => b.sliceDyn(v, s, e, [0]);
    const atC = slice(at);
    out.push({ index: b.gather(index, atC, 0), weight: slice(w), take: (v) => b.gather(v, atC, 0) });
  }
  return out;
}

const count = (b: Builder, index: Value) => b.cast(b.gather(b.shapeOf(index), b.ints([0]), 0), 'float32'); // [1]

/**
 * Mean next-token cross-entropy, CE = mean over rows of logsumexp(z) − z[target]. `index` [M] are the flat
 * positions t−1 whose logits predict a label at t; `target` [M] the label ids.
 */
export function crossEntropy(b: Builder, model: LoadedModel, final: Value, index: Value, target: Value, opts: { chunks?: number; grad?: boolean; rowWeight?: Value } = {}): HeadResult {
  const d = model.config.hiddenSize;
  // rowWeight [M] (1 real, 0 padding) lets a caller pad the label rows to a fixed count (graph capture): the
  // mean is then over the weight's sum
  const M = opts.rowWeight ? b.reduceSum(opts.rowWeight, [0], true) : count(b, index);
  const sums: Value[] = [];
  const surr: Value[] = [];
  for (const ch of rowChunks(b, index, opts.chunks ?? 1)) {
    const h = gatherRows(b, final, ch.index, d); // [K, d]
    const z = logitsOf(b, model, h); // [K, V]
    const lse = b.reduceLogSumExp(z, [1], true); // [K, 1]
    const tgt = b.unsqueeze(ch.take(target), [1]); // [K, 1]
    let nll = b.sub(lse, b.gatherElements(z, tgt, 1)); // [K, 1]
    const given = opts.rowWeight ? ch.take(opts.rowWeight) : undefined;
    const w = given && ch.weight ? b.mul(given, ch.weight) : (given ?? ch.weight);
    if (w) nll = b.mul(nll, b.unsqueeze(w, [1]));
    sums.push(b.reduceSum(nll, [0, 1], false));
    if (opts.grad) {
      // ∂CE/∂z = w/M · (softmax z − onehot(target))
      const p = b.exp(b.sub(z, lse));
      let dz = b.scatterElements(p, tgt, b.sub(b.gatherElements(p, tgt, 1), b.scalar(1)), 1);
      dz = b.div(w ? b.mul(dz, b.unsqueeze(w, [1])) : dz, M);
      const [dh] = grad(b, z, [h], { seed: b.stopGradient(dz) });
      surr.push(b.reduceSum(b.mul(h, b.stopGradient(dh!)), [0, 1], false));
    }
  }
  const loss = b.div(sumAll(b, sums), b.squeeze(M, [0]));
  return { loss, surrogate: opts.grad ? sumAll(b, surr) : undefined };
}

function sumAll(b: Builder, xs: Value[]): Value {
  return xs.reduce((a, x) => b.add(a, x));
}

/** The KL head's float type when a caller names none: float64 where the backend has it (wasm: small KLs between
 * nearby distributions stay exact), float32 on WebGPU (which has no float64). The trainer asks for float32 itself. */
export function defaultKlPrecision(model: LoadedModel): 'float32' | 'float64' {
  return model.store.backend.float64 ? 'float64' : 'float32';
}

/**
 * Mean over `index` rows of KL(p_chat ‖ p_steered) = Σ_v p_chat (log p_chat − log p_steered).
 *
 * `precision` is the float type of the log-softmaxes: KL between close distributions is a small difference
 * of numbers of size log(vocab), so float32 leaves ~1e-7 absolute noise per token (a 2e-5 relative error on a
 * KL of 0.005). float64 removes it; WebGPU has no float64 (WGSL), so there the head stays float32.
 * p_chat carries no gradient (the unsteered model does not depend on the vector).
 */
export function klDivergence(b: Builder, model: LoadedModel, chatFinal: Value, steeredFinal: Value, index: Value, precision: 'float32' | 'float64' = 'float32', opts: { chunks?: number; grad?: boolean } = {}): HeadResult {
  const d = model.config.hiddenSize;
  const M = count(b, index);
  const sums: Value[] = [];
  const surr: Value[] = [];
  for (const ch of rowChunks(b, index, opts.chunks ?? 1)) {
    const hs = gatherRows(b, steeredFinal, ch.index, d);
    const zs = logitsOf(b, model, hs);
    const zc = logitsOf(b, model, b.stopGradient(gatherRows(b, chatFinal, ch.index, d)));
    const logp = (z: Value) => {
      const zp = b.cast(z, precision);
      return b.sub(zp, b.reduceLogSumExp(zp, [1], true));
    };
    const lc = logp(zc);
    const ls = logp(zs);
    const pc = b.exp(lc);
    let perRow = b.reduceSum(b.mul(pc, b.sub(lc, ls)), [1], true); // [K, 1]
    if (ch.weight) perRow = b.mul(perRow, b.cast(b.unsqueeze(ch.weight, [1]), precision));
    sums.push(b.cast(b.reduceSum(perRow, [0, 1], false), 'float32'));
    if (opts.grad) {
      // ∂KL/∂z_s = w/M · (p_s − p_chat)
      let dz = b.cast(b.sub(b.exp(ls), pc), 'float32');
      dz = b.div(ch.weight ? b.mul(dz, b.unsqueeze(ch.weight, [1])) : dz, M);
      const [dh] = grad(b, zs, [hs], { seed: b.stopGradient(dz) });
      surr.push(b.reduceSum(b.mul(hs, b.stopGradient(dh!)), [0, 1], false));
    }
  }
  const loss = b.div(sumAll(b, sums), b.squeeze(M, [0]));
  return { loss, surrogate: opts.grad ? sumAll(b, surr) : undefined };
}

/** The unsteered model's per-row KL statistics (chatHeadStats), and their graph input/output names. */
export interface ChatHeadStats {
  n: Value;
  ebar: Value;
  lse: Value;
  r: Value;
}
export const CHAT_STATS_NAMES: Record<keyof ChatHeadStats, string> = { n: 'chat_n', ebar: 'chat_ebar', lse: 'chat_lse', r: 'chat_r' };

/** Whether a KL evaluation may run from chatHeadStats: a float32 head that is linear (not Gemma2's soft-capped one). */
export function chatStatsApply(model: LoadedModel, precision: 'float32' | 'float64'): boolean {
  return precision === 'float32' && !model.config.finalSoftcap;
}

/** The statistics as graph inputs, rows in kl_index order ([M2, d], [M2, d], [M2], [M2]). */
export function chatStatsInputs(b: Builder, d: number): ChatHeadStats {
  const n = CHAT_STATS_NAMES;
  return { n: b.g.input(n.n, 'float32', ['M2', d]), ebar: b.g.input(n.ebar, 'float32', ['M2', d]), lse: b.g.input(n.lse, 'float32', ['M2']), r: b.g.input(n.r, 'float32', ['M2']) };
}

/**
 * What KL(p_chat ‖ p_steered) needs of the unsteered model at each of `index`'s rows, for evaluations that
 * repeat over many vectors on the same rows (the FineWeb and checkpoint KL sweeps). For a linear head
 * z = W·n (+ bias) the KL splits into
 *     KL = Σ_v p_chat(v)·(z_chat(v) − z_steered(v)) + lse_steered − lse_chat
 *        = ē·(n_chat − n_steered) + log Σ_v exp(z_steered(v) − lse_chat),        ē = Σ_v p_chat(v)·W_v,
 * so a point needs n_chat (the final hidden row), ē (the expected output embedding under p_chat, [d]) and
 * lse_chat per row, and runs ONE head, the steered one, where klDivergence runs two and two log-softmaxes.
 * Both terms are computed as differences of nearby quantities (n_chat − n_steered, z_steered − lse_chat), so
 * float32 keeps its ~1e-7 absolute noise per token. `r` = log Σ exp(z_chat − lse_chat), the float32 residue of
 * the normalisation (~1e-8), is subtracted row by row, so the unsteered point is exactly 0 as in the two-head KL
 * (same kernels on bitwise-equal logits). Not for Gemma2's soft-capped head (not linear).
 * Returns [M, d], [M, d], [M], [M] in index order.
 */
export function chatHeadStats(b: Builder, model: LoadedModel, chatFinal: Value, index: Value, opts: { chunks?: number } = {}): ChatHeadStats {
  if (model.config.finalSoftcap) throw new Error('KL from chat statistics needs a linear head; this model soft-caps its logits');
  const d = model.config.hiddenSize;
  const ns: Value[] = [];
  const es: Value[] = [];
  const ls: Value[] = [];
  const rs: Value[] = [];
  for (const ch of rowChunks(b, index, opts.chunks ?? 1)) {
    const h = gatherRows(b, chatFinal, ch.index, d); // [K, d]
    const z = model.head(b, h); // [K, V]
    const lse = b.reduceLogSumExp(z, [1], true); // [K, 1]
    // ē = p·W: the head's input gradient seeded with p (the bias drops out)
    const [ebar] = grad(b, z, [h], { seed: b.exp(b.sub(z, lse)) });
    ns.push(h);
    es.push(ebar!);
    ls.push(b.reshape(lse, [-1]));
    // the same Sub and ReduceLogSumExp klFromChatStats applies to the steered logits
    rs.push(b.reduceLogSumExp(b.sub(z, lse), [1], false));
  }
  // the chunks are padded to equal length: keep the first M rows
  const M = b.gather(b.shapeOf(index), b.ints([0]), 0);
  const firstM = (xs: Value[]) => (xs.length === 1 ? xs[0]! : b.sliceDyn(b.concat(xs, 0), b.ints([0]), M, [0]));
  return { n: firstM(ns), ebar: firstM(es), lse: firstM(ls), r: firstM(rs) };
}

/** Mean over `index` rows of KL(p_chat ‖ p_steered) from chatHeadStats's rows (same index order); no gradient. */
export function klFromChatStats(b: Builder, model: LoadedModel, steeredFinal: Value, index: Value, chat: ChatHeadStats, opts: { chunks?: number } = {}): HeadResult {
  if (model.config.finalSoftcap) throw new Error('KL from chat statistics needs a linear head; this model soft-caps its logits');
  const d = model.config.hiddenSize;
  const M = count(b, index);
  // Σ_v p_chat·(z_chat − z_steered) = ē·(n_chat − n_steered), for every row at once
  const hsAll = gatherRows(b, steeredFinal, index, d);
  const sums: Value[] = [b.reduceSum(b.mul(chat.ebar, b.sub(chat.n, hsAll)), [0, 1], false)];
  // lse_steered − lse_chat, chunk by chunk (the steered logits are the only vocabulary-sized tensor)
  for (const ch of rowChunks(b, index, opts.chunks ?? 1)) {
    const zs = model.head(b, gatherRows(b, steeredFinal, ch.index, d)); // [K, V]
    let dl = b.unsqueeze(b.sub(b.reduceLogSumExp(b.sub(zs, b.unsqueeze(ch.take(chat.lse), [1])), [1], false), ch.take(chat.r)), [1]); // [K, 1]
    if (ch.weight) dl = b.mul(dl, b.unsqueeze(ch.weight, [1]));
    sums.push(b.reduceSum(dl, [0, 1], false));
  }
  return { loss: b.div(sumAll(b, sums), b.squeeze(M, [0])) };
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
