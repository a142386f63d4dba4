// Generation with a KV cache equals generation that recomputes the whole sequence, steered or not, on a real
// Qwen-layout model and tokenizer; sampling is seeded.

import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createBackend } from '../../src/engine/runtime/backend';
import { dirSource } from '../../src/models/file_source';
import { loadModel } from '../../src/models/load';
import { LoadedModel } from '../../src/models/model';
import { loadTokenizer, type ChatTokenizer } from '../../src/models/tokenizer';
import { Generator, sampleFromTop, sampleToken } from '../../src/lab/generate';
import { Rng } from '../../src/lab/rng';

const REF = path.resolve(__dirname, '../../../shared/reference/gemma3-hub');
let gen: Generator;
let tok: ChatTokenizer;
let d: number;

beforeAll(async () => {
  const src = dirSource(REF);
  const m = await loadModel(src);
  const model = LoadedModel.create(await createBackend({ prefer: 'wasm' }), m.config, m.weights);
  d = m.config.hiddenSize;
  tok = await loadTokenizer(src);
  gen = await Generator.create(model, 2);
});

describe('generation', () => {
  it('with a KV cache equals recomputing the sequence (greedy, steered and unsteered, gemma3 sliding layers)', async () => {
    const prompt = tok.applyChatTemplate([{ role: 'user', content: 'How do I treat a mild burn?' }], { addGenerationPrompt: true });
    const v = Float32Array.from({ length: d }, (_, i) => Math.cos(i) * 0.02);
    const base = { maxNewTokens: 24, temperature: 0, topP: 1, seed: 1, eos: [], strength: 1 };
    const cached = await gen.generate(prompt, { v, alpha: 256 }, base);
    const full = await gen.generate(prompt, { v, alpha: 256 }, { ...base, useCache: false });
    expect(cached[0]).toHaveLength(24);
    expect(cached).toEqual(full);
    const off = await gen.generate(prompt, { v, alpha: 256 }, { ...base, strength: 0 });
    const offFull = await gen.generate(prompt, { v, alpha: 256 }, { ...base, strength: 0, useCache: false });
    expect(off).toEqual(offFull);
    expect(off[0]).not.toEqual(cached[0]); // the vector changes what the model says
    // greedy takes the graph's ArgMax; a nucleus of one token (top-p → 0) takes the TopK graphs' first candidate
    const nucleus1 = await gen.generate(prompt, { v, alpha: 256 }, { ...base, temperature: 1, topP: 1e-9 });
    expect(nucleus1).toEqual(cached);
  });

  it('samples reproducibly per seed and stops at EOS', async () => {
    const prompt = tok.applyChatTemplate([{ role: 'user', content: 'Hi' }], { addGenerationPrompt: true });
    const v = new Float32Array(d);
    const o = { maxNewTokens: 6, temperature: 1, topP: 0.9, seed: 5, eos: [], strength: 0, batch: 2 };
    const a = await gen.generate(prompt, { v, alpha: 1 }, o);
    const b = await gen.generate(prompt, { v, alpha: 1 }, o);
    expect(a).toEqual(b);
    expect(a).toHaveLength(2);
    expect(a[0]).toHaveLength(6);
    const stop = a[0]![3]!;
    const stopped = await gen.generate(prompt, { v, alpha: 1 }, { ...o, eos: [stop] });
    expect(stopped[0]).toEqual(a[0]!.slice(0, a[0]!.indexOf(stop)));
  });

  it('samples tokens with the softmax probabilities at the given temperature', () => {
    const logits = [0, Math.log(2), Math.log(3), -Infinity];
    const rng = new Rng(11);
    const n = 12000;
    for (const [temperature, want] of [[1, [1 / 6, 2 / 6, 3 / 6, 0]], [2, [1, Math.SQRT2, Math.sqrt(3), 0].map((x) => x / (1 + Math.SQRT2 + Math.sqrt(3)))]] as const) {
      const counts = [0, 0, 0, 0];
      for (let i = 0; i < n; i++) counts[sampleToken(logits, temperature, 1, rng)]!++;
      counts.forEach((c, k) => {
        const p = want[k]!;
        // within 4 standard deviations of the binomial count
        expect(Math.abs(c - n * p)).toBeLessThanOrEqual(4 * Math.sqrt(n * p * (1 - p)) + 1e-9);
      });
    }
  });

  it('top-p keeps only the nucleus', () => {
    const logits = [10, 9.9, 0, -5];
    const seen = new Set<number>();
    const rng = new Rng(3);
    for (let i = 0; i < 200; i++) seen.add(sampleToken(logits, 1, 0.5, rng));
    expect([...seen]).toEqual([0]);
    expect(sampleToken(logits, 0, 1, rng)).toBe(0);
  });

  it('decides a nucleus from the top-K candidates when it lies within them, else asks for the full row', () => {
    const V = 40;
    const K = 6;
    const z = Array.from({ length: V }, (_, i) => Math.cos(i * 2.1) * 2.5);
    const lse = Math.log(z.reduce((a, x) => a + Math.exp(x), 0));
    const order = [...z.keys()].sort((a, b) => z[b]! - z[a]!).slice(0, K);
    const top = { values: order.map((i) => z[i]!), ids: order, lse };
    const p = order.map((i) => Math.exp(z[i]! - lse));
    // top-p = p0 + p1/2: the nucleus is the first two; u splits them in proportion
    const topP = p[0]! + p[1]! / 2;
    const share = p[0]! / (p[0]! + p[1]!);
    expect(sampleFromTop(top, topP, share * 0.99)).toEqual({ id: order[0] });
    expect(sampleFromTop(top, topP, share + (1 - share) * 0.01)).toEqual({ id: order[1] });
    expect(sampleFromTop(top, 0.05, 0.5)).toEqual({ id: order[0] });
    expect(sampleFromTop(top, 0.99, 0.5)).toBeUndefined();
  });

  it('samples in the graph at top-p 1: reproducible per seed, independent rows, cache = recompute', async () => {
    const prompt = tok.applyChatTemplate([{ role: 'user', content: 'Hi' }], { addGenerationPrompt: true });
    const v = Float32Array.from({ length: d }, (_, i) => Math.sin(i) * 0.02);
    const o = { maxNewTokens: 8, temperature: 1.5, topP: 1, seed: 9, eos: [], strength: 1, batch: 3 };
    const a = await gen.generate(prompt, { v, alpha: 64 }, o);
    expect(a).toEqual(await gen.generate(prompt, { v, alpha: 64 }, o));
    expect(a).toEqual(await gen.generate(prompt, { v, alpha: 64 }, { ...o, useCache: false }));
    expect(a.map((x) => x.length)).toEqual([8, 8, 8]);
    expect(new Set(a.map((x) => x.join(','))).size).toBe(3);
    expect(await gen.generate(prompt, { v, alpha: 64 }, { ...o, seed: 10 })).not.toEqual(a);
  });
});
