// Trains a steering vector (SCIENCE.md): v starts at zero (or a given vector), the graph applies α·v at the
// output of block L, the loss is CE on the training rows plus λ·KL(p_chat ‖ p_steered) on KL rows (one KL
// batch per micro-batch, cycling through the KL set), AdamW with HF's linear warm-up schedule, gradients
// averaged over `accumulation` micro-batches, a checkpoint of v every k steps. Deterministic given the seed,
// so a run resumed from its saved state continues exactly as an uninterrupted one.

import { CompiledGraph } from '../../engine/runtime/session';
import { CeStep } from './ce_step';
import type { LoadedModel } from '../../models/model';
import type { HookPoint } from '../../models/hooks';
import { collate } from '../data/batch';
import { epochOrder } from '../data/split';
import type { TokenizedRow } from '../data/tokenize';
import { Rng, deriveSeed } from '../rng';
import { batchFeeds, klIndexFeed } from '../feeds';
import { adamState, adamwStep, linearWarmup, type AdamState, type AdamWConfig } from './optim';
import { vectorTarget, type TrainTarget } from './target';

export interface TrainConfig {
  layer: number;
  /** where in block `layer` α·v is added (models/hooks.ts); default 'resid_post' */
  hook?: HookPoint;
  /** steering scale α (paper: 256); norms shown are ‖α·v‖ */
  alpha: number;
  microBatch: number;
  accumulation: number;
  /** epochs over the training rows, unless `steps` is given */
  epochs?: number;
  steps?: number;
  warmup: number;
  optim: AdamWConfig;
  /** KL weight λ per token (0 = the general solution) */
  lambdaKl: number;
  klBatch: number;
  checkpointEvery: number;
  seed: number;
  /** start from this raw vector v, or these adapter parameters θ (the remove-KL continuation) */
  init?: Float32Array;
  /**
   * float type of the KL head while training (default float32). The gradient does not need float64, which is
   * 2.5–3× slower on wasm; float32 is also what WebGPU computes, so Node and the browser train alike. The sweeps'
   * KL evaluator keeps float64 where the backend has it, because it reports small KL values.
   */
  klPrecision?: 'float32' | 'float64';
  /**
   * KL rows per graph run (default 2). The KL head holds [tokens × vocab] tensors (a KL batch of 8 × 256 tokens
   * is 1.2 GB per float32 tensor at Qwen's vocabulary), so the KL batch runs in chunks whose token-weighted
   * losses and gradients add up to exactly the whole batch's.
   */
  klChunk?: number;
  /** graph-capture the CE step on WebGPU (default true; ce_step.ts). false: the plain session, as on wasm */
  capture?: boolean;
}

export { DEFAULT_TRAIN } from './defaults';

/**
 * Step k is the k-th AdamW update. Its loss, CE, KL and norm are all measured at the vector the update started
 * from (v after k − 1 updates; step 1 is the starting vector), and lr is the rate the update used.
 */
export interface StepRecord {
  step: number;
  loss: number;
  ce: number;
  kl: number;
  norm: number;
  lr: number;
}

export interface Checkpoint {
  step: number;
  /** raw v (effective vector = α·v), or an adapter's θ */
  v: Float32Array;
}

/** Everything needed to resume: plain data (typed arrays), storable in IndexedDB or JSON. */
export interface TrainState {
  step: number;
  totalSteps: number;
  v: Float32Array;
  adam: AdamState;
  history: StepRecord[];
  checkpoints: Checkpoint[];
}

export interface TrainProgress extends StepRecord {
  totalSteps: number;
  tokensPerSec: number;
  etaSec: number;
}

export interface TrainResult {
  state: TrainState;
  cancelled: boolean;
}

export interface RunOptions {
  signal?: AbortSignal;
  onProgress?: (p: TrainProgress) => void;
  onCheckpoint?: (c: Checkpoint, state: TrainState) => void | Promise<void>;
  /** continue from a saved state instead of starting fresh */
  resume?: TrainState;
}

export class SteeringTrainer {
  private constructor(
    readonly model: LoadedModel,
    readonly cfg: TrainConfig,
    private readonly ceStep: CeStep,
    private readonly klGraph: CompiledGraph | undefined,
    private readonly train: TokenizedRow[],
    private readonly kl: TokenizedRow[],
    private readonly padId: number,
    readonly target: TrainTarget,
  ) {}

  /** `target`: what is trained (default: the steering vector at cfg.layer, scale cfg.alpha; or adapterTarget) */
  static async create(model: LoadedModel, cfg: TrainConfig, data: { train: TokenizedRow[]; kl?: TokenizedRow[]; padId: number }, target: TrainTarget = vectorTarget(model, cfg.layer, cfg.alpha, cfg.hook)): Promise<SteeringTrainer> {
    if (!data.train.length) throw new Error('training set is empty');
    if (cfg.lambdaKl > 0 && !data.kl?.length) throw new Error(`λ = ${cfg.lambdaKl} needs KL data, and the KL set is empty`);
    for (const [k, v] of Object.entries({ microBatch: cfg.microBatch, accumulation: cfg.accumulation, klBatch: cfg.klBatch, checkpointEvery: cfg.checkpointEvery })) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`train.${k} must be a positive integer, got ${v}`);
    }
    if (cfg.klChunk !== undefined && (!Number.isInteger(cfg.klChunk) || cfg.klChunk < 1)) throw new Error(`train.klChunk must be a positive integer, got ${cfg.klChunk}`);
    // CE and KL run as separate graphs: the KL batch goes through in chunks (see klChunk)
    const be = model.store.backend;
    // row bounds let the heads chunk their vocabulary-sized tensors (losses.headChunks)
    const longest = Math.max(1, ...data.train.map((r) => r.ids.length));
    const klLongest = Math.max(1, ...(data.kl ?? []).map((r) => r.ids.length));
    const ceStep = await CeStep.create(model, target, { microBatch: cfg.microBatch, longest, padId: data.padId, capture: cfg.capture });
    const klGraph = cfg.lambdaKl > 0 ? await CompiledGraph.create(be, target.klGraph(cfg.klPrecision ?? 'float32', (cfg.klChunk ?? 2) * klLongest), model.store) : undefined;
    // the KL set is walked in one fixed seeded order
    const kl = data.kl?.length ? new Rng(deriveSeed(cfg.seed, 'kl-order')).shuffle(data.kl.slice()) : [];
    return new SteeringTrainer(model, cfg, ceStep, klGraph, data.train, kl, data.padId, target);
  }

  get microBatchesPerEpoch(): number {
    return Math.ceil(this.train.length / this.cfg.microBatch);
  }

  get totalSteps(): number {
    if (this.cfg.steps !== undefined) return this.cfg.steps;
    return Math.ceil((this.microBatchesPerEpoch * (this.cfg.epochs ?? 1)) / this.cfg.accumulation);
  }

  /** rows of global micro-batch g (epochs follow each other, each in its own seeded order) */
  private microRows(g: number): TokenizedRow[] {
    const per = this.microBatchesPerEpoch;
    const order = epochOrder(this.train, this.cfg.seed, Math.floor(g / per));
    const j = g % per;
    return order.slice(j * this.cfg.microBatch, (j + 1) * this.cfg.microBatch);
  }

  private klRows(g: number): TokenizedRow[] {
    const n = this.kl.length;
    return Array.from({ length: this.cfg.klBatch }, (_, i) => this.kl[(g * this.cfg.klBatch + i) % n]!);
  }

  initialState(): TrainState {
    const d = this.target.size;
    const v = this.cfg.init ? Float32Array.from(this.cfg.init) : this.target.init(deriveSeed(this.cfg.seed, 'init'));
    if (v.length !== d) throw new Error(`initial parameters have ${v.length} values, the trained ${d === this.model.config.hiddenSize ? 'vector' : 'adapter'} has ${d}`);
    return { step: 0, totalSteps: this.totalSteps, v, adam: adamState(d), history: [], checkpoints: [] };
  }

  async run(opts: RunOptions = {}): Promise<TrainResult> {
    const cfg = this.cfg;
    const state = opts.resume ? cloneState(opts.resume) : this.initialState();
    const total = this.totalSteps;
    const d = this.target.size;
    const t0 = performance.now();
    let tokens = 0;
    const startStep = state.step;
    while (state.step < total) {
      const grad = new Float64Array(d);
      let loss = 0;
      let ce = 0;
      let kl = 0;
      for (let a = 0; a < cfg.accumulation; a++) {
        if (opts.signal?.aborted) return { state, cancelled: true };
        const g = state.step * cfg.accumulation + a;
        const rows = this.microRows(g);
        const vec = this.target.feeds(state.v);
        const { out } = await this.ceStep.run(rows, vec);
        tokens += rows.length * Math.max(...rows.map((r) => r.ids.length));
        const gv = this.target.grad(out, 'ce');
        for (let i = 0; i < d; i++) grad[i]! += gv[i]! / cfg.accumulation;
        const c = out.ce!.data[0] as number;
        let k = 0;
        if (this.klGraph) {
          // KL = token-weighted mean over chunks; so is its gradient
          const rows = this.klRows(g);
          const chunk = cfg.klChunk ?? 2;
          const gk = new Float64Array(d);
          let nTok = 0;
          for (let r = 0; r < rows.length; r += chunk) {
            const kb = collate(rows.slice(r, r + chunk), this.padId);
            const idx = klIndexFeed(kb);
            const n = idx.shape[0]!;
            const o = await this.klGraph.run({ ...batchFeeds(kb, '', false), kl_index: idx, ...vec });
            k += (o.kl!.data[0] as number) * n;
            const gc = this.target.grad(o, 'kl');
            for (let i = 0; i < d; i++) gk[i]! += gc[i]! * n;
            nTok += n;
            tokens += kb.B * kb.T;
          }
          k /= nTok;
          for (let i = 0; i < d; i++) grad[i]! += (cfg.lambdaKl * gk[i]!) / nTok / cfg.accumulation;
        }
        ce += c / cfg.accumulation;
        kl += k / cfg.accumulation;
        loss += (c + cfg.lambdaKl * k) / cfg.accumulation;
      }
      const lr = cfg.optim.lr * linearWarmup(state.step, cfg.warmup, total);
      // step k's record describes one moment: the vector this update started from (after k − 1 updates), at
      // which CE, KL and their gradients were just measured; the update then moves v
      const measuredNorm = this.target.shownNorm(state.v);
      adamwStep(state.v, grad, state.adam, cfg.optim, lr);
      state.step += 1;
      const rec: StepRecord = { step: state.step, loss, ce, kl, norm: measuredNorm, lr };
      state.history.push(rec);
      const elapsed = (performance.now() - t0) / 1000;
      const done = state.step - startStep;
      opts.onProgress?.({ ...rec, totalSteps: total, tokensPerSec: tokens / Math.max(elapsed, 1e-9), etaSec: (elapsed / done) * (total - state.step) });
      if (state.step % cfg.checkpointEvery === 0 || state.step === total) {
        const c = { step: state.step, v: Float32Array.from(state.v) };
        state.checkpoints.push(c);
        await opts.onCheckpoint?.(c, state);
      }
    }
    return { state, cancelled: false };
  }

  async release(): Promise<void> {
    await Promise.all([this.ceStep.release(), this.klGraph?.release()]);
  }
}

export function cloneState(s: TrainState): TrainState {
  return {
    step: s.step,
    totalSteps: s.totalSteps,
    v: Float32Array.from(s.v),
    adam: { m: Float32Array.from(s.adam.m), v: Float32Array.from(s.adam.v), t: s.adam.t },
    history: s.history.map((h) => ({ ...h })),
    checkpoints: s.checkpoints.map((c) => ({ step: c.step, v: Float32Array.from(c.v) })),
  };
}
