// Tokenised rows → the dense tensors the engine consumes. Rows are right-padded with the tokenizer's pad id to
// the longest row of the batch (not to maxLen: shorter batches are cheaper), the layout of the reference
// fixtures: attention_mask marks real tokens, loss_mask marks label positions, both 0 on padding.

import type { TokenizedRow } from './tokenize';

export interface Batch {
  /** [B*T] row-major token ids */
  inputIds: Int32Array;
  /** [B*T] 1 = real token, 0 = padding */
  attentionMask: Int32Array;
  /** [B*T] 1 = label position */
  lossMask: Int32Array;
  B: number;
  T: number;
  /** source line of each row, for tracing a bad batch back to the data */
  lines: number[];
}

/** Rows × tokens of the longest padded batch `rows` make in batches of `batchSize` (the heads' chunk bound). */
export function maxBatchRows(rows: TokenizedRow[], batchSize: number): number {
  return batchSize * Math.max(1, ...rows.map((r) => r.ids.length));
}

export function collate(rows: TokenizedRow[], padId: number, opts: { padTo?: number; rows?: number } = {}): Batch {
  if (rows.length === 0) throw new Error('collate: empty batch');
  if (opts.rows !== undefined && opts.rows < rows.length) throw new Error(`collate: ${rows.length} rows do not fit a batch of ${opts.rows}`);
  if (!Number.isInteger(padId) || padId < 0) throw new Error(`collate: padId must be a non-negative integer, got ${padId}`);
  let T = 0;
  for (const r of rows) T = Math.max(T, r.ids.length);
  if (opts.padTo !== undefined) {
    if (opts.padTo < T) throw new Error(`collate: padTo ${opts.padTo} is shorter than the longest row (${T})`);
    T = opts.padTo;
  }
  // opts.rows: pad with empty rows (all padding, mask 0) to a fixed batch size
  const B = opts.rows ?? rows.length;
  const inputIds = new Int32Array(B * T).fill(padId);
  const attentionMask = new Int32Array(B * T);
  const lossMask = new Int32Array(B * T);
  rows.forEach((r, b) => {
    inputIds.set(r.ids, b * T);
    attentionMask.fill(1, b * T, b * T + r.ids.length);
    for (let t = 0; t < r.ids.length; t++) lossMask[b * T + t] = r.lossMask[t]!;
  });
  return { inputIds, attentionMask, lossMask, B, T, lines: rows.map((r) => r.line) };
}

/**
 * The padded length a batch whose longest row is `T` takes when shapes must come from a small fixed set (graph
 * capture keeps one graph per shape): the next power of two from 64, capped at the data's longest row.
 */
export function lengthBucket(T: number, longest: number): number {
  if (T > longest) throw new Error(`lengthBucket: a row of ${T} tokens is longer than the longest (${longest})`);
  let b = 64;
  while (b < T) b *= 2;
  return Math.min(b, longest);
}
