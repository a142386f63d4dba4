// npm run --silent bench:anchor -- DIR [--ep wasm|webgpu-dawn] [--batch 2] [--seq 64] [--layer L] [--reps 3]
// For a folder holding config.json and model_q4.onnx (the reference-fixture layout): our engine loads the model
// from model_q4.onnx and runs a batch through our full-logits forward and our forward + backward (∂CE/∂v);
// plain onnxruntime runs model_q4.onnx itself on the same batch and backend. Prints ONE JSON line:
// {"plain_ms", "ours_fwd_ms", "ours_step_ms", "ratio_fwd", "ratio_step", "logits_max_abs_diff", ...}.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createBackend, type Backend } from '../src/engine/runtime/backend';
import { CompiledGraph } from '../src/engine/runtime/session';
import type { TensorData } from '../src/engine/ir';
import { parseHfConfig } from '../src/models/config_parse';
import { weightsFromOnnx } from '../src/models/onnx_weights';
import { LoadedModel } from '../src/models/model';
import { labelRows } from '../src/models/losses';
import { buildSteerGraph } from '../src/models/steer_graph';

const args = process.argv.slice(2);
const opt = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : def;
};
const dir = args.find((a, i) => !a.startsWith('--') && !(i > 0 && args[i - 1]!.startsWith('--')));

async function median(fn: () => Promise<unknown>, reps: number): Promise<number> {
  await fn();
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    ts.push(performance.now() - t0);
  }
  ts.sort((a, b) => a - b);
  return ts[Math.floor(ts.length / 2)]!;
}

async function backendFor(ep: string): Promise<Backend> {
  if (ep === 'wasm') return createBackend({ prefer: 'wasm' });
  if (ep === 'webgpu-dawn') return (await import('./node_webgpu')).nodeWebGpuBackend();
  throw new Error(`--ep ${ep}: expected wasm or webgpu-dawn`);
}

async function main() {
  if (!dir) throw new Error('usage: npm run --silent bench:anchor -- DIR [--ep wasm|webgpu-dawn] [--batch 2] [--seq 64]');
  const [B, T, reps] = [Number(opt('batch', '2')), Number(opt('seq', '64')), Number(opt('reps', '3'))];
  const ep = opt('ep', 'wasm');
  const read = (f: string) => readFile(path.join(dir, f)).then((b) => new Uint8Array(b), () => { throw new Error(`${dir} has no ${f}`); });
  const cfg = parseHfConfig(JSON.parse(new TextDecoder().decode(await read('config.json'))));
  const L = Number(opt('layer', String(Math.floor(cfg.numLayers / 2))));
  const onnx = await read('model_q4.onnx');
  const be = await backendFor(ep);
  const model = LoadedModel.create(be, cfg, await weightsFromOnnx(cfg, onnx, (loc) => read(loc)), 'onnx-q4');
  const V = cfg.vocabSize;
  const d = cfg.hiddenSize;
  const idsArr = Array.from({ length: B * T }, (_, i) => (i * 7919 + 13) % V);
  const ids: TensorData = { dtype: 'int64', shape: [B, T], data: BigInt64Array.from(idsArr, BigInt) };
  const mask: TensorData = { dtype: 'int64', shape: [B, T], data: new BigInt64Array(B * T).fill(1n) };
  const lr = labelRows(idsArr, idsArr.map((_, i) => (i % T >= 1 ? 1 : 0)), B, T);
  const v: TensorData = { dtype: 'float32', shape: [d], data: new Float32Array(d) };
  const alpha: TensorData = { dtype: 'float32', shape: [], data: new Float32Array([256]) };
  const fwd = await CompiledGraph.create(be, buildSteerGraph(model, { layer: L, ce: false, logits: ['steered'] }).graph, model.store);
  const step = await CompiledGraph.create(be, buildSteerGraph(model, { layer: L, ce: true, grads: ['ce'], ceRows: B * T }).graph, model.store);
  const stepFeeds = { v, alpha, ids, mask, ce_index: { dtype: 'int64' as const, shape: [lr.index.length], data: lr.index }, ce_target: { dtype: 'int64' as const, shape: [lr.target.length], data: lr.target } };
  const ours = (await fwd.run({ v, alpha, ids, mask })).logits_steered!.data as Float32Array;
  const oursFwd = await median(() => fwd.run({ v, alpha, ids, mask }), reps);
  const oursStep = await median(() => step.run(stepFeeds), reps);

  // plain onnxruntime on the very file: its weights are initializers, loaded once at session creation
  const ort = be.ort;
  const sess = await ort.InferenceSession.create(onnx, { executionProviders: [be.kind], graphOptimizationLevel: 'all' });
  const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {
    input_ids: new ort.Tensor('int64', ids.data as BigInt64Array, [B, T]),
    attention_mask: new ort.Tensor('int64', mask.data as BigInt64Array, [B, T]),
  };
  if (sess.inputNames.includes('position_ids')) feeds.position_ids = new ort.Tensor('int64', BigInt64Array.from({ length: B * T }, (_, i) => BigInt(i % T)), [B, T]);
  const missing = sess.inputNames.filter((n) => !(n in feeds));
  if (missing.length) throw new Error(`model_q4.onnx needs inputs this anchor does not make: ${missing.join(', ')} (use the reference-fixture layout: input_ids, attention_mask → logits)`);
  const plainLogits = (await sess.run(feeds)).logits!.data as Float32Array;
  const plain = await median(() => sess.run(feeds), reps);
  let diff = 0;
  for (let i = 0; i < plainLogits.length; i++) diff = Math.max(diff, Math.abs(plainLogits[i]! - ours[i]!));
  await Promise.all([fwd.release(), step.release(), sess.release()]);
  model.store.dispose();
  const r = (x: number) => Math.round(x * 100) / 100;
  console.log(JSON.stringify({ dir, ep: be.kind, batch: [B, T], layer: L, plain_ms: r(plain), ours_fwd_ms: r(oursFwd), ours_step_ms: r(oursStep), ratio_fwd: r(oursFwd / plain), ratio_step: r(oursStep / plain), logits_max_abs_diff: diff }));
}

main().catch((e: Error) => {
  console.error(`bench:anchor: ${e.message}`);
  process.exit(2);
});
