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
