// FineWeb documents for Fig 6, fetched page by page with progress and kept in IndexedDB (a "shard" of the
// first N qualifying documents answers every later request for ≤ N), then the KL sweep over them.

import { createStore, get, set } from 'idb-keyval';
import { cachedSource, hubRowsSource, parquetSource, type ShardStore } from '../../lab/fineweb';
import { documentRows } from '../../lab/data/documents';
import { checkSequenceFits } from '../../lab/positions';
import { KlEvaluator } from '../../lab/sweeps/evaluator';
import { finewebKlSweep } from '../../lab/sweeps/sweeps';
import { isQuotaError, storageErrorEvent } from '../storage_errors';
import { adapterKlEvaluator, checkAdapters } from './adapter_evaluators';
import type { JobContext, JobHandler } from './context';

/** A full quota does not fail the fetch (the documents are here for this session); it is reported instead. */
function idbShardStore(report: JobContext<'fineweb'>['report']): ShardStore {
  const store = createStore('steerlab-fineweb', 'shards');
  return {
    get: (name) => get<string[]>(name, store),
    put: (name, docs) =>
      set(name, docs, store).catch((e) => {
        if (!isQuotaError(e)) throw e;
        report?.(storageErrorEvent(`the ${docs.length} FineWeb documents`, e));
      }),
  };
}

/** 'hub' (the datasets-server), 'hub:<base URL>' (a stand-in), or the URL of a parquet shard. */
function sourceFor(spec: string) {
  if (spec === 'hub' || spec === '') return hubRowsSource();
  if (spec.startsWith('hub:')) return hubRowsSource(spec.slice(4));
  if (/\.parquet(\?|$)/.test(spec)) return parquetSource(spec);
  if (/^https?:\/\//.test(spec)) return hubRowsSource(spec);
  throw new Error(`FineWeb source "${spec}" is not "hub", "hub:<URL>", a rows-API base URL or a .parquet URL`);
}

export const finewebJob: JobHandler<'fineweb'> = async (req, ctx) => {
  ctx.phase('fetching documents');
  const store = idbShardStore(ctx.report);
  let fromCache = true;
  const src = sourceFor(req.source);
  const counting = { id: src.id, fetchDocs: (n: number, o?: Parameters<typeof src.fetchDocs>[1]) => ((fromCache = false), src.fetchDocs(n, o)) };
  const docs = await cachedSource(counting, store).fetchDocs(req.n, {
    signal: ctx.signal,
    onProgress: (got, wanted) => ctx.progress({ got, wanted }),
  });
  if (!docs.length) throw new Error(`the FineWeb source returned no documents longer than 100 characters`);
  ctx.session.finewebDocs = docs;
  await ctx.session.dropDerived('kl|');
  return {
    count: docs.length,
    fromCache,
    preview: docs.slice(0, 3).map((d) => (d.length > 300 ? `${d.slice(0, 300)}…` : d)),
    meanChars: docs.reduce((a, d) => a + d.length, 0) / docs.length,
  };
};

export const finewebKlJob: JobHandler<'finewebKl'> = async (req, ctx) => {
  const { model, tok } = ctx.session.requireModel();
  const docs = ctx.session.finewebDocs;
  if (!docs.length) throw new Error('no FineWeb documents yet: fetch them first');
  checkSequenceFits(model.ropePositions, req.maxTokens, 'Tokens per document');
  ctx.phase('caching activations of the documents');
  const vectorCurves = Object.keys(req.vectors).length > 0;
  const ev = !vectorCurves ? undefined : await ctx.session.derive(`kl|${req.layer}|${req.hook ?? 'resid_post'}|${docs.length}|${req.maxTokens}`, () =>
    KlEvaluator.create(model, req.layer, documentRows(tok, docs, req.maxTokens), tok.padId, { signal: ctx.signal, hook: req.hook }),
  );
  const adapters = checkAdapters(ctx.session, req.adapters);
  // random vectors are the baseline of vectors: without vectors, only the adapters' shape-matched random adapters
  const curves = (vectorCurves ? Object.keys(req.vectors).length + req.randomSeeds.length : 0) + adapters.length * (1 + req.randomSeeds.length);
  const total = curves * req.norms.length;
  let done = 0;
  ctx.phase('KL sweep');
  const out = ev
    ? await finewebKlSweep(ev, req.vectors, {
        norms: req.norms,
        randomSeeds: req.randomSeeds,
        signal: ctx.signal,
        onPoint: (name, point) => ctx.progress({ name, point, done: ++done, total }),
      })
    : {};
  // each adapter with random adapters of its own shape as the baseline
  for (const [name, a] of adapters) {
    ctx.phase(`KL sweep of ${name}`);
    const aev = await adapterKlEvaluator(ctx.session, a.shape, req.maxTokens, ctx.signal);
    const rename = (k: string) => (k === name ? k : `${k}_like_${name}`);
    const r = await finewebKlSweep(aev, { [name]: a.data }, { norms: req.norms, randomSeeds: req.randomSeeds, signal: ctx.signal, onPoint: (k, point) => ctx.progress({ name: rename(k), point, done: ++done, total }) });
    for (const [k, pts] of Object.entries(r)) out[rename(k)] = pts;
  }
  return out;
};
