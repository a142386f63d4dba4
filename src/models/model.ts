// A model ready to build graphs over: its config, and its weights registered once in the engine's WeightStore.
// Graph builders ask for a weight by key and get a graph input that the store feeds in every session.

import { f16ToFloat32 } from '../engine/dtype';
import type { Backend } from '../engine/runtime/backend';
import { WeightStore } from '../engine/runtime/session';
import type { Builder } from '../engine/builder';
import type { Value } from '../engine/ir';
import type { ModelConfig } from './config';
import { ropeTables } from './rope';
import { dense, type DenseTensor, type EmbeddingWeight, type LinearWeight, type ModelWeights, type Q4Linear } from './weights';

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

/**
 * Linears that read the same input, stored as one matrix with their outputs side by side (`layers.3.qkv`): the
 * forward is one MatMulNBits and a Split instead of three matmuls and three bias adds, and the VJP one dequantise and
 * one MatMul instead of one per member and the sums (each a kernel; on a GPU the kernel count is the step's cost).
 * Every row of a 4-bit weight is quantised on its own, so the stacked matrix is exactly the members' bytes.
 */
const GROUPS: Record<string, readonly LinearName[]> = { qkv: ['q', 'k', 'v'], gateUp: ['gate', 'up'] };

/** Where a member of a group lives: the group's key and its columns there. */
export interface GroupSlot {
  group: string;
  offset: number;
}
const NORMS = ['inputNorm', 'postAttnNorm', 'preFfnNorm', 'postFfnNorm', 'qNorm', 'kNorm'] as const;
export type NormName = (typeof NORMS)[number];
const BIASES = ['qBias', 'kBias', 'vBias', 'oBias'] as const;

export class LoadedModel {
  /** every linear layer by its own key (layers.3.q): shapes for LoRA and the graphs, whether stored alone or in a group */
  readonly linears = new Map<string, LinearRef>();
  /** stacked groups (layers.3.qkv) and, for their members, where each one's outputs are */
  readonly groups = new Map<string, { ref: LinearRef; members: string[]; sizes: number[] }>();
  readonly slots = new Map<string, GroupSlot>();
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
      const grouped = new Set<LinearName>();
      for (const [gname, names] of Object.entries(GROUPS)) {
        const stacked = stackLinears(names.map((n) => lw[n]));
        if (!stacked) continue;
        m.registerGroup(`layers.${i}`, gname, names, stacked, names.map((n) => outFeatures(lw[n])));
        names.forEach((n) => grouped.add(n));
        // the members' biases stacked the same way, when every member has one (Qwen2's q, k, v)
        const biases = names.map((n) => lw[`${n}Bias` as (typeof BIASES)[number]]);
        if (biases.every((t) => t)) {
          const data = concatParts(biases.map((t) => t!.data), f32);
          m.registerVector(`layers.${i}.${gname}Bias`, dense([data.length], data));
        }
      }
      for (const name of LINEARS) if (!grouped.has(name)) m.linears.set(`layers.${i}.${name}`, m.registerLinear(`layers.${i}.${name}`, lw[name]));
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

  /** The group stored once under `${prefix}.${name}`; its members keep their own shapes for LoRA and the graphs. */
  private registerGroup(prefix: string, name: string, members: readonly LinearName[], stacked: LinearWeight, sizes: number[]): void {
    const key = `${prefix}.${name}`;
    const ref = this.registerLinear(key, stacked);
    this.groups.set(key, { ref, members: members.map((n) => `${prefix}.${n}`), sizes });
    let offset = 0;
    members.forEach((n, j) => {
      const k = `${prefix}.${n}`;
      this.linears.set(k, { ...ref, key: k, N: sizes[j]! } as LinearRef);
      this.slots.set(k, { group: key, offset });
      offset += sizes[j]!;
    });
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

  /**
   * x·Wᵀ (+ bias, where the model has `${key}Bias`) for linears that read the same x, in the order of `keys`: one
   * matmul, one bias add and a Split when `keys` are exactly a stored group (layers.3.q, .k, .v), else one each.
   */
  project(b: Builder, keys: string[], x: Value): Value[] {
    const slot = this.slots.get(keys[0]!);
    const group = slot && this.groups.get(slot.group);
    if (group && group.members.length === keys.length && group.members.every((k, j) => keys[j] === k)) {
      // the stacked bias (every member has one) is added before the split, else each member's after it
      const stackedBias = this.hasVec(`${slot.group}Bias`);
      const y = stackedBias ? this.withBias(b, slot.group, this.linear(b, slot.group, x)) : this.linear(b, slot.group, x);
      const parts = b.split(y, -1, group.sizes);
      return stackedBias ? parts : parts.map((p, j) => this.withBias(b, keys[j]!, p));
    }
    return keys.map((k) => this.withBias(b, k, this.linear(b, k, x)));
  }

  private withBias(b: Builder, key: string, y: Value): Value {
    return this.hasVec(`${key}Bias`) ? b.add(y, this.vec(b, `${key}Bias`)) : y;
  }

  /** y = x·Wᵀ for linear `key` (layers.3.q, layers.3.qkv, lmHead, ...), whatever its storage. */
  linear(b: Builder, key: string, x: Value): Value {
    const slot = this.slots.get(key);
    if (slot) {
      // a member alone: its columns of the group's product (graphs that use the whole group call project)
      const N = this.linears.get(key)!.N;
      return b.slice(this.linear(b, slot.group, x), [slot.offset], [slot.offset + N], [-1]);
    }
    const ref = key === 'lmHead' ? this.lmHead : (this.linears.get(key) ?? this.groups.get(key)?.ref);
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

function outFeatures(w: LinearWeight): number {
  return w.kind === 'dense' ? w.shape[0]! : w.N;
}

/** The parts end to end in one new array (stacked weights and biases). */
function concatParts<T extends Float32Array | Uint8Array>(parts: T[], make: (n: number) => T): T {
  const out = make(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const f32 = (n: number) => new Float32Array(n);
const u8 = (n: number) => new Uint8Array(n);

/**
 * The members' weights as one [ΣN, K] matrix (rows are output features, so stacking is concatenation), or null
 * when they are not stored alike (dense and 4-bit mixed, other K, block size or zero-point layout).
 */
function stackLinears(ws: LinearWeight[]): LinearWeight | null {
  const [w0] = ws;
  if (!w0) return null;
  if (w0.kind === 'dense') {
    if (!ws.every((w) => w.kind === 'dense' && w.shape.length === 2 && w.shape[1] === w0.shape[1])) return null;
    const parts = ws as DenseTensor[];
    return dense([parts.reduce((a, w) => a + w.shape[0]!, 0), w0.shape[1]!], concatParts(parts.map((w) => w.data), f32));
  }
  const qs = ws as Q4Linear[];
  if (!qs.every((w) => w.kind === 'q4' && w.K === w0.K && w.blockSize === w0.blockSize && !!w.zeroPoints === !!w0.zeroPoints)) return null;
  return {
    kind: 'q4',
    N: qs.reduce((a, w) => a + w.N, 0),
    K: w0.K,
    blockSize: w0.blockSize,
    bits: 4,
    packed: concatParts(qs.map((w) => w.packed), u8),
    scales: concatParts(qs.map((w) => scalesF32(w.scales)), f32),
    ...(w0.zeroPoints ? { zeroPoints: concatParts(qs.map((w) => w.zeroPoints!), u8) } : {}),
  };
}

function scalesF32(s: Float32Array | { f16: Uint16Array }): Float32Array {
  return s instanceof Float32Array ? s : f16ToFloat32(s.f16);
}
