// Steered generation with a KV cache: a prefill graph over the prompt, then a one-token decode graph fed the
// cached keys/values. Steering (α·v at the output of block L, every position) is on when strength ≠ 0;
// strength 0 runs the same graphs with the vector switched off exactly (α = 0 adds nothing).
//
// What crosses to the CPU per token is small: the KV cache (present_*) and the vocabulary-sized logits stay on
// the GPU (WebGPU: 'gpu-buffer' outputs fed back as the next step's inputs). At top-p 1 (the EM evaluation's
// setting) the graph samples itself: the CPU's seeded Rng feeds one uniform per row and the step returns the
// token at that point of the CDF (gpu_sampler.ts); greedy decoding takes its ArgMax. For a nucleus (top-p < 1) a
// second pair of graphs, compiled on first use, also returns the top-K tempered logits, their ids and the row's
// log-sum-exp, which decide whenever the nucleus lies within the top K; only otherwise is the full row read.
// (TopK is ~170 sort kernels per step on WebGPU: the graphs that do not need it do not carry it.)

import type { HookPoint } from '../models/hooks';
import { Builder } from '../engine/builder';
import { Graph, type TensorData } from '../engine/ir';
import { CompiledGraph, disposeIfGpu, type Feed } from '../engine/runtime/session';
import { buildDecoder, logitsOf, type KvPair, type LoraFactor } from '../models/decoder';
import type { LoraSpec } from '../models/adapter_graph';
import type { LoadedModel } from '../models/model';
import { f32, scalar } from './feeds';
import { Rng } from './rng';
import { inverseCdfSample } from './gpu_sampler';

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

/** candidates returned per row and token */
export const TOP_K = 64;

/**
 * One prefill (withPast false) or decode step. Outputs logits [B, V] (left on the GPU), lse, `sampled` (the
 * inverse-CDF draw at u), `greedy` (ArgMax) and the present KV; with k > 0 also top_values / top_indices.
 * `lora`: a LoRA adapter whose factors are inputs lora.<key>.A [r, in] / .B [out, r] (adapter_graph.ts layout)
 */
export function buildStepGraph(model: LoadedModel, layer: number, withPast: boolean, k: number, hook?: HookPoint, lora?: LoraSpec): Graph {
  const cfg = model.config;
  const g = new Graph(withPast ? 'decode' : 'prefill');
  const b = new Builder(g);
  const ids = g.input('ids', 'int64', ['B', 'T']);
  const mask = g.input('mask', 'int64', ['B', 'S']);
  const v = g.input('v', 'float32', [cfg.hiddenSize]);
  const alpha = g.input('alpha', 'float32', []);
  const invTemp = g.input('inv_temp', 'float32', []);
  const u = g.input('u', 'float32', ['B']);
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
  const out = buildDecoder(b, model, { ids, mask, past }, { steer: { layer, vector: b.mul(alpha, v), point: hook }, kv: true, ...(lora ? { lora: factors } : {}) });
  const last = b.reshape(b.slice(out.final!, [-1], [2 ** 31 - 1], [1]), [-1, cfg.hiddenSize]);
  const logits = logitsOf(b, model, last); // [B, V]
  g.output(logits, 'logits');
  const z = b.mul(logits, invTemp);
  if (k > 0) {
    const [values, indices] = b.topK(z, k);
    g.output(values, 'top_values');
    g.output(indices, 'top_indices');
  }
  g.output(b.argMax(logits, 1), 'greedy');
  const lse = b.reduceLogSumExp(z, [1], true);
  g.output(b.reshape(lse, [-1]), 'lse');
  g.output(inverseCdfSample(b, z, lse, u, cfg.vocabSize), 'sampled');
  out.present.forEach((p, i) => {
    g.output(p.k, `present_k_${i}`);
    g.output(p.v, `present_v_${i}`);
  });
  return g;
}

/**
 * Softmax sampling with temperature and nucleus (top-p), or argmax at temperature 0, over a whole logits row.
 * The generator uses it only when the top-K candidates cannot decide (a nucleus wider than K).
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

/** One row's top-K candidates: tempered logits (sorted, largest first), their ids, and the row's log-sum-exp. */
export interface TopCandidates {
  values: ArrayLike<number>;
  ids: ArrayLike<number | bigint>;
  lse: number;
}

/**
 * A token of the top-p nucleus drawn with uniform `u`, decided from the top-K entries (tempered logits and the
 * row's log Σ exp) when their mass reaches top-p — the nucleus is then a prefix of them — else `undefined`: the
 * nucleus is wider than K and the full row is needed (sampleToken).
 */
export function sampleFromTop(top: TopCandidates, topP: number, u: number): { id: number } | undefined {
  const K = top.values.length;
  const p = new Float64Array(K);
  let cum = 0;
  for (let i = 0; i < K; i++) {
    p[i] = Math.exp(top.values[i]! - top.lse);
    cum += p[i]!;
    if (cum >= topP) {
      let r = u * cum;
      for (let j = 0; j <= i; j++) {
        r -= p[j]!;
        if (r < 0) return { id: Number(top.ids[j]!) };
      }
      return { id: Number(top.ids[i]!) };
    }
  }
  return undefined;
}

type StepGraphs = { prefill: CompiledGraph; decode: CompiledGraph };

export class Generator {
  private nucleus: Promise<StepGraphs> | undefined;
  private constructor(
    readonly model: LoadedModel,
    readonly layer: number,
    private readonly plain: StepGraphs,
    private readonly k: number,
    private readonly compile: (k: number) => Promise<StepGraphs>,
  ) {}

  /** `hook`: where α·v is added (models/hooks.ts); with `lora`, every generate() call feeds that adapter's factors (opts.lora) */
  static async create(model: LoadedModel, layer: number, hook?: HookPoint, lora?: LoraSpec): Promise<Generator> {
    const be = model.store.backend;
    const gpu = ['logits', ...Array.from({ length: model.config.numLayers }, (_, i) => [`present_k_${i}`, `present_v_${i}`]).flat()];
    const compile = async (k: number): Promise<StepGraphs> => {
      const [prefill, decode] = await Promise.all([
        CompiledGraph.create(be, buildStepGraph(model, layer, false, k, hook, lora), model.store, { gpuOutputs: gpu }),
        CompiledGraph.create(be, buildStepGraph(model, layer, true, k, hook, lora), model.store, { gpuOutputs: gpu }),
      ]);
      return { prefill, decode };
    };
    return new Generator(model, layer, await compile(0), Math.min(TOP_K, model.config.vocabSize), compile);
  }

  /**
   * Continue `prompt` (token ids) `batch` times in parallel (same prompt, independent samples). Returns the new
   * tokens of each sample (up to and excluding EOS). `useCache: false` recomputes the whole sequence every step
   * (for checking the cache).
   */
  async generate(prompt: number[], vector: { v: Float32Array; alpha: number }, opts: SampleOptions & { batch?: number; useCache?: boolean; lora?: Record<string, TensorData> }): Promise<number[][]> {
    const B = opts.batch ?? 1;
    const cfg = this.model.config;
    const d = cfg.hiddenSize;
    if (vector.v.length !== d) throw new Error(`vector has ${vector.v.length} dimensions, the model has ${d}`);
    if (!prompt.length) throw new Error('empty prompt');
    const rng = new Rng(opts.seed);
    const greedy = opts.temperature <= 0;
    const base = { v: f32([d], vector.v), alpha: scalar(vector.alpha * opts.strength), inv_temp: scalar(greedy ? 1 : 1 / opts.temperature), ...opts.lora };
    const seqs = Array.from({ length: B }, () => prompt.slice());
    const done = new Array<boolean>(B).fill(false);
    const outs: number[][] = Array.from({ length: B }, () => []);
    const ids = (rows: number[][]): TensorData => ({ dtype: 'int64', shape: [B, rows[0]!.length], data: BigInt64Array.from(rows.flat(), (x) => BigInt(x)) });
    const ones = (S: number): TensorData => ({ dtype: 'int64', shape: [B, S], data: new BigInt64Array(B * S).fill(1n) });
    const nucleus = !greedy && opts.topP < 1;
    const graphs = nucleus ? await (this.nucleus ??= this.compile(this.k).catch((e: unknown) => ((this.nucleus = undefined), Promise.reject(e)))) : this.plain;
    const names = ['logits', 'lse', 'sampled', 'greedy', ...(nucleus ? ['top_values', 'top_indices'] : []), ...Array.from({ length: cfg.numLayers }, (_, i) => [`present_k_${i}`, `present_v_${i}`]).flat()];
    let past: Record<string, Feed> | null = null;
    const dropPast = () => {
      if (past) for (const t of Object.values(past)) disposeIfGpu(t);
      past = null;
    };
    try {
      for (let step = 0; step < opts.maxNewTokens; step++) {
        if (opts.signal?.aborted) break;
        const S = seqs[0]!.length;
        // one uniform per live row, drawn before the step: the graph samples with it (top-p 1), sampleFromTop otherwise
        const draws = new Float64Array(B);
        if (!greedy) for (let r = 0; r < B; r++) if (!done[r]) draws[r] = rng.next();
        const u = { dtype: 'float32' as const, shape: [B], data: Float32Array.from(draws, (x) => Math.min(Math.max(x, 2 ** -24), 1 - 2 ** -24)) };
        const out =
          opts.useCache === false || !past
            ? await graphs.prefill.runRaw({ ...base, u, ids: ids(seqs), mask: ones(S) }, names)
            : await graphs.decode.runRaw({ ...base, u, ...past, ids: ids(seqs.map((s) => [s.at(-1)!])), mask: ones(S) }, names);
        dropPast();
        if (opts.useCache !== false) {
          past = {};
          for (let i = 0; i < cfg.numLayers; i++) {
            past[`past_k_${i}`] = out[`present_k_${i}`]!;
            past[`past_v_${i}`] = out[`present_v_${i}`]!;
          }
        } else for (let i = 0; i < cfg.numLayers; i++) (disposeIfGpu(out[`present_k_${i}`]), disposeIfGpu(out[`present_v_${i}`]));
        const lse = out.lse!.data as Float32Array;
        const sampled = out.sampled!.data as BigInt64Array;
        const argmax = out.greedy!.data as BigInt64Array;
        let full: Float32Array | undefined;
        const row = async (r: number) => {
          full ??= (await (out.logits as unknown as { getData(release?: boolean): Promise<Float32Array> }).getData?.()) ?? (out.logits!.data as Float32Array);
          return full.subarray(r * cfg.vocabSize, (r + 1) * cfg.vocabSize);
        };
        const K = this.k;
        for (let r = 0; r < B; r++) {
          if (done[r]) {
            seqs[r]!.push(seqs[r]!.at(-1)!); // keep rows the same length; the token is ignored
            continue;
          }
          let tok: number;
          if (greedy) tok = Number(argmax[r]!);
          else if (!nucleus) tok = Number(sampled[r]!);
          else {
            const values = out.top_values!.data as Float32Array;
            const topIds = out.top_indices!.data as BigInt64Array;
            const top = { values: values.subarray(r * K, (r + 1) * K), ids: topIds.subarray(r * K, (r + 1) * K), lse: lse[r]! };
            const pick = sampleFromTop(top, opts.topP, draws[r]!);
            tok = pick ? pick.id : sampleToken(await row(r), opts.temperature, opts.topP, rng);
          }
          seqs[r]!.push(tok);
          if (opts.eos.includes(tok)) done[r] = true;
          else {
            outs[r]!.push(tok);
            opts.onToken?.(tok, r);
          }
        }
        disposeIfGpu(out.logits);
        if (done.every(Boolean)) break;
      }
    } finally {
      dropPast();
    }
    return outs;
  }

  async release(): Promise<void> {
    const all = [this.plain, ...(this.nucleus ? [await this.nucleus.catch(() => undefined)].filter((g): g is StepGraphs => !!g) : [])];
    this.nucleus = undefined;
    await Promise.all(all.flatMap((g) => [g.prefill.release(), g.decode.release()]));
  }
}
