// npm run bench:engine — forward vs forward+backward (gradient w.r.t. the steering vector) on a
// Qwen2.5-0.5B-shaped model with random 4-bit weights, the cached-prefix step, and weight residency.
//
//   npm run bench:engine -- [--batch 4] [--seq 128] [--layer 12] [--reps 3] [--shape qwen05b|small] [--ep wasm|webgpu-node]
//
// --ep webgpu-node runs the same graphs on onnxruntime-node's WebGPU EP (install onnxruntime-node with scripts
// skipped; on a GPU machine this measures the WebGPU kernels the browser runs).

import { createBackend, type Backend, type Ort } from '../src/engine/runtime/backend';
import { CompiledGraph } from '../src/engine/runtime/session';
import { LoadedModel } from '../src/models/model';
import { buildPrefixGraph, buildSteerGraph } from '../src/models/steer_graph';
import { labelRows } from '../src/models/losses';
import { arg, medianMs } from './cli';
import { QWEN25_05B, randomQ4Model, type Shape } from './random_model';


const B = Number(arg('batch', '4'));
const T = Number(arg('seq', '128'));
const L = Number(arg('layer', '12'));
const reps = Number(arg('reps', '3'));
const ep = arg('ep', 'wasm');
const shape: Shape = arg('shape', 'qwen05b') === 'small' ? { layers: 8, d: 256, heads: 4, kvHeads: 2, intermediate: 768, vocab: 32000 } : QWEN25_05B;

async function backend(): Promise<Backend> {
  if (ep === 'wasm') return createBackend({ prefer: 'wasm' });
  if (ep === 'webgpu-node') {
    const modName = 'onnxruntime-node';
    const ort = (await import(modName)) as unknown as Ort;
    return { ort, kind: 'webgpu', shaderF16: false, float64: false, ortVersion: `node ${(ort.env.versions as Record<string, string> | undefined)?.node ?? '?'}`, reason: 'onnxruntime-node WebGPU EP (weights fed as CPU tensors each run)' };
  }
  throw new Error(`--ep ${ep}: expected wasm or webgpu-node`);
}

const time = (fn: () => Promise<unknown>) => medianMs(fn, reps);

const mb = (n: number) => (n / 2 ** 20).toFixed(1);

async function main() {
  const be = await backend();
  const { config, weights } = randomQ4Model(shape);
  const model = LoadedModel.create(be.kind === 'webgpu' && ep === 'webgpu-node' ? { ...be, kind: 'wasm' } : be, config, weights);
  const d = shape.d;

  const ids = BigInt64Array.from({ length: B * T }, (_, i) => BigInt((i * 7919) % shape.vocab));
  const mask = new BigInt64Array(B * T).fill(1n);
  const lossMask = Array.from({ length: B * T }, (_, i) => (i % T >= T / 2 ? 1 : 0));
  const lr = labelRows(Array.from(ids, Number), lossMask, B, T);
  const v = new Float32Array(d).map((_, i) => Math.sin(i) * 1e-3);
  const feeds = {
    v: { dtype: 'float32' as const, shape: [d], data: v },
    alpha: { dtype: 'float32' as const, shape: [], data: new Float32Array([256]) },
    ids: { dtype: 'int64' as const, shape: [B, T], data: ids },
    mask: { dtype: 'int64' as const, shape: [B, T], data: mask },
    ce_index: { dtype: 'int64' as const, shape: [lr.index.length], data: lr.index },
    ce_target: { dtype: 'int64' as const, shape: [lr.target.length], data: lr.target },
  };

  const compile = async (g: ReturnType<typeof buildSteerGraph>) => CompiledGraph.create(be, g.graph, model.store);
  const t0 = performance.now();
  const fwd = await compile(buildSteerGraph(model, { layer: L, ce: true }));
  const fwdBwd = await compile(buildSteerGraph(model, { layer: L, ce: true, grads: ['ce'] }));
  const prefix = await compile(buildPrefixGraph(model, L));
  const cached = await compile(buildSteerGraph(model, { layer: L, ce: true, grads: ['ce'], fromCache: true }));
  const compileMs = performance.now() - t0;

  const tf = await time(() => fwd.run(feeds));
  const tfb = await time(() => fwdBwd.run(feeds));
  const pre = await prefix.run({ ids: feeds.ids, mask: feeds.mask });
  const tp = await time(() => prefix.run({ ids: feeds.ids, mask: feeds.mask }));
  const { ids: _ids, ...rest } = feeds;
  void _ids;
  const tc = await time(() => cached.run({ ...rest, hidden: pre.hidden! }));
  const mem = process.memoryUsage();

  const rows: [string, string][] = [
    ['model', `${shape.layers} layers, d ${d}, ${shape.heads} heads / ${shape.kvHeads} KV, ffn ${shape.intermediate}, vocab ${shape.vocab}, random q4`],
    ['execution provider', `${be.kind} (${be.ortVersion})${be.reason ? ' — ' + be.reason : ''}`],
    ['batch', `${B} × ${T} tokens, steering at layer ${L}, ${lr.index.length} label positions`],
    ['compile 4 sessions', `${compileMs.toFixed(0)} ms`],
    ['forward (CE)', `${tf.toFixed(0)} ms`],
    ['forward + backward (∂CE/∂v)', `${tfb.toFixed(0)} ms`],
    ['ratio fwd+bwd / fwd', `${(tfb / tf).toFixed(2)}× (target ≤ 2.5×)`],
    [`prefix to layer ${L} (cached once per batch)`, `${tp.toFixed(0)} ms`],
    [`step from cached layer-${L} activations`, `${tc.toFixed(0)} ms`],
    ['ratio cached step / full step', `${(tc / tfb).toFixed(2)}×`],
    ['weights held (one copy, shared by all sessions)', `${mb(model.weightBytes)} MiB`],
    ['ONNX bytes per session (weights are inputs, not initializers)', [fwd, fwdBwd, prefix, cached].map((s) => `${(s.modelBytes / 1024).toFixed(0)} KiB`).join(', ')],
    ['weight bytes resident per extra session', '0 (every session is fed the same store tensors)'],
    ['process rss / arrayBuffers', `${mb(mem.rss)} / ${mb(mem.arrayBuffers)} MiB`],
  ];
  const w = Math.max(...rows.map((r) => r[0].length));
  console.log('\nsteerlab engine benchmark');
  for (const [k, val] of rows) console.log(`  ${k.padEnd(w)}  ${val}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
