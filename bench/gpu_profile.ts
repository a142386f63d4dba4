// Kernel profile of our train step and of plain onnxruntime's forward on the same q4 weights, through
// onnxruntime-node's WebGPU EP (the same C++ WebGPU kernels onnxruntime-web runs; ORT's profiler writes its trace
// to disk there, which the wasm build cannot). Prints the top ops by time for each graph.
//   node profile.mjs --model DIR [--layer 12] [--batch 4] [--seq 128]

import { readFile, readdir, unlink } from 'node:fs/promises';
import type { Ort } from '../src/engine/runtime/backend';
import { serialize } from '../src/engine/onnx/serialize';
import type { Backend } from '../src/engine/runtime/backend';
import { parseHfConfig } from '../src/models/config_parse';
import { weightsFromOnnx } from '../src/models/onnx_weights';
import { LoadedModel } from '../src/models/model';
import { buildSteerGraph } from '../src/models/steer_graph';
import { labelRows } from '../src/models/losses';
import path from 'node:path';

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
};
const DIR = arg('model', 'bench-model');
const B = Number(arg('batch', '4'));
const T = Number(arg('seq', '128'));
const L = Number(arg('layer', '12'));

interface Ev { cat: string; name: string; dur: number; args?: { op_name?: string; provider?: string } }

async function profileOf(ort: Ort, bytes: Uint8Array, feeds: Record<string, unknown>, label: string) {
  const sess = await ort.InferenceSession.create(bytes, { executionProviders: ['webgpu'], graphOptimizationLevel: 'all', enableProfiling: true } as never);
  await sess.run(feeds as never);
  await sess.run(feeds as never);
  (sess as unknown as { endProfiling(): void }).endProfiling();
  await sess.release();
  const files = (await readdir('.')).filter((f) => f.startsWith('onnxruntime_profile') && f.endsWith('.json'));
  const f = files.sort().at(-1);
  if (!f) return console.log(`${label}: no profile written`);
  const evs = JSON.parse(await readFile(f, 'utf8')) as Ev[];
  await unlink(f);
  const byCat = new Map<string, Map<string, { us: number; n: number }>>();
  for (const e of evs) {
    if (!e.dur) continue;
    const key = e.args?.op_name ?? e.name.replace(/_kernel_time$/, '');
    const m = byCat.get(e.cat) ?? new Map();
    const r = m.get(key) ?? { us: 0, n: 0 };
    r.us += e.dur;
    r.n += 1;
    m.set(key, r);
    byCat.set(e.cat, m);
  }
  for (const [cat, m] of byCat) {
    if (cat === 'Session') continue;
    const tot = [...m.values()].reduce((a, r) => a + r.us, 0);
    console.log(`\n${label} — profile category '${cat}' (2 runs), total ${(tot / 2000).toFixed(1)} ms per run`);
    const top = [...m.entries()].sort((a, b) => b[1].us - a[1].us).slice(0, 15);
    for (const [k, r] of top) console.log(`  ${k.padEnd(40)} ${(r.us / 2000).toFixed(2).padStart(9)} ms/run  ${(100 * r.us / tot).toFixed(1).padStart(5)} %  ${r.n / 2} calls/run`);
  }
}

async function main() {
  const modName = 'onnxruntime-node';
  const ort = (await import(/* @vite-ignore */ modName)) as unknown as Ort;
  // weights are only read from the store here (fed as CPU tensors), so the backend is a plain description
  const be: Backend = { ort, kind: 'wasm', float64: false, shaderF16: false, ortVersion: 'node' };
  const cfg = parseHfConfig(JSON.parse(await readFile(path.join(DIR, 'config.json'), 'utf8')));
  const weights = await weightsFromOnnx(cfg, new Uint8Array(await readFile(path.join(DIR, 'model_q4.onnx'))), (loc) => readFile(path.join(DIR, loc)).then((b) => new Uint8Array(b)));
  const model = LoadedModel.create(be, cfg, weights, 'onnx-q4');
  const V = cfg.vocabSize;
  const d = cfg.hiddenSize;
  const ids = BigInt64Array.from({ length: B * T }, (_, i) => BigInt((i * 7919) % V));
  const lossMask = Array.from({ length: B * T }, (_, i) => (i % T >= T / 2 ? 1 : 0));
  const lr = labelRows(Array.from(ids, Number), lossMask, B, T);
  const g = buildSteerGraph(model, { layer: L, ce: true, grads: ['ce'] });
  const s = serialize(g.graph, {});
  const feeds: Record<string, unknown> = {
    v: new ort.Tensor('float32', new Float32Array(d).fill(1e-3), [d]),
    alpha: new ort.Tensor('float32', new Float32Array([256]), []),
    ids: new ort.Tensor('int64', ids, [B, T]),
    mask: new ort.Tensor('int64', new BigInt64Array(B * T).fill(1n), [B, T]),
    ce_index: new ort.Tensor('int64', lr.index, [lr.index.length]),
    ce_target: new ort.Tensor('int64', lr.target, [lr.target.length]),
  };
  for (const i of g.graph.inputs) if (i.kind === 'weight' && s.inputs.includes(i.value)) {
    const e = model.store.entry(i.key!);
    feeds[i.value.name] = new ort.Tensor(e.dtype as 'float32', e.data as Float32Array, e.dims);
  }
  await profileOf(ort, s.bytes, feeds, `ours: train step ${B}×${T}, layer ${L}`);
  const hub = new Uint8Array(await readFile(path.join(DIR, 'hub', 'onnx', 'model_q4.onnx')));
  const pf: Record<string, unknown> = {
    input_ids: new ort.Tensor('int64', ids, [B, T]),
    attention_mask: new ort.Tensor('int64', new BigInt64Array(B * T).fill(1n), [B, T]),
    position_ids: new ort.Tensor('int64', BigInt64Array.from({ length: B * T }, (_, i) => BigInt(i % T)), [B, T]),
  };
  for (let i = 0; i < cfg.numLayers; i++) for (const kv of ['key', 'value']) pf[`past_key_values.${i}.${kv}`] = new ort.Tensor('float32', new Float32Array(0), [B, cfg.numKvHeads, 0, cfg.headDim]);
  await profileOf(ort, hub, pf, `plain ORT: with-past q4 export, ${B}×${T}, full logits`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
