// The trainer's CE step (loss and gradient of one micro-batch), run the fastest way the backend allows.
//
// On WebGPU the step graph is graph-captured (engine/runtime/captured.ts): onnxruntime replays the recorded GPU
// commands, so a step costs its kernels' GPU time instead of ~1500 kernel dispatches from the CPU. Capture needs
// fixed shapes, so batches are padded to `microBatch` rows (empty rows) × a length bucket (data/batch.ts
// lengthBucket: one captured graph per bucket, at most a handful), and the label rows to every position of that
// shape with weight 0 on the padding (the ceWeighted graphs). The padding changes no number the user sees: padded
// rows attend to nothing and carry no labels, padded label rows weigh 0 in the mean and in its gradient.
// Elsewhere (wasm), or if capture fails on this device, batches go through one plain session as they come.

import type { TensorData } from '../../engine/ir';
import { CapturedGraph } from '../../engine/runtime/captured';
import { CompiledGraph } from '../../engine/runtime/session';
import type { LoadedModel } from '../../models/model';
import { collate, lengthBucket, type Batch } from '../data/batch';
import type { TokenizedRow } from '../data/tokenize';
import { batchFeeds, paddedLabelFeeds } from '../feeds';
import type { TrainTarget } from './target';

type StepGraph = CompiledGraph | CapturedGraph;

/** How the step runs: 'captured' (WebGPU), 'padded' (fixed shapes, uncaptured: the captured route's feeds, for tests), 'plain' */
export type CeStepRoute = 'captured' | 'padded' | 'plain';

export class CeStep {
  private fixed = new Map<number, StepGraph>();
  private plain: CompiledGraph | undefined;
  /** why the step runs uncaptured on WebGPU (capture failed), for the logs */
  captureError: string | undefined;

  private constructor(
    private readonly model: LoadedModel,
    private readonly target: TrainTarget,
    private readonly microBatch: number,
    private readonly longest: number,
    private readonly padId: number,
    private wanted: CeStepRoute,
  ) {}

  /**
   * `longest`: the longest training row (bounds every batch). `capture` (default true) graph-captures on WebGPU;
   * `padded` pads to fixed shapes without capture (how tests on wasm check the captured route's feeds).
   */
  static async create(model: LoadedModel, target: TrainTarget, opts: { microBatch: number; longest: number; padId: number; capture?: boolean; padded?: boolean }): Promise<CeStep> {
    const route: CeStepRoute = (opts.capture ?? true) && model.store.backend.kind === 'webgpu' ? 'captured' : opts.padded ? 'padded' : 'plain';
    const s = new CeStep(model, target, opts.microBatch, opts.longest, opts.padId, route);
    if (route === 'plain') await s.plainGraph();
    return s;
  }

  get route(): CeStepRoute {
    return this.wanted;
  }

  /** CE loss and gradient outputs of one micro-batch, and the batch as it was run */
  async run(rows: TokenizedRow[], theta: Record<string, TensorData>): Promise<{ out: Record<string, TensorData>; batch: Batch }> {
    if (this.wanted !== 'plain') {
      const T = lengthBucket(Math.max(1, ...rows.map((r) => r.ids.length)), this.longest);
      const batch = collate(rows, this.padId, { padTo: T, rows: this.microBatch });
      const feeds = { ...batchFeeds(batch, '', false), ...paddedLabelFeeds(batch, batch.B * batch.T), ...theta };
      try {
        const g = await this.fixedGraph(T);
        return { out: await g.run(feeds), batch };
      } catch (e) {
        if (this.wanted !== 'captured') throw e;
        // a device that cannot capture this graph still trains, uncaptured (same numbers, slower)
        this.captureError = (e as Error).message;
        this.wanted = 'plain';
        console.warn(`steerlab: graph capture failed, training uncaptured: ${this.captureError}`);
        await this.releaseFixed();
      }
    }
    const batch = collate(rows, this.padId);
    const g = await this.plainGraph();
    return { out: await g.run({ ...batchFeeds(batch), ...theta }), batch };
  }

  /** the graph for batches padded to microBatch × T (one per length bucket) */
  private async fixedGraph(T: number): Promise<StepGraph> {
    let g = this.fixed.get(T);
    if (!g) {
      const graph = this.target.ceGraph(this.microBatch * T, true);
      const be = this.model.store.backend;
      g = this.wanted === 'captured' ? await CapturedGraph.create(be, graph, this.model.store) : await CompiledGraph.create(be, graph, this.model.store);
      this.fixed.set(T, g);
    }
    return g;
  }

  private async plainGraph(): Promise<CompiledGraph> {
    this.plain ??= await CompiledGraph.create(this.model.store.backend, this.target.ceGraph(this.microBatch * this.longest), this.model.store);
    return this.plain;
  }

  private async releaseFixed(): Promise<void> {
    const gs = [...this.fixed.values()];
    this.fixed.clear();
    await Promise.all(gs.map((g) => g.release().catch(() => undefined)));
  }

  async release(): Promise<void> {
    await this.releaseFixed();
    await this.plain?.release();
    this.plain = undefined;
  }
}
