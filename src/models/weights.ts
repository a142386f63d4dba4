// The weights of one decoder model in a loader-neutral form: safetensors checkpoints and ONNX exports both
// become a ModelWeights, and the graph builders read nothing else.

/** A dense matrix or vector, float32 (f16/bf16 checkpoints are widened on load; compute is f32). */
export interface DenseTensor {
  kind: 'dense';
  shape: number[];
  data: Float32Array;
}

/**
 * A linear layer y = x·Wᵀ (+ b) stored as com.microsoft MatMulNBits 4-bit blocks, exactly as ORT's quantizer
 * lays them out: W is [N out, K in]; `packed` is uint8 [N, ceil(K/block), block/2] (two nibbles per byte, low
 * nibble first); `scales` is [N * ceil(K/block)] (float32 or float16 bits); `zeroPoints` is packed uint8 nibbles
 * [N * ceil(ceil(K/block)/2)] or absent (symmetric: zero point 8).
 */
export interface Q4Linear {
  kind: 'q4';
  N: number;
  K: number;
  blockSize: number;
  bits: 4;
  packed: Uint8Array;
  scales: Float32Array | { f16: Uint16Array };
  zeroPoints?: Uint8Array;
}

/** A linear weight in HF orientation [out, in] (dense) or quantised. */
export type LinearWeight = DenseTensor | Q4Linear;

/**
 * Token embedding table [vocab, d]: dense, or 4-bit blocks along d (GatherBlockQuantized layout: `packed` uint8
 * [vocab, d/2], `scales` [vocab, d/block], optional packed zero points), as onnx-community q4 exports store it.
 */
export type EmbeddingWeight =
  | DenseTensor
  | {
      kind: 'q4-gather';
      vocab: number;
      dim: number;
      blockSize: number;
      packed: Uint8Array;
      scales: Float32Array | { f16: Uint16Array };
      zeroPoints?: Uint8Array;
    };

export interface LayerWeights {
  inputNorm: DenseTensor; // effective RMSNorm scale (Gemma's 1+w already applied)
  postAttnNorm: DenseTensor; // Qwen/Llama: norm before the MLP; Gemma: post-attention norm
  preFfnNorm?: DenseTensor; // Gemma2/3 only
  postFfnNorm?: DenseTensor; // Gemma2/3 only
  qNorm?: DenseTensor; // Qwen3 / Gemma3 per-head q/k norms, length head_dim
  kNorm?: DenseTensor;
  q: LinearWeight;
  k: LinearWeight;
  v: LinearWeight;
  o: LinearWeight;
  qBias?: DenseTensor;
  kBias?: DenseTensor;
  vBias?: DenseTensor;
  oBias?: DenseTensor;
  gate: LinearWeight;
  up: LinearWeight;
  down: LinearWeight;
}

export interface ModelWeights {
  embed: EmbeddingWeight;
  layers: LayerWeights[];
  finalNorm: DenseTensor;
  /** absent when the LM head is tied to the embedding (and the embedding is dense) */
  lmHead?: LinearWeight;
}

export function dense(shape: number[], data: Float32Array): DenseTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  if (data.length !== n) throw new Error(`tensor of shape [${shape}] needs ${n} values, got ${data.length}`);
  return { kind: 'dense', shape, data };
}
