// Batches → the feeds of the steering graphs (src/models/steer_graph.ts): int64 ids/masks, label rows for
// CE, attended rows for KL, the vector and its scale.

import type { TensorData } from '../engine/ir';
import { attendedRows, labelRows } from '../models/losses';
import type { Batch } from './data/batch';

export const f32 = (shape: number[], data: Float32Array): TensorData => ({ dtype: 'float32', shape, data });
export const scalar = (x: number): TensorData => f32([], new Float32Array([x]));
const i64 = (shape: number[], data: ArrayLike<number>): TensorData => ({ dtype: 'int64', shape, data: BigInt64Array.from(Array.from(data), (v) => BigInt(v)) });

/** ids/mask (+ CE rows) of a batch under a name prefix ('' for the CE batch, 'kl_' for the KL batch). */
export function batchFeeds(batch: Batch, prefix = '', withLabels = true): Record<string, TensorData> {
  const { B, T } = batch;
  const out: Record<string, TensorData> = {
    [`${prefix}ids`]: i64([B, T], batch.inputIds),
    [`${prefix}mask`]: i64([B, T], batch.attentionMask),
  };
  if (withLabels) {
    const r = labelRows(batch.inputIds, batch.lossMask, B, T);
    out.ce_index = { dtype: 'int64', shape: [r.index.length], data: r.index };
    out.ce_target = { dtype: 'int64', shape: [r.target.length], data: r.target };
  }
  return out;
}

/** KL rows: every attended token of the batch. */
export function klIndexFeed(batch: Batch): TensorData {
  const idx = attendedRows(batch.attentionMask);
  return { dtype: 'int64', shape: [idx.length], data: idx };
}

/** Number of label positions a batch contributes to the mean CE (for token-weighted averages). */
export function labelCount(batch: Batch): number {
  let n = 0;
  for (let b = 0; b < batch.B; b++) for (let t = 1; t < batch.T; t++) n += batch.lossMask[b * batch.T + t]! ? 1 : 0;
  return n;
}

/**
 * CE label rows padded to exactly `rows` entries (graph capture needs fixed shapes): padding points at row 0 with
 * ce_weight 0, which the ceWeighted graphs leave out of the mean and its gradient.
 */
export function paddedLabelFeeds(batch: Batch, rows: number): Record<string, TensorData> {
  const r = labelRows(batch.inputIds, batch.lossMask, batch.B, batch.T);
  const n = r.index.length;
  if (n > rows) throw new Error(`paddedLabelFeeds: ${n} label rows do not fit ${rows}`);
  const index = new BigInt64Array(rows);
  const target = new BigInt64Array(rows);
  const weight = new Float32Array(rows);
  index.set(r.index);
  target.set(r.target);
  weight.fill(1, 0, n);
  return {
    ce_index: { dtype: 'int64', shape: [rows], data: index },
    ce_target: { dtype: 'int64', shape: [rows], data: target },
    ce_weight: f32([rows], weight),
  };
}
