// npm run bench:gpu -- --model DIR — the browser's runtime (onnxruntime-web's WebGPU build, weights uploaded once,
// outputs kept on the GPU where we ask) on a real GPU, beside plain onnxruntime, transformers.js and PyTorch on the
// same weights. DIR is what bench/gpu/make_model.py wrote on the GPU machine (see bench/gpu/run.sh):
//   DIR/config.json + DIR/model_q4.onnx     our engine loads the model from this q4 export
//   DIR/hub/onnx/model_q4.onnx              the with-past export (onnx-community layout) plain ORT and transformers.js run
//   DIR/torch.json                          PyTorch/CUDA timings of the same step (fp32)
// Prints one table (and --json FILE writes every number).

import { readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import path from 'node:path';
import { execSync } from 'node:child_process';
import type * as OrtNS from 'onnxruntime-web';
import { CapturedGraph } from '../src/engine/runtime/captured';
import { CompiledGraph } from '../src/engine/runtime/session';
import type { TensorData } from '../src/engine/ir';
import { parseHfConfig } from '../src/models/config_parse';
import { weightsFromOnnx } from '../src/models/onnx_weights';
import { LoadedModel } from '../src/models/model';
import { buildPrefixGraph, buildSteerGraph } from '../src/models/steer_graph';
import { labelRows } from '../src/models/losses';
import { LossEvaluator, KlEvaluator } from '../src/lab/sweeps/evaluator';
import { Generator } from '../src/lab/generate';
import type { TokenizedRow } from '../src/lab/data/tokenize';
import { arg, medianMs } from './cli';
import { nodeWebGpuBackend } from './node_webgpu';

const DIR = arg('model', 'bench-model');
const B = Number(arg('batch', '4'));
const T = Number(arg('seq', '128'));
const L = Number(arg('layer', '12'));
const reps = Number(arg('reps', '5'));
const only = arg('only', '');
const want = (k: string) => {
  const yes = !only || only.split(',').includes(k);
  if (yes) console.error(`[bench:gpu ${new Date().toISOString().slice(11, 19)}] ${k}`);
  return yes;
};
const GEN = Number(arg('gen-tokens', '64'));
const ROWS = Number(arg('rows', '100'));
const DOCS = Number(arg('docs', '50'));
const ROW_LEN = Number(arg('row-len', '256'));
const DOC_LEN = Number(arg('doc-len', '512'));

const median = (fn: () => Promise<unknown>, n = reps) => medianMs(fn, n);

/** GPU memory in use by this process (MiB), from nvidia-smi; undefined where there is none */
function gpuMiB(): number | undefined {
  try {
    const out = execSync(`nvidia-smi --query-compute-apps=pid,used_memory --format=csv,noheader,nounits`, { encoding: 'utf8' });
    let tot = 0;
    for (const line of out.trim().split('\n')) {
      const [pid, mem] = line.split(',').map((s) => s.trim());
      if (Number(pid) === process.pid) tot += Number(mem);
    }
    if (tot) return tot;
    const all = execSync(`nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits`, { encoding: 'utf8' });
    return Number(all.trim().split('\n')[0]);
  } catch {
    return undefined;
  }
}

const rng = (seed: number) => {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
};

function randomRows(n: number, len: number, vocab: number, seed: number, labels: boolean): TokenizedRow[] {
  const r = rng(seed);
  return Array.from({ length: n }, (_, line) => {
    const L2 = Math.max(8, Math.round(len * (0.6 + 0.4 * r())));
    const ids = Int32Array.from({ length: L2 }, () => Math.floor(r() * vocab));
    const lossMask = new Uint8Array(L2);
    if (labels) for (let t = Math.floor(L2 / 2); t < L2; t++) lossMask[t] = 1;
    return { line, ids, lossMask, promptLen: Math.floor(L2 / 2), fullLen: L2, prefixFallback: false };
  });
}

/** plain onnxruntime on the with-past export (weights are initializers, uploaded once at session creation): a
 * prompt-only run with empty past, outputs left on the GPU and released after each run; null when the file is absent
 * (unless `must`, which lets the error through) */
async function openPlain(ort: typeof OrtNS, file: string, cfg: ReturnType<typeof parseHfConfig>, must = false) {
  const bytes = await readFile(file).catch((e) => {
    if (must) throw e;
    return null;
  });
  if (!bytes) return null;
  const sess = await ort.InferenceSession.create(new Uint8Array(bytes), { executionProviders: ['webgpu'], graphOptimizationLevel: 'all', preferredOutputLocation: 'gpu-buffer' });
  const pastNames = sess.inputNames.filter((n) => n.startsWith('past_key_values'));
  const feeds = (bsz: number, t: number, idv: BigInt64Array) => {
    const f: Record<string, OrtNS.Tensor> = {
      input_ids: new ort.Tensor('int64', idv, [bsz, t]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(bsz * t).fill(1n), [bsz, t]),
    };
    if (sess.inputNames.includes('position_ids')) f.position_ids = new ort.Tensor('int64', BigInt64Array.from({ length: bsz * t }, (_, i) => BigInt(i % t)), [bsz, t]);
    for (const n of pastNames) f[n] = new ort.Tensor('float32', new Float32Array(0), [bsz, cfg.numKvHeads, 0, cfg.headDim]);
    return f;
  };
  const run = async (f: Record<string, OrtNS.Tensor>) => Object.values(await sess.run(f)).forEach((t) => t.dispose());
  return { feeds, run, release: () => sess.release() };
}

interface Row {
  what: string;
  ours?: number;
  plain?: number;
  tjs?: number;
  torch?: number;
  unit: string;
  note?: string;
}

async function main() {
  const results: Row[] = [];
  // every row also goes to stderr as soon as it is measured, so a run cut short still reports what it had
  const push = results.push.bind(results);
  results.push = (...rows: Row[]) => {
    for (const r of rows) console.error(`[row] ${r.what}: ${r.ours?.toFixed?.(1) ?? '—'} ${r.unit}`);
    return push(...rows);
  };
  const extra: Record<string, unknown> = {};
  const be = await nodeWebGpuBackend();
  const ort = be.ort as unknown as typeof OrtNS;
  extra.adapter = be.adapter;
  extra.ort = be.ortVersion;
  const torch = JSON.parse(await readFile(path.join(DIR, 'torch.json'), 'utf8').catch(() => '{}')) as Record<string, number | string>;
  const cfg = parseHfConfig(JSON.parse(await readFile(path.join(DIR, 'config.json'), 'utf8')));
  const V = cfg.vocabSize;
  const mem0 = gpuMiB();
  const hubFile = path.join(DIR, 'hub', 'onnx', 'model_q4.onnx');

  // ---- ours
  const tl = performance.now();
  const weights = await weightsFromOnnx(cfg, new Uint8Array(await readFile(path.join(DIR, 'model_q4.onnx'))), (loc) => readFile(path.join(DIR, loc)).then((b) => new Uint8Array(b)));
  const model = LoadedModel.create(be, cfg, weights, 'onnx-q4');
  extra.load_ms = performance.now() - tl;
  const d = cfg.hiddenSize;
  const ids = BigInt64Array.from({ length: B * T }, (_, i) => BigInt((i * 7919) % V));
  const mask = new BigInt64Array(B * T).fill(1n);
  const lossMask = Array.from({ length: B * T }, (_, i) => (i % T >= T / 2 ? 1 : 0));
  const lr = labelRows(Array.from(ids, Number), lossMask, B, T);
  const feeds: Record<string, TensorData> = {
    v: { dtype: 'float32', shape: [d], data: new Float32Array(d).map((_, i) => Math.sin(i) * 1e-3) },
    alpha: { dtype: 'float32', shape: [], data: new Float32Array([256]) },
    ids: { dtype: 'int64', shape: [B, T], data: ids },
    mask: { dtype: 'int64', shape: [B, T], data: mask },
    ce_index: { dtype: 'int64', shape: [lr.index.length], data: lr.index },
    ce_target: { dtype: 'int64', shape: [lr.target.length], data: lr.target },
  };
  const compile = (g: ReturnType<typeof buildSteerGraph>, gpuOutputs?: string[]) => CompiledGraph.create(be, g.graph, model.store, { gpuOutputs });
  if (want('train')) {
    // the row bound the trainer passes (microBatch × longest row), so the heads chunk as they do in the app
    const fwd = await compile(buildSteerGraph(model, { layer: L, ce: true, ceRows: B * T }));
    const fwdBwd = await compile(buildSteerGraph(model, { layer: L, ce: true, grads: ['ce'], ceRows: B * T }));
    const logits = await compile(buildSteerGraph(model, { layer: L, ce: false, logits: ['steered'] }), ['logits_steered']);
    const prefix = await compile(buildPrefixGraph(model, L), ['hidden']);
    const cached = await compile(buildSteerGraph(model, { layer: L, ce: true, grads: ['ce'], fromCache: true, ceRows: B * T }));
    const { ids: _i, ...rest } = feeds;
    void _i;
    results.push({ what: `forward, full logits kept on the GPU (${B}×${T})`, ours: await median(() => logits.runRaw({ v: feeds.v!, alpha: feeds.alpha!, ids: feeds.ids!, mask: feeds.mask! })), unit: 'ms' });
    results.push({ what: `forward, CE loss (${B}×${T}, layer ${L})`, ours: await median(() => fwd.run(feeds)), torch: torch.fwd_ms as number, unit: 'ms' });
    results.push({ what: 'train step: forward + backward ∂CE/∂v', ours: await median(() => fwdBwd.run(feeds)), torch: torch.fwd_bwd_ms as number, unit: 'ms' });
    // the same graph graph-captured (what the trainer runs on WebGPU): replayed GPU commands, no per-kernel dispatch
    // as the trainer runs it (ce_step.ts): label rows padded to every position of the batch, weight 0 on padding
    const captured = await CapturedGraph.create(be, buildSteerGraph(model, { layer: L, ce: true, grads: ['ce'], ceRows: B * T, ceWeighted: true }).graph, model.store);
    const M = lr.index.length;
    const pad = (x: BigInt64Array) => { const o = new BigInt64Array(B * T); o.set(x); return o; };
    const capFeeds: Record<string, TensorData> = {
      ...feeds,
      ce_index: { dtype: 'int64', shape: [B * T], data: pad(lr.index) },
      ce_target: { dtype: 'int64', shape: [B * T], data: pad(lr.target) },
      ce_weight: { dtype: 'float32', shape: [B * T], data: new Float32Array(B * T).fill(1, 0, M) },
    };
    const capOut = await captured.run(capFeeds);
    const refOut = await fwdBwd.run(feeds);
    extra.captured_grad_max_abs_diff = Math.max(...Array.from(refOut.grad_ce!.data as Float32Array, (x, i) => Math.abs(x - (capOut.grad_ce!.data[i] as number))));
    results.push({ what: 'train step, graph-captured (the trainer on WebGPU)', ours: await median(() => captured.run(capFeeds)), torch: torch.fwd_bwd_ms as number, unit: 'ms' });
    // Plain ORT's forward on this box varies ~2× between runs (85–165 ms), so the target ratio is also read from
    // the two timed alternately in one loop, both sessions resident: the noise then hits both sides alike.
    if (!only || only.split(',').includes('plain')) {
      const plain = await openPlain(ort, hubFile, cfg);
      if (plain) {
        const f1 = plain.feeds(B, T, ids);
        const tp: number[] = [];
        const tc: number[] = [];
        const time = async (fn: () => Promise<unknown>, into: number[]) => { const t0 = performance.now(); await fn(); into.push(performance.now() - t0); };
        await plain.run(f1);
        await captured.run(capFeeds);
        for (let i = 0; i < 2 * reps; i++) {
          await time(() => plain.run(f1), tp);
          await time(() => captured.run(capFeeds), tc);
        }
        const med = (x: number[]) => [...x].sort((a, b) => a - b)[Math.floor(x.length / 2)]!;
        extra.paired = { plain_ms: tp, captured_ms: tc };
        results.push({ what: `paired: captured train step vs plain ORT forward, alternating (${2 * reps} each)`, ours: med(tc), plain: med(tp), torch: torch.fwd_bwd_ms as number, unit: 'ms' });
        await plain.release();
      }
    }
    await captured.release();
    // the narrow run's KL term per micro-step as the trainer runs it (uncaptured): a KL batch of B rows × T tokens in
    // chunks of 2 rows, every attended position a KL row, float32 head (the time estimates' KL_TERM_PER_STEP comes from it)
    {
      const chunk = 2;
      const kl = await compile(buildSteerGraph(model, { layer: L, ce: false, kl: 'same', grads: ['kl'], klPrecision: 'float32', klRows: chunk * T }));
      const all = BigInt64Array.from({ length: chunk * T }, (_, i) => BigInt(i));
      const klFeeds = (r: number) => ({
        v: feeds.v!,
        alpha: feeds.alpha!,
        ids: { dtype: 'int64' as const, shape: [chunk, T], data: ids.slice(r * T, (r + chunk) * T) },
        mask: { dtype: 'int64' as const, shape: [chunk, T], data: mask.slice(r * T, (r + chunk) * T) },
        kl_index: { dtype: 'int64' as const, shape: [chunk * T], data: all },
      });
      results.push({ what: `narrow run's KL term: KL batch ${B}×${T} in chunks of ${chunk} (uncaptured)`, ours: await median(async () => { for (let r = 0; r < B; r += chunk) await kl.run(klFeeds(r)); }), unit: 'ms' });
      await kl.release();
    }
    const pre = await prefix.runRaw({ ids: feeds.ids!, mask: feeds.mask! });
    results.push({ what: `prefix to layer ${L} (once per batch)`, ours: await median(() => prefix.runRaw({ ids: feeds.ids!, mask: feeds.mask! })), unit: 'ms' });
    results.push({ what: `step from cached layer-${L} activations`, ours: await median(() => cached.run({ ...rest, hidden: pre.hidden! as never })), unit: 'ms' });
    extra.mem_after_train_mib = gpuMiB();
    for (const s of [fwd, fwdBwd, logits, prefix, cached]) await s.release();
  }
  if (want('sweep')) {
    const rows = randomRows(ROWS, ROW_LEN, V, 42, true);
    const ev = await LossEvaluator.create(model, L, rows, 0);
    const vec = new Float32Array(d).map((_, i) => Math.cos(i) * 0.05);
    results.push({ what: `efficiency point: SFT loss on ${ROWS} rows (≤${ROW_LEN} tokens)`, ours: await median(() => ev.loss(vec), 3), unit: 'ms' });
    await ev.release();
    const docs = randomRows(DOCS, DOC_LEN, V, 7, false);
    const kv = await KlEvaluator.create(model, L, docs, 0, { precision: 'float32' });
    results.push({ what: `FineWeb-KL point: ${DOCS} documents (≤${DOC_LEN} tokens)`, ours: await median(() => kv.kl(vec), 3), unit: 'ms' });
    await kv.release();
    extra.mem_after_sweeps_mib = gpuMiB();
  }
  if (want('gen')) {
    const gen = await Generator.create(model, L);
    const prompt = Array.from({ length: 32 }, (_, i) => (i * 104729) % V);
    const vec = { v: new Float32Array(d), alpha: 256 };
    for (const bs of [1, 8]) {
      const opts = { maxNewTokens: GEN, temperature: 1, topP: 1, seed: 1, eos: [] as number[], strength: 1, batch: bs };
      await gen.generate(prompt, vec, { ...opts, maxNewTokens: 4 });
      const t0 = performance.now();
      const out = await gen.generate(prompt, vec, opts);
      const n = out.reduce((a, o) => a + o.length, 0);
      results.push({ what: `generation, batch ${bs} (32-token prompt, ${GEN} new, T=1)`, ours: (n * 1000) / (performance.now() - t0), torch: torch[`gen_b${bs}_tok_s`] as number, unit: 'tok/s' });
    }
    // T=1, top-p 1 samples in the graph (gpu_sampler.ts); greedy decoding beside it shows what the sampler costs.
    for (const bs of [1, 8]) {
      const opts = { maxNewTokens: GEN, temperature: 0, topP: 1, seed: 1, eos: [] as number[], strength: 1, batch: bs };
      await gen.generate(prompt, vec, { ...opts, maxNewTokens: 4 });
      const t0 = performance.now();
      const out = await gen.generate(prompt, vec, opts);
      const n = out.reduce((a, o) => a + o.length, 0);
      results.push({ what: `generation, batch ${bs}, greedy`, ours: (n * 1000) / (performance.now() - t0), unit: 'tok/s' });
    }
    await gen.release();
    extra.mem_after_gen_mib = gpuMiB();
  }
  extra.weight_bytes_resident = model.weightBytes;
  extra.mem_ours_peak_mib = Math.max(...[extra.mem_after_train_mib, extra.mem_after_sweeps_mib, extra.mem_after_gen_mib].filter((x): x is number => typeof x === 'number'), 0);
  model.store.dispose();

  // ---- plain onnxruntime on the with-past export: weights are initializers (uploaded once at session creation)
  if (want('plain')) {
    try {
      const plain = await openPlain(ort, hubFile, cfg, true);
      if (!plain) throw new Error(`no ${hubFile}`);
      const f1 = plain.feeds(B, T, ids);
      const tPlain = await median(() => plain.run(f1));
      const row = results.find((r) => r.what.startsWith('forward, full logits'));
      console.error(`[row] plain ORT forward ${B}×${T}: ${tPlain.toFixed(1)} ms`);
      if (row) row.plain = tPlain;
      else results.push({ what: `forward, full logits kept on the GPU (${B}×${T})`, plain: tPlain, unit: 'ms' });
      for (const r of results) if (r.what.startsWith('forward, CE') || r.what.startsWith('train step') || r.what.startsWith('step from cached')) r.plain = tPlain;
      // the same rows as a sweep point: 100 rows, ≤ 256 tokens, batches of 8 padded to their longest
      const rows = randomRows(ROWS, ROW_LEN, V, 42, true);
      const tRows = await median(async () => {
        for (let i = 0; i < rows.length; i += 8) {
          const chunk = rows.slice(i, i + 8);
          const t = Math.max(...chunk.map((r) => r.ids.length));
          const idv = new BigInt64Array(chunk.length * t);
          chunk.forEach((r, k) => r.ids.forEach((x, j) => (idv[k * t + j] = BigInt(x))));
          await plain.run(plain.feeds(chunk.length, t, idv));
        }
      }, 3);
      console.error(`[row] plain ORT ${ROWS} rows: ${tRows.toFixed(1)} ms`);
      const eff = results.find((r) => r.what.startsWith('efficiency point'));
      if (eff) eff.plain = tRows;
      const docs = randomRows(DOCS, DOC_LEN, V, 7, false);
      const tDocs = await median(async () => {
        for (let i = 0; i < docs.length; i += 4) {
          const chunk = docs.slice(i, i + 4);
          const t = Math.max(...chunk.map((r) => r.ids.length));
          const idv = new BigInt64Array(chunk.length * t);
          chunk.forEach((r, k) => r.ids.forEach((x, j) => (idv[k * t + j] = BigInt(x))));
          await plain.run(plain.feeds(chunk.length, t, idv));
        }
      }, 3);
      console.error(`[row] plain ORT ${DOCS} documents: ${tDocs.toFixed(1)} ms`);
      const fw = results.find((r) => r.what.startsWith('FineWeb-KL point'));
      if (fw) fw.plain = tDocs;
      extra.mem_after_plain_mib = gpuMiB();
      await plain.release();
    } catch (e) {
      extra.plain_error = (e as Error).message;
    }
  }

  // ---- transformers.js generation on the same export, served from 127.0.0.1 as a Hub repo would be
  if (want('tjs')) {
    const server = createServer(async (req, res) => {
      const rel = decodeURIComponent((req.url ?? '').replace(/^.*\/resolve\/[^/]+\//, ''));
      try {
        const body = await readFile(path.join(DIR, 'hub', rel));
        res.writeHead(200, { 'content-length': body.byteLength });
        res.end(body);
      } catch {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    try {
      // transformers.js's web build, told it is not in Node so that it uses this process's onnxruntime-web
      const rel = Object.getOwnPropertyDescriptor(process, 'release');
      Object.defineProperty(process, 'release', { value: { name: 'bench' }, configurable: true });
      // @ts-expect-error the web build has no types of its own (they are the package's)
      const tjs = (await import('../node_modules/@huggingface/transformers/dist/transformers.web.js')) as typeof import('@huggingface/transformers');
      if (rel) Object.defineProperty(process, 'release', rel);
      tjs.env.allowLocalModels = false;
      tjs.env.useBrowserCache = false;
      tjs.env.remoteHost = `http://127.0.0.1:${port}/`;
      const m = await tjs.AutoModelForCausalLM.from_pretrained('steerlab/bench', { dtype: 'q4', device: 'webgpu' });
      for (const bs of [1, 8]) {
        const prompt = BigInt64Array.from({ length: bs * 32 }, (_, i) => BigInt(((i % 32) * 104729) % V));
        const input_ids = new tjs.Tensor('int64', prompt, [bs, 32]);
        const attention_mask = new tjs.Tensor('int64', new BigInt64Array(bs * 32).fill(1n), [bs, 32]);
        const go = (n: number) => m.generate({ input_ids, attention_mask, max_new_tokens: n, min_new_tokens: n, do_sample: true, temperature: 1, top_k: 0 } as never);
        await go(4);
        const t0 = performance.now();
        await go(GEN);
        const tps = (GEN * bs * 1000) / (performance.now() - t0);
        console.error(`[row] transformers.js batch ${bs}: ${tps.toFixed(1)} tok/s`);
        const r = results.find((x) => x.what.startsWith(`generation, batch ${bs}`));
        if (r) r.tjs = tps;
      }
      extra.mem_after_tjs_mib = gpuMiB();
    } catch (e) {
      extra.tjs_error = (e as Error).stack?.slice(0, 600);
    } finally {
      server.close();
    }
  }

  // ---- table
  results.push({ what: 'weights resident (one copy for train, sweeps and chat)', ours: model.weightBytes / 2 ** 20, unit: 'MiB' });
  results.push({ what: 'GPU memory after our jobs (nvidia-smi, this process)', ours: extra.mem_ours_peak_mib as number, unit: 'MiB', note: mem0 !== undefined ? `before: ${mem0} MiB` : undefined });
  const fmt = (x?: number) => (x === undefined || !Number.isFinite(x) ? '—' : x >= 100 ? x.toFixed(0) : x.toFixed(1));
  const ratio = (a?: number, b?: number, unit?: string) => (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || !b ? '—' : `${(unit === 'tok/s' ? a / b : a / b).toFixed(2)}×`);
  const head = ['', 'ours', 'plain ORT', 'transformers.js', 'PyTorch', 'unit', 'ours/plain', 'ours/tjs', 'ours/PyTorch'];
  const lines = results.map((r) => [r.what, fmt(r.ours), fmt(r.plain), fmt(r.tjs), fmt(r.torch), r.unit, ratio(r.ours, r.plain, r.unit), ratio(r.ours, r.tjs, r.unit), ratio(r.ours, r.torch, r.unit)]);
  console.log(`\nsteerlab bench:gpu — ${(be.adapter?.description || be.adapter?.vendor) ?? '?'} (${torch.gpu ?? 'GPU ?'}), onnxruntime-web ${be.ortVersion} WebGPU via dawn.node, ${new Date().toISOString().slice(0, 10)}`);
  console.log('(ratios are ours / anchor: for times lower is better, for tok/s higher is better)');
  console.log(`| ${head.join(' | ')} |\n|${head.map(() => '---').join('|')}|`);
  for (const l of lines) console.log(`| ${l.join(' | ')} |`);
  console.log(JSON.stringify(extra));
  const jf = arg('json', '');
  if (jf) await writeFile(jf, JSON.stringify({ results, extra, torch }, null, 1));
  process.exit(0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
