// Generation with a LoRA adapter (the EM evaluation of adapter runs): the prefill's next token is the argmax of
// the adapter graph's logits, the KV cache gives the same tokens as recomputing, and an adapter with B = 0
// generates exactly what the model without adapter does.
import { describe, expect, it } from 'vitest';
import { CompiledGraph } from '../../src/engine/runtime/session';
import { buildAdapterGraph } from '../../src/models/adapter_graph';
import { Generator } from '../../src/lab/generate';
import { loraFeeds, loraKeys, loraLayout, loraSpec, peftInit, type AdapterShape } from '../../src/lab/adapters/lora';
import { Rng } from '../../src/lab/rng';
import { tinyModel } from '../models/adapter_fixture';

describe('generation with an adapter', () => {
  it('follows the adapter graph, with and without the cache; B = 0 is the base model', async () => {
    const model = await tinyModel('qwen2');
    const cfg = model.config;
    const shape: AdapterShape = { kind: 'lora', rank: 2, alpha: 4, keys: loraKeys(['q', 'down'], [0, 2]) };
    const rng = new Rng(11);
    const theta = Float32Array.from({ length: loraLayout(cfg, shape).size }, () => rng.gaussian() * 0.4);
    const prompt = [5, 17, 400, 3, 999, 42];
    const opts = { maxNewTokens: 5, temperature: 0, topP: 1, seed: 1, eos: [], strength: 1 };
    const none = { v: new Float32Array(cfg.hiddenSize), alpha: 0 };
    const gen = await Generator.create(model, 1, undefined, loraSpec(shape));
    const [withCache] = await gen.generate(prompt, none, { ...opts, lora: loraFeeds(cfg, shape, theta) });
    const [noCache] = await gen.generate(prompt, none, { ...opts, lora: loraFeeds(cfg, shape, theta), useCache: false });
    expect(withCache).toEqual(noCache);

    const g = await CompiledGraph.create(model.store.backend, buildAdapterGraph(model, { lora: loraSpec(shape), ce: false, logits: ['lora', 'chat'] }).graph, model.store);
    const T = prompt.length;
    const o = await g.run({ ids: { dtype: 'int64', shape: [1, T], data: BigInt64Array.from(prompt, BigInt) }, mask: { dtype: 'int64', shape: [1, T], data: new BigInt64Array(T).fill(1n) }, ...loraFeeds(cfg, shape, theta) });
    const V = cfg.vocabSize;
    const argmax = (z: Float32Array) => z.reduce((bi, x, i, a) => (x > a[bi]! ? i : bi), 0);
    const lastLora = (o.logits_lora!.data as Float32Array).subarray((T - 1) * V, T * V);
    const lastChat = (o.logits_chat!.data as Float32Array).subarray((T - 1) * V, T * V);
    expect(withCache![0]).toBe(argmax(lastLora));

    const plain = await Generator.create(model, 1);
    const [base] = await plain.generate(prompt, none, opts);
    expect(base![0]).toBe(argmax(lastChat));
    const [zeroB] = await gen.generate(prompt, none, { ...opts, lora: loraFeeds(cfg, shape, peftInit(cfg, shape, 3)) });
    expect(zeroB).toEqual(base);
    expect(withCache).not.toEqual(base);
    await Promise.all([gen.release(), plain.release(), g.release()]);
    model.store.dispose();
  });
});
