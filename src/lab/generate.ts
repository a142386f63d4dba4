// Steered generation with a KV cache: a prefill graph over the prompt, then a one-token decode graph fed the
// cached keys/values. Steering (α·v at the output of block L, every position) is on when strength ≠ 0;
// strength 0 runs the same graphs with the vector switched off exactly (α = 0 adds nothing).

import { Builder } from '../engine/builder';
import { Graph, type TensorData } from '../engine/ir';
import { CompiledGraph } from '../engine/runtime/session';
import { buildDecoder, logitsOf, type KvPair, type LoraFactor } from '../models/decoder';
import type { LoraSpec } from '../models/adapter_graph';
import type { LoadedModel } from '../models/model';
import { f32, scalar } from './feeds';
import { Rng } from './rng';

export interface SampleOptions {
  maxNewTokens: number;
  /** 0 = greedy */
  temperature: number;
  topP: number;
  seed: number;
  /** ids that end generation */
  eos: number[];
  /** multiplier on α (0 = unsteered) */
  strength: number;
  signal?: AbortSignal;
  onToken?: (id: number, index: number) => void;
}

/** `lora`: a LoRA adapter whose factors are inputs lora.<key>.A [r, in] / .B [out, r] (adapter_graph.ts layout) */
function buildStepGraph(model: LoadedModel, layer: number, withPast: boolean, lora?: LoraSpec): Graph {
  const cfg = model.config;
  const g = new Graph(withPast ? 'decode' : 'prefill');
  const b = new Builder(g);
  const ids = g.input('ids', 'int64', ['B', 'T']);
  const mask = g.input('mask', 'int64', ['B', 'S']);
  const v = g.input('v', 'float32', [cfg.hiddenSize]);
  const alpha = g.input('alpha', 'float32', []);
  const past: KvPair[] | undefined = withPast
    ? Array.from({ length: cfg.numLayers }, (_, i) => ({
        k: g.input(`past_k_${i}`, 'float32', ['B', cfg.numKvHeads, 'P', cfg.headDim]),
        v: g.input(`past_v_${i}`, 'float32', ['B', cfg.numKvHeads, 'P', cfg.headDim]),
      }))
    : undefined;
  const factors = new Map<string, LoraFactor>();
  for (const key of lora?.keys ?? []) {
    const ref = model.linears.get(key)!;
    const A = g.input(`lora.${key}.A`, 'float32', [lora!.rank, ref.K]);
    const Bm = g.input(`lora.${key}.B`, 'float32', [ref.N, lora!.rank]);
    factors.set(key, { A: b.transpose(A, [1, 0]), B: b.transpose(Bm, [1, 0]), scale: lora!.scale });
  }
  const out = buildDecoder(b, model, { ids, mask, past }, { steer: { layer, vector: b.mul(alpha, v) }, kv: true, ...(lora ? { lora: factors } : {}) });
  const last = b.reshape(b.slice(out.final!, [-1], [2 ** 31 - 1], [1]), [-1, cfg.hiddenSize]);
  g.output(logitsOf(b, model, last), 'logits');
  out.present.forEach((p, i) => {
    g.output(p.k, `present_k_${i}`);
    g.output(p.v, `present_v_${i}`);
  });
  return g;
}

/**
 * Softmax sampling with temperature and nucleus (top-p), or argmax at temperature 0. Runs once per token over the
 * whole vocabulary (151936 for Qwen), so it avoids per-entry objects, and sorts only when top-p < 1 needs the
 * nucleus (the paper samples at top_p = 1).
 */
export function sampleToken(logits: ArrayLike<number>, temperature: number, topP: number, rng: Rng): number {
  const n = logits.length;
  let best = 0;
  for (let i = 1; i < n; i++) if (logits[i]! > logits[best]!) best = i;
  if (temperature <= 0) return best;
  const m = logits[best]!;
  const p = new Float64Array(n);
  let z = 0;
  for (let i = 0; i < n; i++) {
    p[i] = Math.exp((logits[i]! - m) / temperature);
    z += p[i]!;
  }
  if (topP >= 1) {
    let r = rng.next() * z;
    for (let i = 0; i < n; i++) {
      r -= p[i]!;
      if (r < 0) return i;
    }
    return best; // only reachable through rounding at the very end of the cumulative sum
  }
  // the nucleus: the most probable tokens until their mass reaches topP
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => p[b]! - p[a]!);
  let keep = n;
  let mass = 0;
  for (let i = 0; i < n; i++) {
    mass += p[order[i]!]!;
    if (mass >= topP * z) {
      keep = i + 1;
      break;
    }
  }
  let r = rng.next() * mass;
  for (let i = 0; i < keep; i++) {
    r -= p[order[i]!]!;
    if (r < 0) return order[i]!;
  }
  return order[keep - 1]!;
}

export class Generator {
  private constructor(
    readonly model: LoadedModel,
    readonly layer: number,
    private readonly prefill: CompiledGraph,
    private readonly decode: CompiledGraph,
  ) {}

  /** with `lora`, every generate() call feeds that adapter's factors (opts.lora) */
  static async create(model: LoadedModel, layer: number, lora?: LoraSpec): Promise<Generator> {
    const be = model.store.backend;
    const [p, d] = await Promise.all([
      CompiledGraph.create(be, buildStepGraph(model, layer, false, lora), model.store),
      CompiledGraph.create(be, buildStepGraph(model, layer, true, lora), model.store),
    ]);
    return new Generator(model, layer, p, d);
  }

  /**
   * Continue `prompt` (token ids) `batch` times in parallel (same prompt, independent samples). Returns the new
   * tokens of each sample (up to and excluding EOS). `useCache: false` recomputes the whole sequence every step
   * (for checking the cache).
   */
  async generate(prompt: number[], vector: { v: Float32Array; alpha: number }, opts: SampleOptions & { batch?: number; useCache?: boolean; lora?: Record<string, TensorData> }): Promise<number[][]> {
    const B = opts.batch ?? 1;
    const d = this.model.config.hiddenSize;
    if (vector.v.length !== d) throw new Error(`vector has ${vector.v.length} dimensions, the model has ${d}`);
    if (!prompt.length) throw new Error('empty prompt');
    const rng = new Rng(opts.seed);
    const base = { v: f32([d], vector.v), alpha: scalar(vector.alpha * opts.strength), ...opts.lora };
    const seqs = Array.from({ length: B }, () => prompt.slice());
    const done = new Array<boolean>(B).fill(false);
    const outs: number[][] = Array.from({ length: B }, () => []);
    const ids = (rows: number[][]): TensorData => ({ dtype: 'int64', shape: [B, rows[0]!.length], data: BigInt64Array.from(rows.flat(), (x) => BigInt(x)) });
    const ones = (S: number): TensorData => ({ dtype: 'int64', shape: [B, S], data: new BigInt64Array(B * S).fill(1n) });
    let past: Record<string, TensorData> | null = null;
    for (let step = 0; step < opts.maxNewTokens; step++) {
      if (opts.signal?.aborted) break;
      let out: Record<string, TensorData>;
      const S = seqs[0]!.length;
      if (opts.useCache === false || !past) {
        out = await this.prefill.run({ ...base, ids: ids(seqs), mask: ones(S) });
      } else {
        out = await this.decode.run({ ...base, ...past, ids: ids(seqs.map((s) => [s.at(-1)!])), mask: ones(S) });
      }
      past = {};
      for (let i = 0; i < this.model.config.numLayers; i++) {
        past[`past_k_${i}`] = out[`present_k_${i}`]!;
        past[`past_v_${i}`] = out[`present_v_${i}`]!;
      }
      const logits = out.logits!.data as Float32Array;
      const V = logits.length / B;
      for (let r = 0; r < B; r++) {
        if (done[r]) {
          seqs[r]!.push(seqs[r]!.at(-1)!); // keep rows the same length; the token is ignored
          continue;
        }
        const tok = sampleToken(logits.subarray(r * V, (r + 1) * V), opts.temperature, opts.topP, rng);
        seqs[r]!.push(tok);
        if (opts.eos.includes(tok)) done[r] = true;
        else {
          outs[r]!.push(tok);
          opts.onToken?.(tok, r);
        }
      }
      if (done.every(Boolean)) break;
    }
    return outs;
  }

  async release(): Promise<void> {
    await Promise.all([this.prefill.release(), this.decode.release()]);
  }
}

