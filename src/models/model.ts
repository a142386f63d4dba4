// A model ready to build graphs over: its config, and its weights registered once in the engine's WeightStore.
// Graph builders ask for a weight by key and get a graph input that the store feeds in every session.

import { f16ToFloat32 } from '../engine/dtype';
import type { Backend } from '../engine/runtime/backend';
import { WeightStore } from '../engine/runtime/session';
import type { Builder } from '../engine/builder';
import type { Value } from '../engine/ir';
import type { ModelConfig } from './config';
import { ropeTables } from './rope';
import type { DenseTensor, EmbeddingWeight, LinearWeight, ModelWeights } from './weights';

/** How a linear layer is fed to graphs: a dense [in, out] matrix, or MatMulNBits parts. */
export type LinearRef =
  | { kind: 'dense'; key: string; K: number; N: number }
  | { kind: 'q4'; key: string; K: number; N: number; blockSize: number; hasZeroPoints: boolean };

export type EmbedRef =
  | { kind: 'dense'; key: string; vocab: number; dim: number }
  | { kind: 'q4-gather'; key: string; vocab: number; dim: number; blockSize: number; hasZeroPoints: boolean };

/** rope tables cover min(max_position_embeddings, this) positions: training uses ≤ 512, chat a few thousand */
export const ROPE_TABLE_MAX = 8192;

const LINEARS = ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] as const;
export type LinearName = (typeof LINEARS)[number];
const NORMS = ['inputNorm', 'postAttnNorm', 'preFfnNorm', 'postFfnNorm', 'qNorm', 'kNorm'] as const;
export type NormName = (typeof NORMS)[number];
const BIASES = ['qBias', 'kBias', 'vBias', 'oBias'] as const;

export class LoadedModel {
  readonly linears = new Map<string, LinearRef>();
  readonly vectors = new Set<string>();
  embed!: EmbedRef;
  /** the LM head; absent = tied to a dense embedding (Gemm with transB) */
  lmHead?: LinearRef;

  private constructor(
    readonly config: ModelConfig,
    readonly store: WeightStore,
    readonly format: string,
  ) {}

  static create(backend: Backend, config: ModelConfig, weights: ModelWeights, format = 'unknown'): LoadedModel {
    if (weights.layers.length !== config.numLayers) {
      throw new Error(`config says ${config.numLayers} layers but the weights have ${weights.layers.length}`);
    }
    const m = new LoadedModel(config, new WeightStore(backend), format);
    m.embed = m.registerEmbedding(weights.embed);
    weights.layers.forEach((lw, i) => {
      for (const name of LINEARS) m.linears.set(`layers.${i}.${name}`, m.registerLinear(`layers.${i}.${name}`, lw[name]));
      for (const name of [...NORMS, ...BIASES]) {
        const t = lw[name];
        if (t) m.registerVector(`layers.${i}.${name}`, t);
      }
    });
    m.registerVector('finalNorm', weights.finalNorm);
    m.ropePositions = Math.min(config.maxPositions, ROPE_TABLE_MAX);
    for (const [which, rope] of [['full', config.rope], ['local', config.ropeLocal]] as const) {
      if (!rope) continue;
      const t = ropeTables(rope, config.headDim, m.ropePositions, config.bufferDtype);
      m.store.set(`rope.${which}.cos`, 'float32', [m.ropePositions, config.headDim / 2], t.cos);
      m.store.set(`rope.${which}.sin`, 'float32', [m.ropePositions, config.headDim / 2], t.sin);
    }
    if (weights.lmHead) m.lmHead = m.registerLinear('lmHead', weights.lmHead);
    else if (m.embed.kind !== 'dense') throw new Error('tied LM head needs a dense embedding; this export quantises the embedding but has no separate lm_head');
    return m;
  }

  private registerVector(key: string, t: DenseTensor): void {
    this.store.set(key, 'float32', [t.data.length], t.data);
    this.vectors.add(key);
  }

  private registerLinear(key: string, w: LinearWeight): LinearRef {
    if (w.kind === 'dense') {
      const [N, K] = w.shape as [number, number];
      // HF keeps [out, in]; MatMul wants [in, out]: transpose once here, on the CPU, and keep only that copy
      const t = new Float32Array(K * N);
      for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) t[k * N + n] = w.data[n * K + k]!;
      this.store.set(key, 'float32', [K, N], t);
      return { kind: 'dense', key, K, N };
    }
    const nb = Math.ceil(w.K / w.blockSize);
    this.store.set(`${key}.packed`, 'uint8', [w.N, nb, w.blockSize / 2], w.packed);
    this.store.set(`${key}.scales`, 'float32', [w.N * nb], scalesF32(w.scales));
    if (w.zeroPoints) this.store.set(`${key}.zp`, 'uint8', [w.zeroPoints.length], w.zeroPoints);
    return { kind: 'q4', key, K: w.K, N: w.N, blockSize: w.blockSize, hasZeroPoints: !!w.zeroPoints };
  }

  private registerEmbedding(e: EmbeddingWeight): EmbedRef {
    if (e.kind === 'dense') {
      const [vocab, dim] = e.shape as [number, number];
      this.store.set('embed', 'float32', [vocab, dim], e.data);
      return { kind: 'dense', key: 'embed', vocab, dim };
    }
    const nb = Math.ceil(e.dim / e.blockSize);
    this.store.set('embed.packed', 'uint8', [e.vocab, e.dim / 2], e.packed);
    this.store.set('embed.scales', 'float32', [e.vocab, nb], scalesF32(e.scales));
    if (e.zeroPoints) this.store.set('embed.zp', 'uint8', [e.zeroPoints.length], e.zeroPoints);
    return { kind: 'q4-gather', key: 'embed', vocab: e.vocab, dim: e.dim, blockSize: e.blockSize, hasZeroPoints: !!e.zeroPoints };
  }

  /** positions covered by the rope tables */
  ropePositions = 0;

  /** the cos and sin tables [positions, headDim/2] of the full-attention or sliding-window rope */
  ropeTable(b: Builder, which: 'full' | 'local'): [Value, Value] {
    const dims = [this.ropePositions, this.config.headDim / 2];
    return [b.g.weight(`rope.${which}.cos`, 'float32', dims), b.g.weight(`rope.${which}.sin`, 'float32', dims)];
  }

  /** graph input for a registered vector (norm scale, bias) */
  vec(b: Builder, key: string): Value {
    if (!this.vectors.has(key)) throw new Error(`model has no weight ${key}`);
    return b.g.weight(key, 'float32', [this.store.entry(key).dims[0]!]);
  }

  hasVec(key: string): boolean {
    return this.vectors.has(key);
  }

  /** y = x·Wᵀ for linear `key` (layers.3.q, lmHead, ...), whatever its storage. */
  linear(b: Builder, key: string, x: Value): Value {
    const ref = key === 'lmHead' ? this.lmHead : this.linears.get(key);
    if (!ref) throw new Error(`model has no linear layer ${key}`);
    if (ref.kind === 'dense') return b.matmul(x, b.g.weight(ref.key, 'float32', [ref.K, ref.N]));
    const nb = Math.ceil(ref.K / ref.blockSize);
    const packed = b.g.weight(`${ref.key}.packed`, 'uint8', [ref.N, nb, ref.blockSize / 2]);
    const scales = b.g.weight(`${ref.key}.scales`, 'float32', [ref.N * nb]);
    const zp = ref.hasZeroPoints ? b.g.weight(`${ref.key}.zp`, 'uint8', this.store.entry(`${ref.key}.zp`).dims) : null;
    return b.matmulNBits(x, packed, scales, zp, ref.K, ref.N, ref.blockSize);
  }

  /** token embeddings [.., d] for int64 ids */
  embedTokens(b: Builder, ids: Value): Value {
    const e = this.embed;
    if (e.kind === 'dense') return b.gather(b.g.weight(e.key, 'float32', [e.vocab, e.dim]), ids, 0);
    const nb = Math.ceil(e.dim / e.blockSize);
    const packed = b.g.weight('embed.packed', 'uint8', [e.vocab, e.dim / 2]);
    const scales = b.g.weight('embed.scales', 'float32', [e.vocab, nb]);
    const zp = e.hasZeroPoints ? b.g.weight('embed.zp', 'uint8', this.store.entry('embed.zp').dims) : null;
    return b.gatherBlockQuantized(packed, ids, scales, zp, e.blockSize);
  }

  /** logits [M, vocab] for final hidden rows h [M, d] */
  head(b: Builder, h: Value): Value {
    if (this.lmHead) return this.linear(b, 'lmHead', h);
    const e = this.embed as Extract<EmbedRef, { kind: 'dense' }>;
    return b.matmulTransB(h, b.g.weight(e.key, 'float32', [e.vocab, e.dim]));
  }

  /** bytes of weights held once in the store */
  get weightBytes(): number {
    return this.store.bytes;
  }
}

function scalesF32(s: Float32Array | { f16: Uint16Array }): Float32Array {
  return s instanceof Float32Array ? s : f16ToFloat32(s.f16);
}
