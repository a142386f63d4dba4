// Browser entry of the in-graph sampler check: inverseCdfSample (src/lab/gpu_sampler.ts) on the WebGPU EP, one run
// per uniform vector of each case; the test reads the sampled ids against the float64 CDF.
import { Builder } from '../../src/engine/builder';
import { Graph } from '../../src/engine/ir';
import { createBackend } from '../../src/engine/runtime/backend';
import { CompiledGraph } from '../../src/engine/runtime/session';
import { inverseCdfSample } from '../../src/lab/gpu_sampler';
import type { SamplerCase } from '../../test/lab/sampler_cases';

declare global {
  interface Window {
    steerlabSampler(ortDist: string, cases: SamplerCase[]): Promise<{ backend: string; sampled: number[][][] }>;
  }
}

window.steerlabSampler = async (ortDist, cases) => {
  const backend = await createBackend({ prefer: 'webgpu', wasmPaths: ortDist });
  const sampled: number[][][] = [];
  for (const c of cases) {
    const g = new Graph('sampler');
    const b = new Builder(g, 'float32');
    const z = g.input('z', 'float32', ['B', c.V]);
    const u = g.input('u', 'float32', ['B']);
    g.output(inverseCdfSample(b, z, b.reduceLogSumExp(z, [1], true), u, c.V), 'sampled');
    const cg = await CompiledGraph.create(backend, g);
    const zf = Float32Array.from(c.logits, (x) => (x === null ? -Infinity : x));
    const runs: number[][] = [];
    for (const us of c.us) {
      const out = await cg.run({ z: { dtype: 'float32', shape: [c.B, c.V], data: zf }, u: { dtype: 'float32', shape: [c.B], data: Float32Array.from(us) } });
      runs.push(Array.from(out.sampled!.data as BigInt64Array, Number));
    }
    await cg.release();
    sampled.push(runs);
  }
  return { backend: backend.kind, sampled };
};
