// The normalised decoder configuration every graph builder reads. parseHfConfig (config_parse.ts) makes one
// from a Hugging Face config.json.

export type Arch = 'qwen2' | 'qwen3' | 'llama' | 'gemma2' | 'gemma3';

export interface RopeConfig {
  theta: number;
  /** 'default' or 'llama3' (Llama 3.x frequency scaling); 'linear' scales positions by 1/factor */
  type: 'default' | 'llama3' | 'linear';
  factor?: number;
  lowFreqFactor?: number;
  highFreqFactor?: number;
  originalMaxPositions?: number;
}

export interface ModelConfig {
  arch: Arch;
  /** the config's model_type as written (e.g. 'qwen2', 'gemma3_text') */
  modelType: string;
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  rmsNormEps: number;
  /** rope for full-attention layers */
  rope: RopeConfig;
  /** rope for sliding-window layers (Gemma3 uses a different theta there); defaults to `rope` */
  ropeLocal?: RopeConfig;
  maxPositions: number;
  tieEmbeddings: boolean;
  /** q/k/v projections carry biases (Qwen2; Llama/Gemma with attention_bias) */
  qkvBias: boolean;
  /** o_proj carries a bias (Llama attention_bias) */
  oBias: boolean;
  /** per-head RMSNorm on q and k before rope (Qwen3, Gemma3) */
  qkNorm: boolean;
  activation: 'silu' | 'gelu_tanh';
  /** Gemma: RMSNorm scales are (1 + w) */
  normPlusOne: boolean;
  /** Gemma2/3: extra norms after attention and around the MLP */
  sandwichNorms: boolean;
  /** multiply embeddings by this (Gemma: sqrt(hidden_size) rounded to bufferDtype, as HF does); 1 otherwise */
  embedScale: number;
  /** attention score scale (1/sqrt(head_dim), or Gemma's 1/sqrt(query_pre_attn_scalar)) */
  attnScale: number;
  attnSoftcap?: number;
  finalSoftcap?: number;
  /** per layer: 'full' or 'sliding' */
  layerTypes: ('full' | 'sliding')[];
  slidingWindow?: number;
  /**
   * dtype the checkpoint was published in (config `dtype` / `torch_dtype`). Hugging Face loads a bf16/f16
   * checkpoint's float buffers in that dtype, so the rotary inverse frequencies and Gemma's embedding scale are
   * rounded to it even when the model then runs in float32; we reproduce that rounding.
   */
  bufferDtype: 'float32' | 'bfloat16' | 'float16';
  bosTokenId?: number;
  eosTokenIds: number[];
  padTokenId?: number;
}
