// Linears that read the same input are stored stacked (q|k|v and gate|up of each block): one matmul where there were
// three. Stacking must keep every member's bytes: each member alone, and each part of the stacked product, equals a
// MatMulNBits over that member's own weights from the file; members stored unalike stay separate.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Builder } from '../../src/engine/builder';
import { Graph } from '../../src/engine/ir';
import { liveNodes } from '../../src/engine/onnx/serialize';
import { createBackend } from '../../src/engine/runtime/backend';
import { CompiledGraph } from '../../src/engine/runtime/session';
import { parseHfConfig } from '../../src/models/config_parse';
import { LoadedModel } from '../../src/models/model';
import { weightsFromOnnx } from '../../src/models/onnx_weights';
import { buildSteerGraph } from '../../src/models/steer_graph';
import type { ModelWeights, Q4Linear } from '../../src/models/weights';

const DIR = path.resolve(__dirname, '../../../shared/reference/qwen2');

async function load(): Promise<{ cfg: ReturnType<typeof parseHfConfig>; weights: ModelWeights }> {
  const cfg = parseHfConfig(JSON.parse(readFileSync(path.join(DIR, 'config.json'), 'utf8')));
  const weights = await weightsFromOnnx(cfg, new Uint8Array(readFileSync(path.join(DIR, 'model_q4.onnx'))), async () => {
    throw new Error('no external data expected');
  });
  return { cfg, weights };
}

describe('stacked linears', () => {
  it("each member alone and each part of the stacked product equal a MatMulNBits over that member's own bytes", async () => {
    const { cfg, weights } = await load();
    const model = LoadedModel.create(await createBackend({ prefer: 'wasm' }), cfg, weights, 'onnx-q4');
    expect([...model.groups.keys()].filter((k) => k.startsWith('layers.0.'))).toEqual(['layers.0.qkv', 'layers.0.gateUp']);
    // one copy: the members' own keys hold nothing
    expect(model.store.has('layers.0.q.packed')).toBe(false);
    expect(model.linears.get('layers.0.k')).toMatchObject({ K: cfg.hiddenSize, N: cfg.numKvHeads * cfg.headDim });

    const g = new Graph('groups');
    const b = new Builder(g);
    const x = g.input('x', 'float32', [2, cfg.hiddenSize]);
    const own = (w: Q4Linear, name: string) => {
      const nb = Math.ceil(w.K / w.blockSize);
      const packed = b.g.constant({ dtype: 'uint8', shape: [w.N, nb, w.blockSize / 2], data: w.packed }, `${name}.packed`);
      const scales = b.g.constant({ dtype: 'float32', shape: [w.N * nb], data: w.scales as Float32Array }, `${name}.scales`);
      return b.matmulNBits(x, packed, scales, null, w.K, w.N, w.blockSize);
    };
    const lw = weights.layers[1]!;
    const parts = model.project(b, ['layers.1.q', 'layers.1.k', 'layers.1.v'], x);
    const bias = (n: 'qBias' | 'kBias' | 'vBias') => b.g.constant({ dtype: 'float32', shape: [lw[n]!.data.length], data: lw[n]!.data });
    g.output(b.sub(parts[1]!, b.add(own(lw.k as Q4Linear, 'k'), bias('kBias'))), 'dk');
    g.output(b.sub(parts[2]!, b.add(own(lw.v as Q4Linear, 'v'), bias('vBias'))), 'dv');
    g.output(b.sub(model.linear(b, 'layers.1.up', x), own(lw.up as Q4Linear, 'up')), 'dup');
    const [gate, up] = model.project(b, ['layers.1.gate', 'layers.1.up'], x);
    g.output(b.sub(gate!, own(lw.gate as Q4Linear, 'gate')), 'dgate');
    g.output(b.sub(up!, own(lw.up as Q4Linear, 'up2')), 'dup2');
    const run = await CompiledGraph.create(model.store.backend, g, model.store);
    const xs = Float32Array.from({ length: 2 * cfg.hiddenSize }, (_v, i) => Math.sin(i * 0.37));
    const out = await run.run({ x: { dtype: 'float32', shape: [2, cfg.hiddenSize], data: xs } });
    for (const k of ['dk', 'dv', 'dup', 'dgate', 'dup2']) {
      const d = out[k]!.data as Float32Array;
      expect(d.length, k).toBeGreaterThan(0);
      expect(Math.max(...Array.from(d, Math.abs)), k).toBe(0);
    }
  });

  it('a train step runs one MatMulNBits for q|k|v and one for gate|up per block', async () => {
    const { cfg, weights } = await load();
    const model = LoadedModel.create(await createBackend({ prefer: 'wasm' }), cfg, weights, 'onnx-q4');
    const s = buildSteerGraph(model, { layer: 1, ce: true, grads: ['ce'] });
    const nbits = liveNodes(s.graph, s.graph.outputs).filter((n) => n.op === 'MatMulNBits');
    // per block q|k|v, o, gate|up, down; and the LM head
    expect(nbits).toHaveLength(4 * cfg.numLayers + 1);
  });

  it('members stored unalike (one with zero points) stay separate and still project', async () => {
    const { cfg, weights } = await load();
    const k = weights.layers[0]!.k as Q4Linear;
    const nb = Math.ceil(k.K / k.blockSize);
    weights.layers[0]!.k = { ...k, zeroPoints: new Uint8Array(k.N * Math.ceil(nb / 2)).fill(0x88) };
    const model = LoadedModel.create(await createBackend({ prefer: 'wasm' }), cfg, weights, 'onnx-q4');
    expect(model.groups.has('layers.0.qkv')).toBe(false);
    expect(model.groups.has('layers.1.qkv')).toBe(true);
    expect(model.store.has('layers.0.k.zp')).toBe(true);
    const g = new Graph('unalike');
    const b = new Builder(g);
    const x = g.input('x', 'float32', ['B', cfg.hiddenSize]);
    const ys = model.project(b, ['layers.0.q', 'layers.0.k', 'layers.0.v'], x);
    expect(ys.map((y) => y.shape[1])).toEqual([cfg.numHeads * cfg.headDim, cfg.numKvHeads * cfg.headDim, cfg.numKvHeads * cfg.headDim]);
    expect(g.nodes.filter((n) => n.op === 'MatMulNBits')).toHaveLength(3);
  });
});
