// The CE and KL heads run in chunks of rows so that memory is bounded by a chunk, not by rows × vocabulary.
// Chunked heads must give the unchunked losses and gradients, and a Gemma3-vocabulary batch (262144 entries)
// of 4 × 128 label positions must run on wasm, whose 4 GiB heap the unchunked heads exceed.

import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createBackend } from '../../src/engine/runtime/backend';
import { CompiledGraph } from '../../src/engine/runtime/session';
import type { TensorData } from '../../src/engine/ir';
import { dirSource } from '../../src/models/file_source';
import { loadModel } from '../../src/models/load';
import { LoadedModel } from '../../src/models/model';
import { attendedRows, headChunks, labelRows } from '../../src/models/losses';
import { buildSteerGraph } from '../../src/models/steer_graph';

const REF = (name: string) => path.resolve(__dirname, '../../../shared/reference', name);
const i64 = (shape: number[], xs: ArrayLike<number> | BigInt64Array): TensorData => ({ dtype: 'int64', shape, data: xs instanceof BigInt64Array ? xs : BigInt64Array.from(Array.from(xs), BigInt) });
const f32 = (shape: number[], xs: Float32Array): TensorData => ({ dtype: 'float32', shape, data: xs });

function batch(B: number, T: number, vocab: number, seed: number) {
  let s = seed;
  const next = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const ids = Array.from({ length: B * T }, () => Math.floor(next() * vocab));
  const mask = Array.from({ length: B * T }, (_, i) => (i % T < T - (i < T ? 0 : 3) ? 1 : 0)); // row ≥ 1 right-padded by 3
  const lossMask = mask.map((m, i) => (m && i % T >= 2 ? 1 : 0));
  return { ids, mask, lossMask };
}

async function modelOf(name: string) {
  const m = await loadModel(dirSource(REF(name)));
  return LoadedModel.create(await createBackend({ prefer: 'wasm' }), m.config, m.weights);
}

describe('chunked loss heads', () => {
  let model: LoadedModel;
  beforeAll(async () => {
    model = await modelOf('gemma2');
  });

  it('give the unchunked CE, KL, total and their gradients (gemma2: soft-capped logits)', async () => {
    const cfg = model.config;
    const [B, T] = [3, 11];
    const { ids, mask, lossMask } = batch(B, T, cfg.vocabSize, 7);
    const lr = labelRows(ids, lossMask, B, T);
    const kl = attendedRows(mask);
    const feeds = {
      v: f32([cfg.hiddenSize], Float32Array.from({ length: cfg.hiddenSize }, (_, i) => Math.sin(i) * 0.3)),
      alpha: f32([], new Float32Array([1])),
      lambda: f32([], new Float32Array([2])),
      ids: i64([B, T], ids),
      mask: i64([B, T], mask),
      ce_index: i64([lr.index.length], lr.index),
      ce_target: i64([lr.target.length], lr.target),
      kl_index: i64([kl.length], kl),
    };
    const run = async (ceChunks: number, klChunks: number) => {
      const g = buildSteerGraph(model, { layer: 1, ce: true, kl: 'same', grads: ['ce', 'kl', 'total'], ceChunks, klChunks, klPrecision: 'float64' });
      const c = await CompiledGraph.create(model.store.backend, g.graph, model.store);
      const out = await c.run(feeds);
      await c.release();
      return out;
    };
    const one = await run(1, 1);
    // 4 chunks of 8 label rows (29 real: the last chunk is padded), 5 chunks of the 30 KL rows
    for (const [cc, kc] of [[4, 5], [29, 30], [7, 1]] as const) {
      const many = await run(cc, kc);
      for (const k of ['ce', 'kl', 'total']) expect(Math.abs((many[k]!.data[0] as number) - (one[k]!.data[0] as number))).toBeLessThan(1e-6 * Math.abs(one[k]!.data[0] as number));
      for (const k of ['grad_ce', 'grad_kl', 'grad_total']) {
        const a = one[k]!.data as Float32Array;
        const b = many[k]!.data as Float32Array;
        let diff = 0;
        let scale = 0;
        for (let i = 0; i < a.length; i++) {
          diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
          scale = Math.max(scale, Math.abs(a[i]!));
        }
        expect(scale).toBeGreaterThan(0);
        expect(diff / scale).toBeLessThan(1e-5);
      }
    }
  }, 600_000);

  it('size the chunks from the vocabulary', () => {
    expect(headChunks(undefined, 262144)).toBe(1);
    expect(headChunks(4 * 128, 1000)).toBe(1);
    expect(headChunks(4 * 128, 262144)).toBeGreaterThanOrEqual(8);
    expect(headChunks(4 * 128, 262144, 6, 8)).toBeGreaterThan(headChunks(4 * 128, 262144));
  });

  it('run a Gemma3-vocabulary batch of 4 × 128 label positions on wasm, equal to the batch split in rows', async () => {
    const g3 = await modelOf('gemma3-hub');
    const cfg = g3.config;
    expect(cfg.vocabSize).toBe(262144);
    const [B, T] = [4, 129];
    const ids = batch(B, T, cfg.vocabSize, 3).ids;
    const mask = new Array<number>(B * T).fill(1);
    const lossMask = mask.map((_, i) => (i % T >= 1 ? 1 : 0)); // 128 label positions per row
    const v = f32([cfg.hiddenSize], Float32Array.from({ length: cfg.hiddenSize }, (_, i) => Math.cos(i) * 0.05));
    const step = async (rows: number[], chunked: boolean) => {
      const b = rows.length;
      const sub = rows.flatMap((r) => ids.slice(r * T, (r + 1) * T));
      const lr = labelRows(sub, rows.flatMap((r) => lossMask.slice(r * T, (r + 1) * T)), b, T);
      const kl = attendedRows(new Array<number>(b * T).fill(1));
      const g = buildSteerGraph(g3, { layer: 2, ce: true, kl: 'same', grads: ['total'], klPrecision: 'float32', ...(chunked ? { ceRows: b * T, klRows: b * T } : {}) });
      const c = await CompiledGraph.create(g3.store.backend, g.graph, g3.store);
      const out = await c.run({ v, alpha: f32([], new Float32Array([1])), lambda: f32([], new Float32Array([1])), ids: i64([b, T], sub), mask: i64([b, T], new Array<number>(b * T).fill(1)), ce_index: i64([lr.index.length], lr.index), ce_target: i64([lr.target.length], lr.target), kl_index: i64([kl.length], kl) });
      await c.release();
      return { ce: out.ce!.data[0] as number, kl: out.kl!.data[0] as number, grad: out.grad_total!.data as Float32Array, rows: lr.index.length, klRows: kl.length };
    };
    const all = await step([0, 1, 2, 3], true);
    expect(all.rows).toBe(4 * 128);
    // the same batch one row at a time, unchunked (each run holds a quarter of the vocabulary-sized tensors)
    const parts = [];
    for (const r of [0, 1, 2, 3]) parts.push(await step([r], false));
    const ce = parts.reduce((a, p) => a + p.ce * p.rows, 0) / all.rows;
    const kl = parts.reduce((a, p) => a + p.kl * p.klRows, 0) / all.klRows;
    expect(Math.abs(all.ce - ce)).toBeLessThan(1e-5 * ce);
    expect(Math.abs(all.kl - kl)).toBeLessThan(1e-4 * kl + 1e-7);
    // total gradient: CE part weighted by label rows, KL part by KL rows (equal counts here: 128 and 129 per row)
    let diff = 0;
    let scale = 0;
    for (let i = 0; i < all.grad.length; i++) {
      const want = parts.reduce((a, p) => a + p.grad[i]! / 4, 0);
      diff = Math.max(diff, Math.abs(all.grad[i]! - want));
      scale = Math.max(scale, Math.abs(want));
    }
    expect(diff / scale).toBeLessThan(1e-4);
  }, 900_000);
});
