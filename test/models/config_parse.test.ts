// parseHfConfig against all seven fixture configs (transformers-5 spelling) and hand-written configs in the
// transformers-4 spelling of real Hub models. Expected values are read off each config with HF's semantics:
// head_dim = hidden/heads when absent, Gemma attention scale = query_pre_attn_scalar^-0.5, Gemma embed scale =
// sqrt(hidden) rounded to the checkpoint dtype, layer types from layer_types or the family's pattern.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ModelConfig } from '../../src/models/config';
import { parseHfConfig } from '../../src/models/config_parse';

const REF = path.resolve(__dirname, '../../../shared/reference');
const cfgOf = (name: string) => JSON.parse(readFileSync(path.join(REF, name, 'config.json'), 'utf8')) as Record<string, unknown>;
const F = 'full' as const;
const S = 'sliding' as const;

// the tiny fixtures share vocab 1000, hidden 64, intermediate 128, 4 layers, 4 heads, 2 KV heads, 256 positions
const tiny = { vocabSize: 1000, hiddenSize: 64, intermediateSize: 128, numLayers: 4, numHeads: 4, numKvHeads: 2, headDim: 16, rmsNormEps: 1e-6, maxPositions: 256, bufferDtype: 'float32' as const };
const silu = { activation: 'silu' as const, normPlusOne: false, sandwichNorms: false, embedScale: 1, attnScale: 0.25 };
const gemma = { activation: 'gelu_tanh' as const, normPlusOne: true, sandwichNorms: true, embedScale: 8, attnScale: 0.25, tieEmbeddings: true, qkvBias: false, oBias: false };

const EXPECTED: Record<string, ModelConfig> = {
  qwen2: {
    arch: 'qwen2', modelType: 'qwen2', ...tiny, ...silu,
    rope: { theta: 1e6, type: 'default' }, tieEmbeddings: true, qkvBias: true, oBias: false, qkNorm: false,
    layerTypes: [F, F, F, F], eosTokenIds: [],
  },
  qwen3: {
    arch: 'qwen3', modelType: 'qwen3', ...tiny, ...silu,
    rope: { theta: 1e6, type: 'default' }, tieEmbeddings: true, qkvBias: false, oBias: false, qkNorm: true,
    layerTypes: [F, F, F, F], eosTokenIds: [],
  },
  llama: {
    arch: 'llama', modelType: 'llama', ...tiny, ...silu,
    rope: { theta: 1e4, type: 'default' }, tieEmbeddings: false, qkvBias: false, oBias: false, qkNorm: false,
    layerTypes: [F, F, F, F], bosTokenId: 1, eosTokenIds: [2],
  },
  gemma2: {
    arch: 'gemma2', modelType: 'gemma2', ...tiny, ...gemma, qkNorm: false,
    rope: { theta: 1e4, type: 'default' }, attnSoftcap: 50, finalSoftcap: 30,
    layerTypes: [S, F, S, F], slidingWindow: 8, bosTokenId: 2, eosTokenIds: [1], padTokenId: 0,
  },
  gemma3: {
    arch: 'gemma3', modelType: 'gemma3_text', ...tiny, ...gemma, qkNorm: true,
    rope: { theta: 1e6, type: 'default' }, ropeLocal: { theta: 1e4, type: 'default' },
    layerTypes: [S, F, S, F], slidingWindow: 8, bosTokenId: 2, eosTokenIds: [1], padTokenId: 0,
  },
  'qwen2-hub': {
    arch: 'qwen2', modelType: 'qwen2', vocabSize: 151936, hiddenSize: 32, intermediateSize: 64, numLayers: 4, numHeads: 4, numKvHeads: 2, headDim: 8,
    rmsNormEps: 1e-6, maxPositions: 4096, bufferDtype: 'bfloat16', ...silu, attnScale: 8 ** -0.5,
    rope: { theta: 1e6, type: 'default' }, tieEmbeddings: true, qkvBias: true, oBias: false, qkNorm: false,
    layerTypes: [F, F, F, F], bosTokenId: 151643, eosTokenIds: [151645],
  },
  'gemma3-hub': {
    arch: 'gemma3', modelType: 'gemma3_text', vocabSize: 262144, hiddenSize: 24, intermediateSize: 48, numLayers: 4, numHeads: 2, numKvHeads: 1, headDim: 12,
    rmsNormEps: 1e-6, maxPositions: 4096, bufferDtype: 'bfloat16', ...gemma, qkNorm: true,
    // sqrt(24) = 4.899 = 1.2247·2²; bf16 keeps 7 mantissa bits: round(0.2247·128) = 29 → (1 + 29/128)·4 = 4.90625
    embedScale: 4.90625, attnScale: 12 ** -0.5,
    rope: { theta: 1e6, type: 'default' }, ropeLocal: { theta: 1e4, type: 'default' },
    layerTypes: [S, S, S, S], slidingWindow: 16, bosTokenId: 2, eosTokenIds: [1], padTokenId: 0,
  },
};

describe('parseHfConfig: the fixtures (transformers 5: rope_parameters, layer_types)', () => {
  for (const [name, want] of Object.entries(EXPECTED)) {
    it(name, () => {
      const got = parseHfConfig(cfgOf(name));
      expect(got).toEqual(want);
      expect(got.attnScale).toBeCloseTo(want.attnScale, 15);
    });
  }
});

// Real Hub configs as transformers 4.x wrote them (abridged to the fields that matter)
const QWEN25_05B = {
  architectures: ['Qwen2ForCausalLM'], bos_token_id: 151643, eos_token_id: 151645, hidden_act: 'silu', hidden_size: 896, intermediate_size: 4864,
  max_position_embeddings: 32768, max_window_layers: 21, model_type: 'qwen2', num_attention_heads: 14, num_hidden_layers: 24, num_key_value_heads: 2,
  rms_norm_eps: 1e-6, rope_theta: 1000000.0, sliding_window: 32768, tie_word_embeddings: true, torch_dtype: 'bfloat16', use_sliding_window: false, vocab_size: 151936,
};
const LLAMA32_1B = {
  architectures: ['LlamaForCausalLM'], attention_bias: false, bos_token_id: 128000, eos_token_id: [128001, 128008, 128009], head_dim: 64, hidden_act: 'silu',
  hidden_size: 2048, intermediate_size: 8192, max_position_embeddings: 131072, mlp_bias: false, model_type: 'llama', num_attention_heads: 32,
  num_hidden_layers: 16, num_key_value_heads: 8, rms_norm_eps: 1e-5,
  rope_scaling: { factor: 32.0, high_freq_factor: 4.0, low_freq_factor: 1.0, original_max_position_embeddings: 8192, rope_type: 'llama3' },
  rope_theta: 500000.0, tie_word_embeddings: true, torch_dtype: 'bfloat16', vocab_size: 128256,
};
const GEMMA3_1B = {
  architectures: ['Gemma3ForCausalLM'], attention_bias: false, attn_logit_softcapping: null, bos_token_id: 2, eos_token_id: [1, 106], final_logit_softcapping: null,
  head_dim: 256, hidden_activation: 'gelu_pytorch_tanh', hidden_size: 1152, intermediate_size: 6912, max_position_embeddings: 32768, model_type: 'gemma3_text',
  num_attention_heads: 4, num_hidden_layers: 26, num_key_value_heads: 1, pad_token_id: 0, query_pre_attn_scalar: 256, rms_norm_eps: 1e-6,
  rope_local_base_freq: 10000, rope_scaling: null, rope_theta: 1000000, sliding_window: 512, sliding_window_pattern: 6, torch_dtype: 'bfloat16', vocab_size: 262144,
};
const GEMMA2_2B = {
  architectures: ['Gemma2ForCausalLM'], attention_bias: false, attn_logit_softcapping: 50.0, bos_token_id: 2, eos_token_id: [1, 107], final_logit_softcapping: 30.0,
  head_dim: 256, hidden_act: 'gelu_pytorch_tanh', hidden_activation: 'gelu_pytorch_tanh', hidden_size: 2304, intermediate_size: 9216, max_position_embeddings: 8192,
  model_type: 'gemma2', num_attention_heads: 8, num_hidden_layers: 26, num_key_value_heads: 4, pad_token_id: 0, query_pre_attn_scalar: 256, rms_norm_eps: 1e-6,
  rope_theta: 10000.0, sliding_window: 4096, torch_dtype: 'float32', vocab_size: 256000,
};
// multimodal Gemma3: the text config is nested and written as a diff against Gemma3TextConfig's defaults
const GEMMA3_4B = {
  architectures: ['Gemma3ForConditionalGeneration'], boi_token_index: 255999, eoi_token_index: 256000, eos_token_id: [1, 106], image_token_index: 262144,
  model_type: 'gemma3', mm_tokens_per_image: 256,
  text_config: { hidden_size: 2560, intermediate_size: 10240, model_type: 'gemma3_text', num_hidden_layers: 34, rope_scaling: { factor: 8.0, rope_type: 'linear' }, sliding_window: 1024 },
  torch_dtype: 'bfloat16', vision_config: { model_type: 'siglip_vision_model', hidden_size: 1152 },
};
const fullEvery = (n: number, layers: number) => Array.from({ length: layers }, (_, i) => ((i + 1) % n === 0 ? F : S));

describe('parseHfConfig: transformers-4 spelling', () => {
  it('Qwen2.5: top-level rope_theta, use_sliding_window false → every layer full', () => {
    const c = parseHfConfig(QWEN25_05B);
    expect(c).toMatchObject({ headDim: 64, numKvHeads: 2, rope: { theta: 1e6, type: 'default' }, bufferDtype: 'bfloat16', qkvBias: true, eosTokenIds: [151645], slidingWindow: undefined });
    expect(c.layerTypes).toEqual(Array(24).fill(F));
  });

  it('Llama 3.2: llama3 rope scaling and an eos list', () => {
    const c = parseHfConfig(LLAMA32_1B);
    expect(c.rope).toEqual({ theta: 500000, type: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 });
    expect(c).toMatchObject({ headDim: 64, rmsNormEps: 1e-5, tieEmbeddings: true, eosTokenIds: [128001, 128008, 128009], qkvBias: false, oBias: false });
  });

  it('Gemma3 1B: rope_local_base_freq for sliding layers, every 6th layer full, null soft-caps, bf16 embed scale', () => {
    const c = parseHfConfig(GEMMA3_1B);
    expect(c.rope).toEqual({ theta: 1e6, type: 'default' });
    expect(c.ropeLocal).toEqual({ theta: 1e4, type: 'default' });
    expect(c.layerTypes).toEqual(fullEvery(6, 26));
    expect(c.layerTypes.flatMap((t, i) => (t === F ? [i] : []))).toEqual([5, 11, 17, 23]);
    expect(c.attnSoftcap).toBeUndefined();
    expect(c.finalSoftcap).toBeUndefined();
    // sqrt(1152) = 33.94 = 1.0607·2⁵; 7 mantissa bits: round(0.0607·128) = 8 → 1.0625·32 = 34
    expect(c.embedScale).toBe(34);
    expect(c.attnScale).toBe(1 / 16);
    expect(c.eosTokenIds).toEqual([1, 106]);
  });

  it('Gemma2 2B: alternating sliding/full from layer 0, soft-caps, hidden_activation', () => {
    const c = parseHfConfig(GEMMA2_2B);
    expect(c.layerTypes).toEqual(Array.from({ length: 26 }, (_, i) => (i % 2 ? F : S)));
    expect(c).toMatchObject({ attnSoftcap: 50, finalSoftcap: 30, slidingWindow: 4096, embedScale: 48, activation: 'gelu_tanh', attnScale: 1 / 16 });
    expect(c.embedScale).toBe(Math.sqrt(2304)); // float32 checkpoint: no rounding
  });

  it('Gemma3 4B multimodal: nested text_config filled from Gemma3TextConfig defaults, linear rope on global layers', () => {
    const c = parseHfConfig(GEMMA3_4B);
    expect(c).toMatchObject({ arch: 'gemma3', modelType: 'gemma3_text', hiddenSize: 2560, numLayers: 34, vocabSize: 262208, numHeads: 8, numKvHeads: 4, headDim: 256 });
    expect(c.rope).toEqual({ theta: 1e6, type: 'linear', factor: 8 });
    expect(c.ropeLocal).toEqual({ theta: 1e4, type: 'default' });
    expect(c.layerTypes).toEqual(fullEvery(6, 34));
    expect(c).toMatchObject({ slidingWindow: 1024, eosTokenIds: [1, 106], bosTokenId: 2, tieEmbeddings: true, bufferDtype: 'bfloat16', attnScale: 1 / 16 });
    // sqrt(2560) = 50.596 = 1.5811·2⁵; round(0.5811·128) = 74 → (1 + 74/128)·32 = 50.5
    expect(c.embedScale).toBe(50.5);
  });

  it('transformers-5 flat rope_parameters with linear scaling; Gemma3 per-layer-type with scaling', () => {
    const c = cfgOf('llama');
    c.rope_parameters = { rope_type: 'linear', factor: 4, rope_theta: 10000 };
    expect(parseHfConfig(c).rope).toEqual({ theta: 1e4, type: 'linear', factor: 4 });
    const g = cfgOf('gemma3');
    g.rope_parameters = { full_attention: { rope_type: 'linear', factor: 8, rope_theta: 1e6 }, sliding_attention: { rope_type: 'default', rope_theta: 1e4 } };
    expect(parseHfConfig(g).rope).toEqual({ theta: 1e6, type: 'linear', factor: 8 });
  });

  it('derives layer types when layer_types is absent', () => {
    const q = cfgOf('qwen2');
    delete q.layer_types;
    Object.assign(q, { use_sliding_window: true, sliding_window: 16, max_window_layers: 2 });
    expect(parseHfConfig(q)).toMatchObject({ layerTypes: [F, F, S, S], slidingWindow: 16 });
    const g2 = cfgOf('gemma2');
    delete g2.layer_types;
    expect(parseHfConfig(g2).layerTypes).toEqual([S, F, S, F]);
    const g3 = cfgOf('gemma3');
    delete g3.layer_types;
    g3.sliding_window_pattern = 4;
    expect(parseHfConfig(g3).layerTypes).toEqual([S, S, S, F]);
    // Mistral is built as Llama; its window covers every layer
    const m = { ...cfgOf('llama'), model_type: 'mistral', sliding_window: 4096 };
    expect(parseHfConfig(m)).toMatchObject({ arch: 'llama', modelType: 'mistral', layerTypes: [S, S, S, S], slidingWindow: 4096 });
    expect(parseHfConfig({ ...m, sliding_window: null }).layerTypes).toEqual([F, F, F, F]);
  });

  it('attention_bias: Llama gets q/k/v and o biases, Qwen3 too; head_dim defaults to hidden/heads', () => {
    expect(parseHfConfig({ ...cfgOf('llama'), attention_bias: true })).toMatchObject({ qkvBias: true, oBias: true });
    expect(parseHfConfig({ ...cfgOf('qwen3'), attention_bias: true })).toMatchObject({ qkvBias: true, oBias: true });
    const l = cfgOf('llama');
    delete l.head_dim;
    l.num_attention_heads = 8;
    l.num_key_value_heads = 8;
    expect(parseHfConfig(l)).toMatchObject({ headDim: 8, numKvHeads: 8 });
  });
});

describe('parseHfConfig: errors name the field', () => {
  const without = (name: string, ...keys: string[]) => {
    const c = cfgOf(name);
    for (const k of keys) delete c[k];
    return c;
  };
  it.each([
    [{ ...cfgOf('qwen2'), model_type: 'gpt2' }, /model_type 'gpt2' is not supported; steerlab builds qwen2, qwen3, llama, gemma2, gemma3_text/],
    [without('qwen2', 'model_type'), /field "model_type" is missing/],
    [without('qwen2', 'hidden_size'), /field "hidden_size" is missing/],
    [without('llama', 'vocab_size'), /field "vocab_size" is missing/],
    [{ ...cfgOf('qwen2'), num_hidden_layers: '4' }, /field "num_hidden_layers" must be a number, got "4"/],
    [{ ...cfgOf('qwen2'), intermediate_size: 12.5 }, /field "intermediate_size" must be an integer/],
    [{ ...cfgOf('qwen2'), num_key_value_heads: 3 }, /num_attention_heads 4 is not a multiple of num_key_value_heads 3/],
    [{ ...cfgOf('llama'), mlp_bias: true }, /field "mlp_bias" = true is not supported/],
    [{ ...cfgOf('llama'), hidden_act: 'gelu' }, /field "hidden_act" = "gelu" is not supported/],
    [{ ...cfgOf('llama'), eos_token_id: ['x'] }, /field "eos_token_id" must be an integer or a list of integers/],
    [{ ...cfgOf('llama'), rope_parameters: { rope_type: 'yarn', rope_theta: 1e4, factor: 4 } }, /rope type "yarn" is not supported/],
    [{ ...cfgOf('llama'), rope_parameters: { rope_type: 'llama3', rope_theta: 5e5, factor: 32, low_freq_factor: 1, high_freq_factor: 4 } }, /field "original_max_position_embeddings" is missing/],
    [{ ...cfgOf('llama'), rope_parameters: { rope_type: 'default' } }, /rope_parameters: field "rope_theta" is missing/],
    [{ ...cfgOf('gemma2'), layer_types: ['sliding_attention'] }, /layer_types has 1 entries for num_hidden_layers = 4/],
    [{ ...cfgOf('gemma2'), sliding_window: null }, /sliding-window layers need field "sliding_window"/],
    [{ model_type: 'gemma3' }, /model_type 'gemma3' needs a "text_config" object/],
    [[1, 2], /config.json is not a JSON object/],
  ])('case %#', (cfg, msg) => {
    expect(() => parseHfConfig(cfg)).toThrow(msg);
  });
});
