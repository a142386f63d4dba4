// The adapter graph on a tiny reference model: at PEFT's initialisation (B = 0) it is the unadapted model
// (CE = PyTorch's unsteered CE, KL = 0, logits equal); the cached-prefix variant equals the full graph; the
// gradients agree with central differences of the graph's own total loss along random directions.
import { describe, expect, it } from 'vitest';
import { CompiledGraph } from '../../src/engine/runtime/session';
import { buildAdapterGraph, buildAdapterPrefixGraph } from '../../src/models/adapter_graph';
import { flatGrad, loraFeeds, loraKeys, loraLayout, loraSpec, peftInit, type AdapterShape } from '../../src/lab/adapters/lora';
import { Rng } from '../../src/lab/rng';
import { cosine, referenceFeeds, referenceJson, tinyModel } from './adapter_fixture';

const scalar = (x: number) => ({ dtype: 'float32' as const, shape: [], data: new Float32Array([x]) });

describe('adapter graph', () => {
  it('B = 0 is the unadapted model; the cached prefix gives the same losses and gradients', async () => {
    const model = await tinyModel('qwen2');
    const shape: AdapterShape = { kind: 'lora', rank: 2, alpha: 4, keys: loraKeys(['v', 'down'], [1, 2]) };
    const { feeds, lambda } = referenceFeeds('qwen2');
    const be = model.store.backend;
    const g = await CompiledGraph.create(be, buildAdapterGraph(model, { lora: loraSpec(shape), kl: true, grads: ['total'], logits: ['lora', 'chat'] }).graph, model.store);
    const init = peftInit(model.config, shape, 1);
    const o = await g.run({ ...feeds, ...loraFeeds(model.config, shape, init), lambda: scalar(lambda) });
    expect(Math.abs((o.ce!.data[0] as number) / referenceJson('qwen2').ce_chat! - 1)).toBeLessThan(1e-5);
    expect(Math.abs(o.kl!.data[0] as number)).toBeLessThan(1e-9);
    expect(Array.from(o.logits_lora!.data as Float32Array)).toEqual(Array.from(o.logits_chat!.data as Float32Array));
    // with B = 0 only B gets a gradient
    const gt = flatGrad(model.config, shape, o, 'total');
    const { entries } = loraLayout(model.config, shape);
    for (const e of entries) {
      expect(gt.subarray(e.aOff, e.aOff + 2 * e.K).every((x) => x === 0)).toBe(true);
      expect(Math.max(...gt.subarray(e.bOff, e.bOff + 2 * e.N).map(Math.abs))).toBeGreaterThan(0);
    }

    // non-zero factors: cached prefix (blocks 0..0 are below the first adapted layer) = full graph
    const rng = new Rng(5);
    const theta = Float32Array.from({ length: init.length }, () => rng.gaussian() * 0.2);
    const full = await g.run({ ...feeds, ...loraFeeds(model.config, shape, theta), lambda: scalar(lambda) });
    const prefix = await CompiledGraph.create(be, buildAdapterPrefixGraph(model, loraSpec(shape)).graph, model.store);
    const { hidden } = await prefix.run({ ids: feeds.ids!, mask: feeds.mask! });
    const cached = await CompiledGraph.create(be, buildAdapterGraph(model, { lora: loraSpec(shape), kl: true, grads: ['total'], fromCache: true }).graph, model.store);
    const { ids: _ids, ...rest } = feeds;
    void _ids;
    const c = await cached.run({ ...rest, hidden: hidden!, ...loraFeeds(model.config, shape, theta), lambda: scalar(lambda) });
    expect(c.total!.data[0]).toBeCloseTo(full.total!.data[0] as number, 6);
    expect(full.kl!.data[0] as number).toBeGreaterThan(1e-3);
    expect(cosine(flatGrad(model.config, shape, c, 'total'), flatGrad(model.config, shape, full, 'total'))).toBeGreaterThan(1 - 1e-6);

    // directional derivative vs central differences of the total loss (float32: h = 1e-2 on a unit direction)
    const gFull = flatGrad(model.config, shape, full, 'total');
    for (const seed of [7, 8]) {
      const r2 = new Rng(seed);
      const dir = Float32Array.from({ length: theta.length }, () => r2.gaussian());
      const n = Math.hypot(...dir);
      dir.forEach((x, i) => (dir[i] = x / n));
      const at = async (h: number) => (await g.run({ ...feeds, ...loraFeeds(model.config, shape, Float32Array.from(theta, (x, i) => x + h * dir[i]!)), lambda: scalar(lambda) })).total!.data[0] as number;
      const fd = ((await at(1e-2)) - (await at(-1e-2))) / 2e-2;
      const ad = gFull.reduce((s, x, i) => s + x * dir[i]!, 0);
      expect(Math.abs(fd - ad)).toBeLessThan(2e-3 * Math.max(1, Math.abs(ad)));
    }
    await Promise.all([g.release(), prefix.release(), cached.release()]);
    model.store.dispose();
  });
});
