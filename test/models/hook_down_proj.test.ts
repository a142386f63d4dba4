// The second hook point, model.layers.L.mlp.down_proj's output (the paper's hook), against PyTorch: on Gemma 2/3
// (post_feedforward_layernorm between it and the residual add) our logits, losses and gradients equal a PyTorch
// forward hook on that module (test/fixtures/hook_down_proj, made by scripts/gpu/issue11_fixtures.py from the
// shared reference folders) and differ from the block-output hook; the cached prefix (blocks 0..L−1) and the
// evaluator give the same loss as the full graph; and on Qwen2 the two points are one (equal to PyTorch's
// block-output reference).

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createBackend, type Backend } from '../../src/engine/runtime/backend';
import { CompiledGraph } from '../../src/engine/runtime/session';
import type { TensorData } from '../../src/engine/ir';
import { parseHfConfig } from '../../src/models/config_parse';
import { cachedBlocks, hookName, hookPointsFor } from '../../src/models/hooks';
import { attendedRows, labelRows } from '../../src/models/losses';
import { LoadedModel } from '../../src/models/model';
import { readSafetensors, readSafetensorsRaw } from '../../src/models/safetensors';
import { weightsFromSafetensors } from '../../src/models/safetensors_weights';
import { buildPrefixGraph, buildSteerGraph } from '../../src/models/steer_graph';

const REF = path.resolve(__dirname, '../../../shared/reference');
const FIX = path.resolve(__dirname, '../fixtures/hook_down_proj');

let backend: Backend;
beforeAll(async () => {
  backend = await createBackend({ prefer: 'wasm' });
});

function load(arch: string) {
  const dir = path.join(REF, arch);
  const cfg = parseHfConfig(JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8')));
  const model = LoadedModel.create(backend, cfg, weightsFromSafetensors(cfg, readSafetensors(readFileSync(path.join(dir, 'model.safetensors')))));
  const ref = readSafetensorsRaw(readFileSync(path.join(dir, 'reference.safetensors')));
  const rj = JSON.parse(readFileSync(path.join(dir, 'reference.json'), 'utf8'));
  const ids = ref.get('input_ids')!;
  const [B, T] = ids.shape as [number, number];
  const i64 = (a: ArrayLike<number>) => BigInt64Array.from(Array.from(a), BigInt);
  const rows = labelRows(ids.data as Int32Array, ref.get('loss_mask')!.data as Int32Array, B, T);
  const kl = attendedRows(ref.get('attention_mask')!.data as Int32Array);
  const feeds: Record<string, TensorData> = {
    v: { dtype: 'float32', shape: [cfg.hiddenSize], data: ref.get('steer_vector')!.data as Float32Array },
    alpha: { dtype: 'float32', shape: [], data: new Float32Array([1]) },
    lambda: { dtype: 'float32', shape: [], data: new Float32Array([rj.lambda_kl]) },
    ids: { dtype: 'int64', shape: [B, T], data: i64(ids.data as Int32Array) },
    mask: { dtype: 'int64', shape: [B, T], data: i64(ref.get('attention_mask')!.data as Int32Array) },
    ce_index: { dtype: 'int64', shape: [rows.index.length], data: rows.index },
    ce_target: { dtype: 'int64', shape: [rows.target.length], data: rows.target },
    kl_index: { dtype: 'int64', shape: [kl.length], data: kl },
  };
  return { cfg, model, ref, rj, feeds, L: rj.steer_layer as number };
}

async function run(model: LoadedModel, spec: Parameters<typeof buildSteerGraph>[1], feeds: Record<string, TensorData>) {
  const cg = await CompiledGraph.create(backend, buildSteerGraph(model, spec).graph, model.store);
  try {
    return await cg.run(feeds);
  } finally {
    await cg.release();
  }
}

function maxRel(ours: ArrayLike<number>, ref: ArrayLike<number>): number {
  let err = 0;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) {
    err = Math.max(err, Math.abs(ours[i]! - ref[i]!));
    scale = Math.max(scale, Math.abs(ref[i]!));
  }
  return err / scale;
}

describe('the mlp.down_proj hook point', () => {
  it('is offered where a norm sits between down_proj and the residual add, and caches one block less', () => {
    expect(hookPointsFor(load('gemma2').cfg)).toEqual(['resid_post', 'down_proj']);
    expect(hookPointsFor(load('gemma3').cfg)).toEqual(['resid_post', 'down_proj']);
    expect(hookPointsFor(load('qwen2').cfg)).toEqual(['resid_post']);
    expect(hookName(12)).toBe('blocks.12.hook_resid_post');
    expect(hookName(12, 'down_proj')).toBe('model.layers.12.mlp.down_proj');
    expect([cachedBlocks(3), cachedBlocks(3, 'down_proj'), cachedBlocks(0, 'down_proj')]).toEqual([3, 2, -1]);
  });

  for (const arch of ['gemma2', 'gemma3']) {
    it(`${arch}: logits, CE, KL, total and their gradients equal a PyTorch forward hook on mlp.down_proj`, async () => {
      const { model, feeds, L } = load(arch);
      const want = readSafetensorsRaw(readFileSync(path.join(FIX, arch, 'reference_down_proj.safetensors')));
      const wj = JSON.parse(readFileSync(path.join(FIX, arch, 'reference_down_proj.json'), 'utf8'));
      expect(wj.steer_layer).toBe(L);
      const o = await run(model, { layer: L, hook: 'down_proj', kl: 'same', grads: ['ce', 'kl', 'total'], logits: ['steered'] }, feeds);
      // the same float64-vs-float32 margins as the block-output reference (verify_pytorch_reference.ts)
      expect(maxRel(o.logits_steered!.data as Float32Array, want.get('logits_steered_down_proj')!.data as Float32Array)).toBeLessThan(2.5e-6);
      for (const k of ['ce', 'kl', 'total'] as const) {
        const wantK = k === 'ce' ? wj.ce_steered : wj[k];
        expect(Math.abs((o[k]!.data[0] as number) - wantK) / Math.abs(wantK), k).toBeLessThan(1e-6);
        expect(maxRel(o[`grad_${k}`]!.data as Float32Array, want.get(`grad_${k}`)!.data as Float32Array), `grad_${k}`).toBeLessThan(2e-6);
      }
      // and it is a different point from the block output on this architecture
      const block = await run(model, { layer: L, kl: 'same', logits: ['steered'] }, feeds);
      expect(maxRel(block.logits_steered!.data as Float32Array, o.logits_steered!.data as Float32Array)).toBeGreaterThan(1e-3);
      model.store.dispose();
    });
  }

  it('gemma2: the cached prefix below the hook gives the loss and gradient of the full graph', async () => {
    const { model, feeds, L } = load('gemma2');
    const full = await run(model, { layer: L, hook: 'down_proj', grads: ['ce'] }, feeds);
    const prefix = await CompiledGraph.create(backend, buildPrefixGraph(model, L, 'down_proj').graph, model.store);
    const { hidden } = await prefix.run({ ids: feeds.ids!, mask: feeds.mask! });
    await prefix.release();
    const { ids: _ids, ...rest } = feeds;
    void _ids;
    const cached = await run(model, { layer: L, hook: 'down_proj', grads: ['ce'], fromCache: true }, { ...rest, hidden: hidden! });
    expect(Math.abs((cached.ce!.data[0] as number) - (full.ce!.data[0] as number))).toBeLessThan(1e-6 * (full.ce!.data[0] as number));
    expect(maxRel(cached.grad_ce!.data as Float32Array, full.grad_ce!.data as Float32Array)).toBeLessThan(1e-6);
    model.store.dispose();
  });

  it('qwen2: down_proj and the block output are one point, equal to PyTorch\'s block-output reference', async () => {
    const { model, ref, rj, feeds, L } = load('qwen2');
    const o = await run(model, { layer: L, hook: 'down_proj', kl: 'same', grads: ['total'], logits: ['steered'] }, feeds);
    expect(maxRel(o.logits_steered!.data as Float32Array, ref.get('logits_steered')!.data as Float32Array)).toBeLessThan(2.5e-6);
    expect(Math.abs((o.total!.data[0] as number) - rj.total) / rj.total).toBeLessThan(1e-6);
    expect(maxRel(o.grad_total!.data as Float32Array, ref.get('grad_total')!.data as Float32Array)).toBeLessThan(2e-6);
    model.store.dispose();
  });
});
