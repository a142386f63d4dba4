// A gradient check on a model's LOADED weights (whatever file they came from): the autodiff gradient of the
// steered cross-entropy w.r.t. the steering vector, against central differences of that same loss along a few
// random directions, all in our float32 graph on the backend given.

import type { Backend } from '../../src/engine/runtime/backend';
import { CompiledGraph } from '../../src/engine/runtime/session';
import type { ModelConfig } from '../../src/models/config';
import { labelRows } from '../../src/models/losses';
import { LoadedModel } from '../../src/models/model';
import { buildSteerGraph } from '../../src/models/steer_graph';
import type { ModelWeights } from '../../src/models/weights';
import { Rng } from '../../src/lab/rng';

export interface DirectionalCheck {
  /** per direction: autodiff g·u and the central difference (ce(v+hu) − ce(v−hu)) / 2h */
  ad: number[];
  fd: number[];
  /** max |ad − fd| / (|g|·|u|): the error relative to the gradient's size */
  relErr: number;
}

export async function directionalGradCheck(backend: Backend, cfg: ModelConfig, weights: ModelWeights, ids: number[], opts: { layer?: number; directions?: number; h?: number; seed?: number } = {}): Promise<DirectionalCheck> {
  const model = LoadedModel.create(backend, cfg, weights, 'check');
  const rng = new Rng(opts.seed ?? 7);
  const d = cfg.hiddenSize;
  const T = ids.length;
  const h = opts.h ?? 1e-2;
  try {
    const sg = buildSteerGraph(model, { layer: opts.layer ?? Math.floor(cfg.numLayers / 2), ce: true, grads: ['ce'] });
    const cg = await CompiledGraph.create(backend, sg.graph, model.store);
    try {
      const lossMask = ids.map((_, t) => (t >= 2 ? 1 : 0));
      const rows = labelRows(ids, lossMask, 1, T);
      const fixed = {
        alpha: { dtype: 'float32' as const, shape: [], data: new Float32Array([1]) },
        ids: { dtype: 'int64' as const, shape: [1, T], data: BigInt64Array.from(ids, BigInt) },
        mask: { dtype: 'int64' as const, shape: [1, T], data: new BigInt64Array(T).fill(1n) },
        ce_index: { dtype: 'int64' as const, shape: [rows.index.length], data: rows.index },
        ce_target: { dtype: 'int64' as const, shape: [rows.target.length], data: rows.target },
      };
      const run = async (v: Float32Array) => {
        const out = await cg.run({ ...fixed, v: { dtype: 'float32', shape: [d], data: v } });
        return { ce: Number(out.ce!.data[0]), grad: out.grad_ce!.data as Float32Array };
      };
      const v0 = Float32Array.from({ length: d }, () => (rng.next() - 0.5) * 2);
      const base = await run(v0);
      const gNorm = Math.hypot(...base.grad);
      const ad: number[] = [];
      const fd: number[] = [];
      let relErr = 0;
      for (let k = 0; k < (opts.directions ?? 3); k++) {
        const u = Float32Array.from({ length: d }, () => rng.next() - 0.5);
        const uNorm = Math.hypot(...u);
        const plus = await run(v0.map((x, i) => x + h * u[i]!));
        const minus = await run(v0.map((x, i) => x - h * u[i]!));
        const a = base.grad.reduce((s, g, i) => s + g * u[i]!, 0);
        const f = (plus.ce - minus.ce) / (2 * h);
        ad.push(a);
        fd.push(f);
        relErr = Math.max(relErr, Math.abs(a - f) / (gNorm * uNorm));
      }
      return { ad, fd, relErr };
    } finally {
      await cg.release();
    }
  } finally {
    model.store.dispose();
  }
}
