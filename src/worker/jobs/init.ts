// Picks the execution provider once per worker: WebGPU when the browser has an adapter, wasm otherwise, and
// reports what it found (the device banner shows it).

import { createBackend } from '../../engine/runtime/backend';
import { ORT_FILES } from '../ort_files';
import type { DeviceInfo } from '../protocol';
import type { JobHandler } from './context';

export const initJob: JobHandler<'init'> = async (req, ctx) => {
  ctx.phase('execution provider');
  let backend;
  try {
    // the engine queues session creation and anchors ORT's GPU device (src/engine/runtime/device.ts)
    backend = await createBackend({ prefer: req.prefer, wasmPaths: req.wasmPaths ?? ORT_FILES });
  } catch (e) {
    ctx.session.failBackend(e);
    throw e;
  }
  ctx.session.setBackend(backend);
  const isolated = typeof crossOriginIsolated !== 'undefined' && crossOriginIsolated;
  const threads = backend.ort.env.wasm.numThreads ?? (isolated ? Math.min(4, Math.ceil((navigator.hardwareConcurrency ?? 2) / 2)) : 1);
  const info: DeviceInfo = {
    kind: backend.kind,
    reason: backend.reason,
    adapter: backend.adapter,
    shaderF16: backend.shaderF16,
    limits: backend.limits,
    ortVersion: backend.ortVersion,
    crossOriginIsolated: isolated,
    threads,
  };
  return info;
};
