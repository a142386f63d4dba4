// Hugging Face config.json → ModelConfig. Reads both the transformers-4 spelling (`rope_theta`, `rope_scaling`,
// `rope_local_base_freq`) and the transformers-5 one (`rope_parameters`, per layer type for Gemma3), and rejects
// what the graph builders cannot build with a message naming the field.

import { roundToDtype } from '../engine/dtype';
import type { Arch, ModelConfig, RopeConfig } from './config';

const SUPPORTED: Record<string, Arch> = {
  qwen2: 'qwen2',
  qwen3: 'qwen3',
  llama: 'llama',
  mistral: 'llama', // Llama architecture (+ a sliding window on every layer when set)
  gemma2: 'gemma2',
  gemma3_text: 'gemma3',
};

type Json = Record<string, unknown>;

// transformers writes the nested text_config of a multimodal Gemma3 checkpoint as a diff against
// Gemma3TextConfig's defaults, so fields equal to these are simply absent there
const GEMMA3_TEXT_DEFAULTS: Json = {
  vocab_size: 262208,
  num_attention_heads: 8,
  num_key_value_heads: 4,
  head_dim: 256,
  hidden_activation: 'gelu_pytorch_tanh',
  max_position_embeddings: 131072,
  rms_norm_eps: 1e-6,
  rope_theta: 1_000_000,
  rope_local_base_freq: 10_000,
  query_pre_attn_scalar: 256,
  sliding_window: 4096,
  sliding_window_pattern: 6,
  final_logit_softcapping: null,
  attn_logit_softcapping: null,
  tie_word_embeddings: true,
  bos_token_id: 2,
  eos_token_id: 1,
  pad_token_id: 0,
};

// Gemma2Config defaults for the optional fields (real configs write them; HF would fall back to these)
const GEMMA2_DEFAULTS: Json = { query_pre_attn_scalar: 256, attn_logit_softcapping: 50, final_logit_softcapping: 30, sliding_window: 4096 };

function num(c: Json, key: string, where: string, opts: { int?: boolean; min?: number; positive?: boolean } = {}): number {
  const v = c[key];
  if (v === undefined) throw new Error(`${where}: field "${key}" is missing`);
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${where}: field "${key}" must be a number, got ${JSON.stringify(v)}`);
  if (opts.int && !Number.isInteger(v)) throw new Error(`${where}: field "${key}" must be an integer, got ${v}`);
  if (opts.min !== undefined && v < opts.min) throw new Error(`${where}: field "${key}" must be >= ${opts.min}, got ${v}`);
  if (opts.positive && !(v > 0)) throw new Error(`${where}: field "${key}" must be > 0, got ${v}`);
  return v;
}

/** A number field that may be absent or null (→ undefined). */
function optNum(c: Json, key: string, where: string, opts: { int?: boolean; min?: number; positive?: boolean } = {}): number | undefined {
  const v = c[key];
  if (v === undefined || v === null) return undefined;
  return num(c, key, where, opts);
}

function optTokenId(c: Json, key: string, where: string): number | undefined {
  return optNum(c, key, where, { int: true });
}

function ropeFrom(p: Json, where: string): RopeConfig {
  const theta = num(p, 'rope_theta', where, { positive: true });
  const type = p.rope_type ?? p.type ?? 'default';
  if (type === 'default') return { theta, type: 'default' };
  if (type === 'linear') return { theta, type: 'linear', factor: num(p, 'factor', where, { positive: true }) };
  if (type === 'llama3') {
    return {
      theta,
      type: 'llama3',
      factor: num(p, 'factor', where, { positive: true }),
      lowFreqFactor: num(p, 'low_freq_factor', where, { positive: true }),
      highFreqFactor: num(p, 'high_freq_factor', where, { positive: true }),
      originalMaxPositions: num(p, 'original_max_position_embeddings', where, { int: true, positive: true }),
    };
  }
  throw new Error(`${where}: rope type ${JSON.stringify(type)} is not supported (steerlab handles default, linear and llama3)`);
}

function obj(v: unknown): Json | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined;
}

function dtypeOf(...cs: Json[]): ModelConfig['bufferDtype'] {
  for (const c of cs) {
    const d = c.dtype ?? c.torch_dtype;
    if (d === 'bfloat16' || d === 'float16' || d === 'float32') return d;
  }
  return 'float32';
}

/** rope for full layers and (Gemma3) sliding layers, from either spelling. */
function ropesOf(c: Json, arch: Arch, where: string): { rope: RopeConfig; ropeLocal?: RopeConfig } {
  const rp = obj(c.rope_parameters);
  if (rp && (rp.full_attention || rp.sliding_attention)) {
    // transformers 5: one set per layer type
    const full = obj(rp.full_attention);
    if (!full) throw new Error(`${where}: rope_parameters has sliding_attention but no full_attention`);
    const local = obj(rp.sliding_attention);
    return {
      rope: ropeFrom(full, `${where} rope_parameters.full_attention`),
      ropeLocal: local ? ropeFrom(local, `${where} rope_parameters.sliding_attention`) : undefined,
    };
  }
  if (rp) return { rope: ropeFrom(rp, `${where} rope_parameters`) };
  // transformers 4: rope_theta at top level, scaling in rope_scaling (Gemma3: global layers only)
  const theta = optNum(c, 'rope_theta', where, { positive: true }) ?? 10000;
  const scaling = c.rope_scaling === null || c.rope_scaling === undefined ? {} : obj(c.rope_scaling);
  if (!scaling) throw new Error(`${where}: field "rope_scaling" must be an object or null`);
  const rope = ropeFrom({ ...scaling, rope_theta: theta }, `${where} rope_scaling`);
  if (arch !== 'gemma3') return { rope };
  const local = optNum(c, 'rope_local_base_freq', where, { positive: true }) ?? 10000;
  return { rope, ropeLocal: { theta: local, type: 'default' } };
}

function layerTypesOf(c: Json, arch: Arch, modelType: string, layers: number, where: string): ('full' | 'sliding')[] {
  const lt = c.layer_types;
  if (lt !== undefined && lt !== null) {
    if (!Array.isArray(lt)) throw new Error(`${where}: field "layer_types" must be an array`);
    if (lt.length !== layers) throw new Error(`${where}: layer_types has ${lt.length} entries for num_hidden_layers = ${layers}`);
    return lt.map((t, i) => {
      if (t === 'full_attention') return 'full';
      if (t === 'sliding_attention') return 'sliding';
      throw new Error(`${where}: layer_types[${i}] = ${JSON.stringify(t)} is neither full_attention nor sliding_attention`);
    });
  }
  const all = (t: 'full' | 'sliding') => Array<'full' | 'sliding'>(layers).fill(t);
  // Gemma2: sliding on even layers (HF: is_sliding = not layer_idx % 2)
  if (arch === 'gemma2') return Array.from({ length: layers }, (_, i) => (i % 2 === 0 ? 'sliding' : 'full'));
  if (arch === 'gemma3') {
    const n = optNum(c, 'sliding_window_pattern', where, { int: true, positive: true }) ?? optNum(c, '_sliding_window_pattern', where, { int: true, positive: true }) ?? 6;
    return Array.from({ length: layers }, (_, i) => ((i + 1) % n === 0 ? 'full' : 'sliding'));
  }
  // Mistral: the window, when set, applies to every layer
  if (modelType === 'mistral') return c.sliding_window === null || c.sliding_window === undefined ? all('full') : all('sliding');
  // Qwen2/3: sliding only with use_sliding_window, from layer max_window_layers on
  if ((arch === 'qwen2' || arch === 'qwen3') && c.use_sliding_window === true && c.sliding_window !== null && c.sliding_window !== undefined) {
    const from = optNum(c, 'max_window_layers', where, { int: true, min: 0 }) ?? layers;
    return Array.from({ length: layers }, (_, i) => (i >= from ? 'sliding' : 'full'));
  }
  return all('full');
}

function activationOf(c: Json, gemma: boolean, where: string): ModelConfig['activation'] {
  // Gemma reads hidden_activation (hidden_act is a legacy field there)
  const key = gemma && c.hidden_activation !== undefined && c.hidden_activation !== null ? 'hidden_activation' : 'hidden_act';
  const act = c[key] ?? (gemma ? 'gelu_pytorch_tanh' : 'silu');
  if (act === 'silu' || act === 'swish') return 'silu';
  if (act === 'gelu_pytorch_tanh' || act === 'gelu_tanh' || act === 'gelu_new') return 'gelu_tanh';
  throw new Error(`${where}: field "${key}" = ${JSON.stringify(act)} is not supported (steerlab builds silu and gelu_pytorch_tanh)`);
}

export function parseHfConfig(json: unknown, where = 'config.json'): ModelConfig {
  const outer = obj(json);
  if (!outer) throw new Error(`${where} is not a JSON object`);
  let c = outer;
  if (outer.model_type === 'gemma3') {
    // multimodal Gemma3 (Gemma3ForConditionalGeneration): the language model's config is nested and written as a
    // diff against Gemma3TextConfig; token ids and tying may sit on the outer config
    const text = obj(outer.text_config);
    if (!text) throw new Error(`${where}: model_type 'gemma3' needs a "text_config" object`);
    const inherited: Json = {};
    for (const k of ['bos_token_id', 'eos_token_id', 'pad_token_id', 'tie_word_embeddings']) if (outer[k] !== undefined) inherited[k] = outer[k];
    c = { ...GEMMA3_TEXT_DEFAULTS, ...inherited, ...text, model_type: 'gemma3_text' };
    where = `${where} text_config`;
  }
  const modelType = c.model_type;
  if (typeof modelType !== 'string') throw new Error(`${where}: field "model_type" is missing`);
  const arch = SUPPORTED[modelType];
  if (!arch) throw new Error(`${where}: model_type '${modelType}' is not supported; steerlab builds qwen2, qwen3, llama, gemma2, gemma3_text`);
  if (arch === 'gemma2') c = { ...GEMMA2_DEFAULTS, ...c };
  const gemma = arch === 'gemma2' || arch === 'gemma3';

  const hidden = num(c, 'hidden_size', where, { int: true, positive: true });
  const heads = num(c, 'num_attention_heads', where, { int: true, positive: true });
  const kv = optNum(c, 'num_key_value_heads', where, { int: true, positive: true }) ?? heads;
  if (heads % kv !== 0) throw new Error(`${where}: num_attention_heads ${heads} is not a multiple of num_key_value_heads ${kv}`);
  const headDim = optNum(c, 'head_dim', where, { int: true, positive: true }) ?? hidden / heads;
  if (!Number.isInteger(headDim) || headDim % 2) throw new Error(`${where}: head_dim ${headDim} must be an even integer (hidden_size / num_attention_heads when absent)`);
  const layers = num(c, 'num_hidden_layers', where, { int: true, positive: true });
  const bufferDtype = dtypeOf(c, outer);

  if (c.mlp_bias === true) throw new Error(`${where}: field "mlp_bias" = true is not supported (steerlab's MLP has no biases)`);
  const attentionBias = c.attention_bias === true;

  const { rope, ropeLocal } = ropesOf(c, arch, where);
  const layerTypes = layerTypesOf(c, arch, modelType, layers, where);
  const slidingWindow = optNum(c, 'sliding_window', where, { int: true, positive: true });
  if (layerTypes.includes('sliding') && !slidingWindow) throw new Error(`${where}: sliding-window layers need field "sliding_window"`);

  const eos = c.eos_token_id;
  let eosTokenIds: number[];
  if (eos === undefined || eos === null) eosTokenIds = [];
  else if (typeof eos === 'number' && Number.isInteger(eos)) eosTokenIds = [eos];
  else if (Array.isArray(eos) && eos.every((x) => Number.isInteger(x))) eosTokenIds = eos as number[];
  else throw new Error(`${where}: field "eos_token_id" must be an integer or a list of integers, got ${JSON.stringify(eos)}`);

  // HF multiplies embeddings by sqrt(hidden) held in the checkpoint's dtype
  const embedScale = gemma ? roundToDtype(new Float32Array([Math.sqrt(hidden)]), bufferDtype)[0]! : 1;
  const queryScalar = gemma ? (optNum(c, 'query_pre_attn_scalar', where, { positive: true }) ?? headDim) : headDim;
  const tie = c.tie_word_embeddings;
  if (tie !== undefined && typeof tie !== 'boolean') throw new Error(`${where}: field "tie_word_embeddings" must be true or false`);

  return {
    arch,
    modelType,
    vocabSize: num(c, 'vocab_size', where, { int: true, positive: true }),
    hiddenSize: hidden,
    intermediateSize: num(c, 'intermediate_size', where, { int: true, positive: true }),
    numLayers: layers,
    numHeads: heads,
    numKvHeads: kv,
    headDim,
    rmsNormEps: optNum(c, 'rms_norm_eps', where, { positive: true }) ?? 1e-6,
    rope,
    ropeLocal,
    maxPositions: optNum(c, 'max_position_embeddings', where, { int: true, positive: true }) ?? 32768,
    // PretrainedConfig's default is true (transformers always writes the field when it is false)
    tieEmbeddings: tie !== false,
    qkvBias: arch === 'qwen2' || attentionBias,
    oBias: arch !== 'qwen2' && attentionBias,
    qkNorm: arch === 'qwen3' || arch === 'gemma3',
    activation: activationOf(c, gemma, where),
    normPlusOne: gemma,
    sandwichNorms: gemma,
    embedScale,
    attnScale: queryScalar ** -0.5,
    attnSoftcap: gemma ? optNum(c, 'attn_logit_softcapping', where, { positive: true }) : undefined,
    finalSoftcap: gemma ? optNum(c, 'final_logit_softcapping', where, { positive: true }) : undefined,
    layerTypes,
    slidingWindow: layerTypes.includes('sliding') ? slidingWindow : undefined,
    bufferDtype,
    bosTokenId: optTokenId(c, 'bos_token_id', where),
    eosTokenIds,
    padTokenId: optTokenId(c, 'pad_token_id', where),
  };
}
