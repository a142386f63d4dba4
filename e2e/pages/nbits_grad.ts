// Browser entry of the 4-bit gradient check: y = a·Wᵀ through com.microsoft MatMulNBits and the engine's VJP
// (the same packed bytes dequantised in-graph), run on the WebGPU EP. Returns y and ∂(Σ y·w)/∂a for the test to
// compare with a JS reading of the bytes.
import { grad } from '../../src/engine/autodiff';
import { Builder } from '../../src/engine/builder';
import { Graph } from '../../src/engine/ir';
import { createBackend } from '../../src/engine/runtime/backend';
import { CompiledGraph } from '../../src/engine/runtime/session';

export interface NbitsCase {
  name: string;
  N: number;
  K: number;
  blockSize: number;
  /** [rows, K] activations, row-major */
  rows: number;
  a: number[];
  /** [rows, N] upstream weights of the loss Σ y·w */
  w: number[];
  packed: number[];
  scales: number[];
  zeroPoints: number[] | null;
}

declare global {
  interface Window {
    steerlabNbitsGrad(ortDist: string, cases: NbitsCase[]): Promise<{ backend: string; results: { name: string; y: number[]; grad: number[] }[] }>;
  }
}

window.steerlabNbitsGrad = async (ortDist, cases) => {
  const backend = await createBackend({ prefer: 'webgpu', wasmPaths: ortDist });
  const results = [];
  for (const c of cases) {
    const nb = Math.ceil(c.K / c.blockSize);
    const g = new Graph('nbits_grad');
    const b = new Builder(g, 'float32');
    const a = g.input('a', 'float32', ['M', c.K]);
    const w = g.input('w', 'float32', ['M', c.N]);
    const packed = g.input('packed', 'uint8', [c.N, nb, c.blockSize / 2]);
    const scales = g.input('scales', 'float32', [c.N * nb]);
    const zp = c.zeroPoints ? g.input('zp', 'uint8', [c.zeroPoints.length]) : null;
    const y = b.matmulNBits(a, packed, scales, zp, c.K, c.N, c.blockSize);
    const loss = b.reduceSum(b.mul(y, w), [0, 1], false);
    const [ga] = grad(b, loss, [a]);
    g.output(y, 'y');
    g.output(ga!, 'grad_a');
    const cg = await CompiledGraph.create(backend, g);
    const feeds = {
      a: { dtype: 'float32' as const, shape: [c.rows, c.K], data: Float32Array.from(c.a) },
      w: { dtype: 'float32' as const, shape: [c.rows, c.N], data: Float32Array.from(c.w) },
      packed: { dtype: 'uint8' as const, shape: [c.N, nb, c.blockSize / 2], data: Uint8Array.from(c.packed) },
      scales: { dtype: 'float32' as const, shape: [c.N * nb], data: Float32Array.from(c.scales) },
      ...(c.zeroPoints ? { zp: { dtype: 'uint8' as const, shape: [c.zeroPoints.length], data: Uint8Array.from(c.zeroPoints) } } : {}),
    };
    const out = await cg.run(feeds);
    await cg.release();
    results.push({ name: c.name, y: Array.from(out.y!.data as Float32Array), grad: Array.from(out.grad_a!.data as Float32Array) });
  }
  return { backend: backend.kind, results };
};
