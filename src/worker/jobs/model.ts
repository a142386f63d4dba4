// Loads a Hub repository's model and tokenizer into the worker. Files come through the caching fetch, so the
// second load (and a reload without network) reads them from this browser.

import { hookPointsFor } from '../../models/hooks';
import { LoadedModel } from '../../models/model';
import { loadModel } from '../../models/load';
import { hubSource } from '../../models/file_source';
import { preflightHub } from '../../models/preflight';
import { loadTokenizer } from '../../models/tokenizer';
import { cachingFetch, clearCached, listCached, type CacheStats } from '../hub_cache';
import type { ModelInfo } from '../protocol';
import type { JobHandler } from './context';

export const loadModelJob: JobHandler<'loadModel'> = async (req, ctx) => {
  const t0 = performance.now();
  ctx.phase('starting the execution provider');
  const backend = await ctx.session.backend$();
  const stats: CacheStats = { hits: 0, misses: 0 };
  const fetchFn = cachingFetch(stats);
  const src = hubSource(req.repo.trim(), { baseUrl: req.hubUrl || undefined, token: req.token || undefined, fetch: fetchFn, signal: ctx.signal });
  // free the previous model's GPU buffers before the new weights arrive
  await ctx.session.dropModel();
  // sizes from the Hub's listing, the file for this device, and "too big" refused before any weight downloads
  ctx.phase('choosing the weights file');
  const device = { kind: backend.kind, shaderF16: backend.shaderF16, ...backend.limits };
  const pre = await preflightHub(req.repo.trim(), { baseUrl: req.hubUrl || undefined, token: req.token || undefined, signal: ctx.signal }, device, req.onnxFile);
  ctx.phase('download');
  const files = await loadModel(src, {
    onnxFile: pre.file,
    onProgress: (p) => ctx.progress({ phase: 'download', path: p.path, loaded: p.loaded, total: p.total }),
  });
  ctx.phase('weights');
  ctx.progress({ phase: 'build', loaded: files.bytes, message: 'placing weights' });
  const model = LoadedModel.create(backend, files.config, files.weights, files.format);
  ctx.phase('tokenizer');
  ctx.progress({ phase: 'build', loaded: files.bytes, message: 'reading the tokenizer' });
  const tok = await loadTokenizer({ get: (p) => src.get(p, (q) => ctx.progress({ phase: 'download', path: q.path, loaded: q.loaded, total: q.total })) });
  const cfg = files.config;
  const q4 = [...model.linears.values()].some((l) => l.kind === 'q4');
  const info: ModelInfo = {
    repo: req.repo.trim(),
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
  await ctx.session.setModel(model, tok, info);
  return info;
};

export const cacheListJob: JobHandler<'cacheList'> = async () => ({ repos: await listCached() });

export const cacheClearJob: JobHandler<'cacheClear'> = async (req) => ({ removed: await clearCached(req.repo) });
