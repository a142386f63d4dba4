// Kernel profile of our train step and of plain onnxruntime's forward on the same q4 weights, through
// onnxruntime-node's WebGPU EP (the same C++ WebGPU kernels onnxruntime-web runs; ORT's profiler writes its trace
// to disk there, which the wasm build cannot). Prints the top ops by time for each graph.
//   node profile.mjs --model DIR [--layer 12] [--batch 4] [--seq 128] [--more kl,decode]

import { readFile, readdir, unlink } from 'node:fs/promises';
import type { Ort } from '../src/engine/runtime/backend';
import { serialize } from '../src/engine/onnx/serialize';
import type { Graph, Value } from '../src/engine/ir';
import type { Backend } from '../src/engine/runtime/backend';
import { parseHfConfig } from '../src/models/config_parse';
import { weightsFromOnnx } from '../src/models/onnx_weights';
import { LoadedModel } from '../src/models/model';
import { buildSteerGraph } from '../src/models/steer_graph';
import { labelRows } from '../src/models/losses';
import { buildStepGraph } from '../src/lab/generate';
import path from 'node:path';
import { arg } from './cli';

const DIR = arg('model', 'bench-model');
const B = Number(arg('batch', '4'));
const T = Number(arg('seq', '128'));
const L = Number(arg('layer', '12'));
const RUNS = Number(arg('runs', '3'));
// after the train step, CE forward and plain ORT's forward: `--more kl,decode` profiles a FineWeb-KL point's batch
// and a batch-8 decode step too
const MORE = arg('more', '').split(',');
const want = (k: string) => MORE.includes(k);

interface Ev { cat: string; name: string; dur: number; args?: { op_name?: string; provider?: string } }

async function profileOf(ort: Ort, bytes: Uint8Array, feeds: Record<string, unknown>, label: string) {
  const sess = await ort.InferenceSession.create(bytes, { executionProviders: ['webgpu'], graphOptimizationLevel: 'all', enableProfiling: true, profileFilePrefix: 'onnxruntime_profile' } as never);
  for (let i = 0; i < RUNS; i++) await sess.run(feeds as never);
  (sess as unknown as { endProfiling(): void }).endProfiling();
  await sess.release();
  const files = (await readdir('.')).filter((f) => f.startsWith('onnxruntime_profile') && f.endsWith('.json'));
  const f = files.sort().at(-1);
  if (!f) return console.log(`${label}: no profile written`);
  const evs = JSON.parse(await readFile(f, 'utf8')) as Ev[];
  await unlink(f);
  // 'Api' events are the WebGPU EP's GPU timestamps, named "node&op&program"; 'Node' events are the CPU side
  // (onnxruntime-node re-feeds the weights from the CPU per run, which a page does not: ignore its MemcpyFromHost).
  const byCat = new Map<string, Map<string, { us: number; n: number }>>();
  const byNode = new Map<string, number>();
  for (const e of evs) {
    if (!e.dur || e.cat === 'Session') continue;
    const parts = e.name.split('&');
    const key = e.cat === 'Api' && parts.length >= 3 ? `${parts[1]}/${parts[2]}` : e.args?.op_name ?? e.name.replace(/_kernel_time$/, '');
    const m = byCat.get(e.cat) ?? new Map();
    const r = m.get(key) ?? { us: 0, n: 0 };
    r.us += e.dur;
    r.n += 1;
    m.set(key, r);
    byCat.set(e.cat, m);
    if (e.cat === 'Api') byNode.set(parts[0]!, (byNode.get(parts[0]!) ?? 0) + e.dur);
  }
  const R = RUNS * 1000;
  for (const [cat, m] of byCat) {
    const tot = [...m.values()].reduce((a, r) => a + r.us, 0);
    const what = cat === 'Api' ? 'GPU kernels by op/program' : `category '${cat}' (CPU side)`;
    console.log(`\n${label} — ${what}, ${RUNS} runs, total ${(tot / R).toFixed(1)} ms per run`);
    const top = [...m.entries()].sort((a, b) => b[1].us - a[1].us).slice(0, cat === 'Api' ? 20 : 8);
    for (const [k, r] of top) console.log(`  ${k.padEnd(48)} ${(r.us / R).toFixed(2).padStart(9)} ms/run  ${(100 * r.us / tot).toFixed(1).padStart(5)} %  ${r.n / RUNS} calls/run`);
  }
  const nodes = [...byNode.entries()].sort((a, b) => b[1] - a[1]).slice(0, 10);
  if (nodes.length) console.log(`\n${label} — top GPU nodes`);
  for (const [k, us] of nodes) console.log(`  ${k.slice(0, 70).padEnd(70)} ${(us / R).toFixed(2).padStart(9)} ms/run`);
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
  /** the feeds a serialised graph takes: its weights from the store, the rest from `given` */
  const feedsOf = (graph: Graph, ser: { inputs: Value[] }, given: Record<string, unknown>) => {
    const out: Record<string, unknown> = {};
    for (const i of graph.inputs) {
      if (!ser.inputs.includes(i.value)) continue;
      if (i.kind !== 'weight') out[i.value.name] = given[i.value.name];
      else {
        const e = model.store.entry(i.key!);
        out[i.value.name] = new ort.Tensor(e.dtype as 'float32', e.data as Float32Array, e.dims);
      }
    }
    return out;
  };
  await profileOf(ort, s.bytes, feedsOf(g.graph, s, feeds), `ours: train step ${B}×${T}, layer ${L}`);
  const gf = buildSteerGraph(model, { layer: L, ce: true, grads: [] });
  const sf = serialize(gf.graph, {});
  await profileOf(ort, sf.bytes, feedsOf(gf.graph, sf, feeds), `ours: CE forward ${B}×${T}, layer ${L}`);
  const hub = new Uint8Array(await readFile(path.join(DIR, 'hub', 'onnx', 'model_q4.onnx')));
  const plainFeeds = (Bp: number, Tp: number) => {
    const pf: Record<string, unknown> = {
      input_ids: new ort.Tensor('int64', BigInt64Array.from({ length: Bp * Tp }, (_, i) => BigInt((i * 7919) % V)), [Bp, Tp]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(Bp * Tp).fill(1n), [Bp, Tp]),
      position_ids: new ort.Tensor('int64', BigInt64Array.from({ length: Bp * Tp }, (_, i) => BigInt(i % Tp)), [Bp, Tp]),
    };
    for (let i = 0; i < cfg.numLayers; i++) for (const kv of ['key', 'value']) pf[`past_key_values.${i}.${kv}`] = new ort.Tensor('float32', new Float32Array(0), [Bp, cfg.numKvHeads, 0, cfg.headDim]);
    return pf;
  };
  await profileOf(ort, hub, plainFeeds(B, T), `plain ORT: with-past q4 export, ${B}×${T}, full logits`);
  if (!want('kl') && !want('decode')) return;

  // a FineWeb-KL point's batch (KlEvaluator in float32: 4 documents × 512 tokens, from the cached layer-L activations
  // and the unsteered head's cached per-row statistics, one head per point), beside plain ORT's forward of the same rows
  const [KB, KT] = [4, 512];
  const wave = (n: number, f: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * f) * 0.5);
  if (want('kl')) {
    const gk = buildSteerGraph(model, { layer: L, ce: false, kl: 'same', fromCache: true, chatStats: true, klPrecision: 'float32', klRows: KB * KT });
    const sk = serialize(gk.graph, {});
    const kf: Record<string, unknown> = {
      v: feeds.v, alpha: feeds.alpha,
      hidden: new ort.Tensor('float32', wave(KB * KT * d, 0.37), [KB, KT, d]),
      chat_n: new ort.Tensor('float32', wave(KB * KT * d, 0.41), [KB * KT, d]),
      chat_ebar: new ort.Tensor('float32', wave(KB * KT * d, 0.43), [KB * KT, d]),
      chat_lse: new ort.Tensor('float32', wave(KB * KT, 0.47).map((x) => x + 12), [KB * KT]),
      chat_r: new ort.Tensor('float32', new Float32Array(KB * KT), [KB * KT]),
      mask: new ort.Tensor('int64', new BigInt64Array(KB * KT).fill(1n), [KB, KT]),
      kl_index: new ort.Tensor('int64', BigInt64Array.from({ length: KB * KT }, (_, i) => BigInt(i)), [KB * KT]),
    };
    await profileOf(ort, sk.bytes, feedsOf(gk.graph, sk, kf), `ours: FineWeb-KL point batch ${KB}×${KT} from cached layer-${L} activations`);
    await profileOf(ort, hub, plainFeeds(KB, KT), `plain ORT: with-past q4 export, ${KB}×${KT}, full logits`);
  }

  // one decode step of batch 8 with 32 tokens of KV cache (the generator's graph for top-p 1 and greedy: logits
  // stay, the sampled and ArgMax ids and lse return)
  if (want('decode')) {
    const [DB, P] = [8, 32];
    const gd = buildStepGraph(model, L, true, 0); // top-p 1 and greedy: no TopK
    const sd = serialize(gd, {});
    const df: Record<string, unknown> = {
      v: feeds.v, alpha: new ort.Tensor('float32', new Float32Array([1]), []), inv_temp: new ort.Tensor('float32', new Float32Array([1]), []),
      u: new ort.Tensor('float32', Float32Array.from({ length: DB }, (_, i) => (i + 0.5) / DB), [DB]),
      ids: new ort.Tensor('int64', BigInt64Array.from({ length: DB }, (_, i) => BigInt(i + 1)), [DB, 1]),
      mask: new ort.Tensor('int64', new BigInt64Array(DB * (P + 1)).fill(1n), [DB, P + 1]),
    };
    for (let i = 0; i < cfg.numLayers; i++) for (const kv of ['k', 'v']) df[`past_${kv}_${i}`] = new ort.Tensor('float32', wave(DB * cfg.numKvHeads * P * cfg.headDim, 0.1 + i * 0.01), [DB, cfg.numKvHeads, P, cfg.headDim]);
    await profileOf(ort, sd.bytes, feedsOf(gd, sd, df), `ours: decode step, batch ${DB}, ${P} cached tokens`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
