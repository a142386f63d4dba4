// LoRA adapters as the lab handles them: a shape (rank, alpha, which linear layers) and ONE flat parameter
// vector θ holding every factor, so the trainer, the sweeps (θ scaled, θ perturbed, θ rescaled to a norm) and PCA
// treat an adapter exactly as they treat a steering vector.
//
// θ layout: for each key in canonical order (layer ascending, then q, k, v, o, gate, up, down), A then B, each
// row-major in PEFT's layout: lora_A.weight [r, in], lora_B.weight [out, r]; the update is ΔW = scale·B·A with
// scale = alpha / r (PEFT without rsLoRA).

import type { ModelConfig } from '../../models/config';
import type { LoraSpec } from '../../models/adapter_graph';
import { Rng, deriveSeed } from '../rng';

export const LORA_MODULES = ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] as const;
export type LoraModule = (typeof LORA_MODULES)[number];
const PEFT_NAMES: Record<LoraModule, string> = { q: 'q_proj', k: 'k_proj', v: 'v_proj', o: 'o_proj', gate: 'gate_proj', up: 'up_proj', down: 'down_proj' };

export interface AdapterShape {
  kind: 'lora';
  rank: number;
  /** lora_alpha: the update is scaled by alpha / rank */
  alpha: number;
  /** linear-layer keys 'layers.<i>.<module>', canonical order */
  keys: string[];
}

export interface Adapter extends AdapterShape {
  /** θ, see the layout above */
  data: Float32Array;
}

export interface LoraEntry {
  key: string;
  layer: number;
  module: LoraModule;
  /** in and out features of the base linear layer */
  K: number;
  N: number;
  /** offsets of A ([r, K]) and B ([N, r]) in θ */
  aOff: number;
  bOff: number;
}

export function peftModuleName(m: LoraModule): string {
  return PEFT_NAMES[m];
}

/** 'down', 'down_proj', 'mlp.down_proj' → 'down' */
export function parseModule(name: string): LoraModule {
  const s = name.replace(/^.*\./, '').replace(/_proj$/, '');
  if ((LORA_MODULES as readonly string[]).includes(s)) return s as LoraModule;
  throw new Error(`unknown LoRA module "${name}" (expected one of ${LORA_MODULES.join(', ')}, or their *_proj names)`);
}

export function splitKey(key: string): { layer: number; module: LoraModule } {
  const m = /^layers\.(\d+)\.(\w+)$/.exec(key);
  if (!m) throw new Error(`LoRA key "${key}" is not layers.<i>.<module>`);
  return { layer: Number(m[1]), module: parseModule(m[2]!) };
}

/** Canonical key list for modules × layers (deduplicated, sorted by layer then module order). */
export function loraKeys(modules: string[], layers: number[]): string[] {
  const mods = [...new Set(modules.map(parseModule))];
  const ls = [...new Set(layers)];
  if (!mods.length) throw new Error('the adapter needs at least one module');
  if (!ls.length) throw new Error('the adapter needs at least one layer');
  return sortKeys(ls.flatMap((l) => mods.map((m) => `layers.${l}.${m}`)));
}

export function sortKeys(keys: string[]): string[] {
  const rank = (k: string) => {
    const { layer, module } = splitKey(k);
    return layer * LORA_MODULES.length + LORA_MODULES.indexOf(module);
  };
  return [...new Set(keys)].sort((a, b) => rank(a) - rank(b));
}

/** in/out features of a linear layer from the config (the same shapes the weight loaders check). */
export function linearDims(cfg: ModelConfig, module: LoraModule): { K: number; N: number } {
  const d = cfg.hiddenSize;
  const q = cfg.numHeads * cfg.headDim;
  const kv = cfg.numKvHeads * cfg.headDim;
  const I = cfg.intermediateSize;
  switch (module) {
    case 'q':
      return { K: d, N: q };
    case 'k':
    case 'v':
      return { K: d, N: kv };
    case 'o':
      return { K: q, N: d };
    case 'gate':
    case 'up':
      return { K: d, N: I };
    case 'down':
      return { K: I, N: d };
  }
}

export function loraLayout(cfg: ModelConfig, shape: AdapterShape): { entries: LoraEntry[]; size: number } {
  validateShape(shape, cfg);
  const r = shape.rank;
  let off = 0;
  const entries = shape.keys.map((key) => {
    const { layer, module } = splitKey(key);
    const { K, N } = linearDims(cfg, module);
    const e = { key, layer, module, K, N, aOff: off, bOff: off + r * K };
    off += r * (K + N);
    return e;
  });
  return { entries, size: off };
}

export function validateShape(shape: AdapterShape, cfg?: ModelConfig): void {
  if (shape.kind !== 'lora') throw new Error(`adapter kind "${shape.kind}" is not supported (only "lora")`);
  if (!Number.isInteger(shape.rank) || shape.rank < 1) throw new Error(`adapter rank must be a positive integer, got ${shape.rank}`);
  if (!Number.isFinite(shape.alpha) || shape.alpha <= 0) throw new Error(`adapter alpha must be a positive number, got ${shape.alpha}`);
  if (!shape.keys.length) throw new Error('the adapter has no modules');
  const sorted = sortKeys(shape.keys);
  if (sorted.join() !== shape.keys.join()) throw new Error('adapter keys must be unique and in canonical order (use loraKeys/sortKeys)');
  if (cfg) {
    for (const k of shape.keys) {
      const { layer } = splitKey(k);
      if (layer >= cfg.numLayers) throw new Error(`adapter layer ${layer} is outside 0..${cfg.numLayers - 1}`);
    }
  }
}

export function loraScale(shape: Pick<AdapterShape, 'alpha' | 'rank'>): number {
  return shape.alpha / shape.rank;
}

export function loraSpec(shape: AdapterShape): LoraSpec {
  return { keys: shape.keys, rank: shape.rank, scale: loraScale(shape) };
}

/**
 * PEFT's initialisation: lora_A kaiming-uniform with a = √5 on the [r, in] weight, i.e. U(−1/√in, 1/√in)
 * (gain √(2/(1+5)) × √(3/fan_in)); lora_B = 0, so the adapter starts as the identity and dθ reaches B first.
 */
export function peftInit(cfg: ModelConfig, shape: AdapterShape, seed: number): Float32Array {
  const { entries, size } = loraLayout(cfg, shape);
  const theta = new Float32Array(size);
  const rng = new Rng(deriveSeed(seed, 'lora-init'));
  for (const e of entries) {
    const bound = 1 / Math.sqrt(e.K);
    for (let i = 0; i < shape.rank * e.K; i++) theta[e.aOff + i] = (2 * rng.next() - 1) * bound;
  }
  return theta;
}

/** The factors of one entry as views into θ. */
export function factors(theta: Float32Array, e: LoraEntry, rank: number): { A: Float32Array; B: Float32Array } {
  return { A: theta.subarray(e.aOff, e.aOff + rank * e.K), B: theta.subarray(e.bOff, e.bOff + e.N * rank) };
}

/**
 * ‖ΔW‖_F over all modules, √Σ ‖scale·B·A‖²_F, computed through the r×r Gram matrices:
 * ‖B·A‖²_F = Σ_ij (BᵀB)_ij (A·Aᵀ)_ij. Scaling θ by s scales this by s² (both factors scale).
 */
export function deltaWNorm(cfg: ModelConfig, shape: AdapterShape, theta: Float32Array): number {
  const { entries, size } = loraLayout(cfg, shape);
  if (theta.length !== size) throw new Error(`adapter has ${theta.length} parameters, its shape needs ${size}`);
  const r = shape.rank;
  const s = loraScale(shape);
  let total = 0;
  for (const e of entries) {
    const { A, B } = factors(theta, e, r);
    for (let i = 0; i < r; i++) {
      for (let j = 0; j < r; j++) {
        let aa = 0;
        for (let k = 0; k < e.K; k++) aa += A[i * e.K + k]! * A[j * e.K + k]!;
        let bb = 0;
        for (let n = 0; n < e.N; n++) bb += B[n * r + i]! * B[n * r + j]!;
        total += aa * bb;
      }
    }
  }
  return s * Math.sqrt(Math.max(0, total));
}

/** Graph feeds lora.<key>.A / .B for θ. */
export function loraFeeds(cfg: ModelConfig, shape: AdapterShape, theta: Float32Array) {
  const { entries, size } = loraLayout(cfg, shape);
  if (theta.length !== size) throw new Error(`adapter has ${theta.length} parameters, its shape needs ${size}`);
  const r = shape.rank;
  const out: Record<string, { dtype: 'float32'; shape: number[]; data: Float32Array }> = {};
  for (const e of entries) {
    const { A, B } = factors(theta, e, r);
    out[`lora.${e.key}.A`] = { dtype: 'float32', shape: [r, e.K], data: Float32Array.from(A) };
    out[`lora.${e.key}.B`] = { dtype: 'float32', shape: [e.N, r], data: Float32Array.from(B) };
  }
  return out;
}

/** Flattens graph outputs grad_<which>/lora.<key>.A|B back into θ's layout. */
export function flatGrad(cfg: ModelConfig, shape: AdapterShape, outs: Record<string, { data: ArrayLike<number> | unknown }>, which: 'ce' | 'kl' | 'total'): Float32Array {
  const { entries, size } = loraLayout(cfg, shape);
  const g = new Float32Array(size);
  for (const e of entries) {
    for (const [part, off] of [['A', e.aOff], ['B', e.bOff]] as const) {
      const t = outs[`grad_${which}/lora.${e.key}.${part}`];
      if (!t) throw new Error(`graph output grad_${which}/lora.${e.key}.${part} is missing`);
      g.set(t.data as Float32Array, off);
    }
  }
  return g;
}

/** A short description for lists: "rank 1 · down · layers 0–23 · 26 k params". */
export function describeAdapter(shape: AdapterShape, size?: number): string {
  const mods = [...new Set(shape.keys.map((k) => splitKey(k).module))];
  const layers = [...new Set(shape.keys.map((k) => splitKey(k).layer))].sort((a, b) => a - b);
  const contiguous = layers.every((l, i) => i === 0 || l === layers[i - 1]! + 1);
  const ls = layers.length === 1 ? `layer ${layers[0]}` : contiguous ? `layers ${layers[0]}–${layers.at(-1)}` : `layers ${layers.join(', ')}`;
  return `rank ${shape.rank} · ${mods.join(', ')} · ${ls}${size !== undefined ? ` · ${size} params` : ''}`;
}
