// Hugging Face config.json → ModelConfig. Reads both the transformers-4 spelling (`rope_theta`,
// `rope_scaling`, `rope_local_base_freq`) and the transformers-5 one (`rope_parameters`, per layer type for
// Gemma3), and rejects what the graph builders cannot build with a message naming the field.

import { roundToDtype } from '../engine/dtype';
import type { Arch, ModelConfig, RopeConfig } from './config';

const SUPPORTED: Record<string, Arch> = {
  qwen2: 'qwen2',
  qwen3: 'qwen3',
  llama: 'llama',
  mistral: 'llama',
  gemma2: 'gemma2',
  gemma3_text: 'gemma3',
  gemma3: 'gemma3',
};

type Json = Record<string, unknown>;

function num(c: Json, key: string, where: string, opts: { int?: boolean; min?: number } = {}): number {
  const v = c[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${where}: field "${key}" must be a number, got ${JSON.stringify(v)}`);
  if (opts.int && !Number.isInteger(v)) throw new Error(`${where}: field "${key}" must be an integer, got ${v}`);
  if (opts.min !== undefined && v < opts.min) throw new Error(`${where}: field "${key}" must be >= ${opts.min}, got ${v}`);
  return v;
}

function optNum(c: Json, key: string, where: string): number | undefined {
  const v = c[key];
  if (v === undefined || v === null) return undefined;
  return num(c, key, where);
}

function ropeFrom(p: Json | undefined, fallbackTheta: number | undefined, where: string): RopeConfig {
  const theta = typeof p?.rope_theta === 'number' ? p.rope_theta : fallbackTheta;
  if (typeof theta !== 'number') throw new Error(`${where}: no rope theta (expected "rope_theta" or "rope_parameters.rope_theta")`);
  const type = (p?.rope_type ?? p?.type ?? 'default') as string;
  if (type === 'default') return { theta, type: 'default' };
  if (type === 'linear') return { theta, type: 'linear', factor: Number(p!.factor ?? 1) };
  if (type === 'llama3') {
    return {
      theta,
      type: 'llama3',
      factor: Number(p!.factor),
      lowFreqFactor: Number(p!.low_freq_factor),
      highFreqFactor: Number(p!.high_freq_factor),
      originalMaxPositions: Number(p!.original_max_position_embeddings),
    };
  }
  throw new Error(`${where}: rope type "${type}" is not supported (steerlab handles default, linear and llama3)`);
}

function dtypeOf(c: Json): ModelConfig['bufferDtype'] {
  const d = (c.dtype ?? c.torch_dtype ?? 'float32') as string;
  if (d === 'bfloat16') return 'bfloat16';
  if (d === 'float16') return 'float16';
  return 'float32';
}

export function parseHfConfig(json: unknown, where = 'config.json'): ModelConfig {
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new Error(`${where} is not a JSON object`);
  let c = json as Json;
  const outerType = c.model_type;
  // multimodal Gemma3 checkpoints nest the language model's config
  if (outerType === 'gemma3' && c.text_config && typeof c.text_config === 'object') c = { ...(c.text_config as Json), model_type: 'gemma3_text' };
  const modelType = c.model_type;
  if (typeof modelType !== 'string') throw new Error(`${where}: field "model_type" is missing`);
  const arch = SUPPORTED[modelType];
  if (!arch) throw new Error(`${where}: model_type '${modelType}' is not supported; steerlab builds qwen2, qwen3, llama, gemma2, gemma3_text`);

  const hidden = num(c, 'hidden_size', where, { int: true, min: 1 });
  const heads = num(c, 'num_attention_heads', where, { int: true, min: 1 });
  const kv = c.num_key_value_heads === undefined || c.num_key_value_heads === null ? heads : num(c, 'num_key_value_heads', where, { int: true, min: 1 });
  if (heads % kv !== 0) throw new Error(`${where}: num_attention_heads ${heads} is not a multiple of num_key_value_heads ${kv}`);
  const headDim = optNum(c, 'head_dim', where) ?? hidden / heads;
  if (!Number.isInteger(headDim) || headDim % 2) throw new Error(`${where}: head_dim ${headDim} must be an even integer`);
  const layers = num(c, 'num_hidden_layers', where, { int: true, min: 1 });
  const gemma = arch === 'gemma2' || arch === 'gemma3';
  const bufferDtype = dtypeOf(json as Json);

  // rope: transformers-5 `rope_parameters` (flat, or per layer type for Gemma3), else transformers-4 fields
  const rp = c.rope_parameters as Json | undefined;
  const scaling = (c.rope_scaling ?? undefined) as Json | undefined;
  let rope: RopeConfig;
  let ropeLocal: RopeConfig | undefined;
  if (rp && (rp.full_attention || rp.sliding_attention)) {
    rope = ropeFrom(rp.full_attention as Json, undefined, `${where} rope_parameters.full_attention`);
    if (rp.sliding_attention) ropeLocal = ropeFrom(rp.sliding_attention as Json, undefined, `${where} rope_parameters.sliding_attention`);
  } else if (rp) {
    rope = ropeFrom(rp, undefined, `${where} rope_parameters`);
  } else {
    const theta = optNum(c, 'rope_theta', where) ?? 10000;
    rope = ropeFrom({ ...(scaling ?? {}), rope_theta: theta }, theta, where);
    const local = optNum(c, 'rope_local_base_freq', where);
    if (arch === 'gemma3') ropeLocal = { theta: local ?? 10000, type: 'default' };
  }

  // layer types: explicit list, or the family's pattern
  let layerTypes: ('full' | 'sliding')[];
  const lt = c.layer_types;
  if (Array.isArray(lt)) {
    if (lt.length !== layers) throw new Error(`${where}: layer_types has ${lt.length} entries for ${layers} layers`);
    layerTypes = lt.map((t, i) => {
      if (t === 'full_attention') return 'full';
      if (t === 'sliding_attention') return 'sliding';
      throw new Error(`${where}: layer_types[${i}] = ${JSON.stringify(t)} is not full_attention or sliding_attention`);
    });
  } else if (arch === 'gemma2') {
    layerTypes = Array.from({ length: layers }, (_, i) => (i % 2 === 0 ? 'sliding' : 'full'));
  } else if (arch === 'gemma3') {
    const n = (c.sliding_window_pattern ?? c._sliding_window_pattern ?? 6) as number;
    layerTypes = Array.from({ length: layers }, (_, i) => ((i + 1) % n === 0 ? 'full' : 'sliding'));
  } else if (c.use_sliding_window === true) {
    const maxWindow = (c.max_window_layers ?? layers) as number;
    layerTypes = Array.from({ length: layers }, (_, i) => (i >= maxWindow ? 'sliding' : 'full'));
  } else layerTypes = Array(layers).fill('full');
  const slidingWindow = optNum(c, 'sliding_window', where);
  if (layerTypes.includes('sliding') && !slidingWindow) throw new Error(`${where}: sliding layers need "sliding_window"`);

  const act = (c.hidden_activation ?? c.hidden_act ?? (gemma ? 'gelu_pytorch_tanh' : 'silu')) as string;
  let activation: ModelConfig['activation'];
  if (act === 'silu' || act === 'swish') activation = 'silu';
  else if (act === 'gelu_pytorch_tanh' || act === 'gelu_tanh' || act === 'gelu') activation = 'gelu_tanh';
  else throw new Error(`${where}: activation "${act}" is not supported (silu or gelu_pytorch_tanh)`);

  if (c.mlp_bias === true) throw new Error(`${where}: mlp_bias = true is not supported`);
  const attentionBias = c.attention_bias === true;
  const eos = c.eos_token_id;
  const eosTokenIds = Array.isArray(eos) ? eos.filter((x): x is number => typeof x === 'number') : typeof eos === 'number' ? [eos] : [];

  let embedScale = 1;
  if (gemma) {
    // HF multiplies by sqrt(hidden) held in the checkpoint's dtype
    embedScale = roundToDtype(new Float32Array([Math.sqrt(hidden)]), bufferDtype)[0]!;
  }
  const queryScalar = gemma ? (optNum(c, 'query_pre_attn_scalar', where) ?? headDim) : headDim;

  return {
    arch,
    modelType,
    vocabSize: num(c, 'vocab_size', where, { int: true, min: 1 }),
    hiddenSize: hidden,
    intermediateSize: num(c, 'intermediate_size', where, { int: true, min: 1 }),
    numLayers: layers,
    numHeads: heads,
    numKvHeads: kv,
    headDim,
    rmsNormEps: optNum(c, 'rms_norm_eps', where) ?? 1e-6,
    rope,
    ropeLocal,
    maxPositions: optNum(c, 'max_position_embeddings', where) ?? 32768,
    tieEmbeddings: c.tie_word_embeddings !== false,
    qkvBias: arch === 'qwen2' || attentionBias,
    oBias: arch !== 'qwen2' && attentionBias,
    qkNorm: arch === 'qwen3' || arch === 'gemma3',
    activation,
    normPlusOne: gemma,
    sandwichNorms: gemma,
    embedScale,
    attnScale: queryScalar ** -0.5,
    attnSoftcap: gemma ? optNum(c, 'attn_logit_softcapping', where) : undefined,
    finalSoftcap: gemma ? optNum(c, 'final_logit_softcapping', where) : undefined,
    layerTypes,
    slidingWindow: layerTypes.includes('sliding') ? slidingWindow : undefined,
    bufferDtype,
    bosTokenId: typeof c.bos_token_id === 'number' ? c.bos_token_id : undefined,
    eosTokenIds,
    padTokenId: typeof c.pad_token_id === 'number' ? c.pad_token_id : undefined,
  };
}
