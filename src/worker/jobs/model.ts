// Loads a Hub repository's model and tokenizer into the worker. The revision is pinned to a commit first; files
// come through the caching fetch (keyed by that commit), so the second load (and a reload without network)
// reads them from this browser. The previous model stays loaded until the new one's files are all here.

import { hookPointsFor } from '../../models/hooks';
import { LoadedModel } from '../../models/model';
import { loadModel } from '../../models/load';
import { HUB_URL, hubSource } from '../../models/file_source';
import { resolveHubRevision } from '../../models/hub_revision';
import { preflightHub } from '../../models/preflight';
import { loadTokenizer } from '../../models/tokenizer';
import { cachingFetch, clearCached, listCached, type CacheStats } from '../hub_cache';
import type { ModelInfo } from '../protocol';
import { reportCacheFailure } from '../storage_errors';
import { throwIfCancelled, type JobHandler } from './context';

export const loadModelJob: JobHandler<'loadModel'> = async (req, ctx) => {
  const t0 = performance.now();
  ctx.phase('starting the execution provider');
  const backend = await ctx.session.backend$();
  const stats: CacheStats = { hits: 0, misses: 0 };
  const fetchFn = cachingFetch(stats, reportCacheFailure(ctx.report));
  const repo = req.repo.trim();
  const hub = { baseUrl: req.hubUrl || HUB_URL, token: req.token || undefined, fetch: fetchFn, signal: ctx.signal };
  // one commit for every file: the cache is keyed by it and the report names it
  ctx.phase('looking up the revision');
  const pin = await resolveHubRevision(repo, hub);
  const src = hubSource(repo, { ...hub, revision: pin.sha });
  // Everything that can fail on the network happens while the previous model is still loaded: a failed or
  // cancelled download leaves the lab as it was.
  // sizes from the Hub's listing, the file for this device, and "too big" refused before any weight downloads
  ctx.phase('choosing the weights file');
  const device = { kind: backend.kind, shaderF16: backend.shaderF16, ...backend.limits };
  const pre = await preflightHub(repo, { baseUrl: hub.baseUrl, token: hub.token, signal: ctx.signal, revision: pin.sha }, device, req.onnxFile);
  ctx.phase('download');
  const files = await loadModel(src, {
    onnxFile: pre.file,
    onProgress: (p) => ctx.progress({ phase: 'download', path: p.path, loaded: p.loaded, total: p.total }),
  });
  ctx.phase('tokenizer');
  ctx.progress({ phase: 'build', loaded: files.bytes, message: 'reading the tokenizer' });
  const tok = await loadTokenizer({ get: (p) => src.get(p, (q) => ctx.progress({ phase: 'download', path: q.path, loaded: q.loaded, total: q.total })) });
  ctx.phase('weights');
  ctx.progress({ phase: 'build', loaded: files.bytes, message: 'placing weights' });
  // the store uploads weights to the GPU on first use, so building it here costs CPU memory only
  const model = LoadedModel.create(backend, files.config, files.weights, files.format);
  throwIfCancelled(ctx.signal);
  const cfg = files.config;
  const q4 = [...model.linears.values()].some((l) => l.kind === 'q4');
  const info: ModelInfo = {
    repo,
    revision: pin.sha,
    pinned: pin.how !== 'not pinned',
    format: files.format,
    arch: cfg.arch,
    modelType: cfg.modelType,
    layers: cfg.numLayers,
    dModel: cfg.hiddenSize,
    vocabSize: cfg.vocabSize,
    heads: cfg.numHeads,
    kvHeads: cfg.numKvHeads,
    checkpointDtype: cfg.bufferDtype,
    weightsDtype: q4 ? '4-bit (MatMulNBits) + float32' : 'float32',
    weightBytes: model.weightBytes,
    bytesRead: files.bytes,
    ...(files.onnx
      ? { onnx: { file: files.onnx.file, layout: files.onnx.layout, dtype: files.onnx.dtype, bytes: files.onnx.bytes, external_chunks: files.onnx.externalFiles.length, ok: true, reason: null } }
      : {}),
    fromCache: stats.misses === 0 && stats.hits > 0,
    defaultLayer: req.layerHint ?? Math.floor(cfg.numLayers / 2),
    hookPoints: hookPointsFor(cfg),
    chatTemplate: tok.hasChatTemplate,
    seconds: (performance.now() - t0) / 1000,
  };
  // only now free the previous model (setModel drops it, and its GPU buffers, first)
  await ctx.session.setModel(model, tok, info);
  return info;
};

export const cacheListJob: JobHandler<'cacheList'> = async () => ({ repos: await listCached() });

export const cacheClearJob: JobHandler<'cacheClear'> = async (req) => ({ removed: await clearCached(req.repo) });
