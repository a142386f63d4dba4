// A model of a given shape with random 4-bit weights, for benchmarks (no download needed).

import type { ModelConfig } from '../src/models/config';
import type { DenseTensor, LayerWeights, ModelWeights, Q4Linear } from '../src/models/weights';

export interface Shape {
  layers: number;
  d: number;
  heads: number;
  kvHeads: number;
  intermediate: number;
  vocab: number;
}

export const QWEN25_05B: Shape = { layers: 24, d: 896, heads: 14, kvHeads: 2, intermediate: 4864, vocab: 151936 };

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function q4(N: number, K: number, r: () => number): Q4Linear {
  const nb = Math.ceil(K / 32);
  const packed = new Uint8Array(N * nb * 16);
  for (let i = 0; i < packed.length; i++) packed[i] = (r() * 256) | 0;
  const scales = new Float32Array(N * nb).fill(0.02 / Math.sqrt(K / 64));
  return { kind: 'q4', N, K, blockSize: 32, bits: 4, packed, scales };
}

function ones(n: number): DenseTensor {
  return { kind: 'dense', shape: [n], data: new Float32Array(n).fill(1) };
}

export function randomQ4Model(s: Shape, seed = 1): { config: ModelConfig; weights: ModelWeights } {
  const r = rng(seed);
  const hd = s.d / s.heads;
  const config: ModelConfig = {
    arch: 'qwen2',
    modelType: 'qwen2',
    vocabSize: s.vocab,
    hiddenSize: s.d,
    intermediateSize: s.intermediate,
    numLayers: s.layers,
    numHeads: s.heads,
    numKvHeads: s.kvHeads,
    headDim: hd,
    rmsNormEps: 1e-6,
    rope: { theta: 1e6, type: 'default' },
    maxPositions: 32768,
    tieEmbeddings: true,
    qkvBias: true,
    oBias: false,
    qkNorm: false,
    activation: 'silu',
    normPlusOne: false,
    sandwichNorms: false,
    embedScale: 1,
    attnScale: 1 / Math.sqrt(hd),
    layerTypes: Array(s.layers).fill('full'),
    bufferDtype: 'bfloat16',
    eosTokenIds: [],
  };
  const layers: LayerWeights[] = [];
  for (let i = 0; i < s.layers; i++) {
    const bias = (n: number): DenseTensor => ({ kind: 'dense', shape: [n], data: new Float32Array(n).map(() => (r() - 0.5) * 0.02) });
    layers.push({
      inputNorm: ones(s.d),
      postAttnNorm: ones(s.d),
      q: q4(s.d, s.d, r),
      k: q4(s.kvHeads * hd, s.d, r),
      v: q4(s.kvHeads * hd, s.d, r),
      o: q4(s.d, s.d, r),
      qBias: bias(s.d),
      kBias: bias(s.kvHeads * hd),
      vBias: bias(s.kvHeads * hd),
      gate: q4(s.intermediate, s.d, r),
      up: q4(s.intermediate, s.d, r),
      down: q4(s.d, s.intermediate, r),
    });
  }
  // onnx-community q4 exports of tied models: 4-bit gather table plus a 4-bit LM head
  const nb = s.d / 32;
  const packed = new Uint8Array(s.vocab * (s.d / 2));
  for (let i = 0; i < packed.length; i++) packed[i] = (r() * 256) | 0;
  const weights: ModelWeights = {
    embed: { kind: 'q4-gather', vocab: s.vocab, dim: s.d, blockSize: 32, packed, scales: new Float32Array(s.vocab * nb).fill(0.01) },
    layers,
    finalNorm: ones(s.d),
    lmHead: q4(s.vocab, s.d, r),
  };
  return { config, weights };
}
