// Kernel counts of the graphs a user's jobs run, on the Qwen2.5-0.5B shape (graphs only: nothing is run).
// On a fast GPU each kernel costs a roughly fixed dispatch time in onnxruntime's WebGPU EP, so the count is the
// first-order cost of a graph; the profile (bench/gpu_profile.ts) says where GPU time goes.
//   npx tsx bench/graph_ops.ts [--layer 12] [--layers 24]

import { createBackend } from '../src/engine/runtime/backend';
import { liveNodes } from '../src/engine/onnx/serialize';
import { LoadedModel } from '../src/models/model';
import { buildSteerGraph, type SteerGraphSpec } from '../src/models/steer_graph';
import { arg } from './cli';
import { QWEN25_05B, randomQ4Model } from './random_model';

// Shape ops the WebGPU EP runs on the CPU (no dispatch): not counted as kernels.
const CPU_SIDE = new Set(['Reshape', 'Unsqueeze', 'Squeeze', 'Shape', 'Identity', 'Flatten', 'StopGradient', 'CustomVjp']);

async function main() {
  const L = Number(arg('layer', '12'));
  const shape = { ...QWEN25_05B, layers: Number(arg('layers', String(QWEN25_05B.layers))), vocab: 1024, intermediate: 64, d: 64, heads: 2, kvHeads: 1 };
  const { config, weights } = randomQ4Model(shape);
  const model = LoadedModel.create(await createBackend({ prefer: 'wasm' }), config, weights);
  const graphs: [string, Partial<SteerGraphSpec>][] = [
    ['train step ∂CE/∂v', { layer: L, ce: true, grads: ['ce'] }],
    ['CE forward', { layer: L, ce: true, grads: [] }],
  ];
  const rows: string[] = [];
  for (const [name, spec] of graphs) {
    const g = buildSteerGraph(model, spec as SteerGraphSpec);
    const nodes = liveNodes(g.graph, g.graph.outputs);
    const by = new Map<string, number>();
    for (const n of nodes) if (!CPU_SIDE.has(n.op)) by.set(n.op, (by.get(n.op) ?? 0) + 1);
    const total = [...by.values()].reduce((a, b) => a + b, 0);
    const top = [...by.entries()].sort((a, b) => b[1] - a[1]).slice(0, 12).map(([k, v]) => `${k} ${v}`).join(', ');
    rows.push(`| ${name} | ${total} | ${top} |`);
  }
  console.log(`kernels per run, ${shape.layers} layers, hook at layer ${L} (reshapes and other CPU-side shape ops not counted)`);
  console.log('| graph | kernels | by op |\n|---|---|---|');
  for (const r of rows) console.log(r);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
