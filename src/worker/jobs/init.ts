// Picks the execution provider once per worker: WebGPU when the browser has an adapter, wasm otherwise, and
// reports what it found (the device banner shows it).

import { createBackend } from '../../engine/runtime/backend';
import { holdDevice } from '../keep_device';
import { ORT_FILES } from '../ort_files';
import { serializeSessionCreation } from '../ort_serial';
import type { DeviceInfo } from '../protocol';
import type { JobHandler } from './context';

export const initJob: JobHandler<'init'> = async (req, ctx) => {
  ctx.phase('execution provider');
  let backend;
  try {
    backend = await createBackend({ prefer: req.prefer });
    // before any session exists: ORT reads the paths when it first starts its wasm
    backend.ort.env.wasm.wasmPaths = req.wasmPaths ?? ORT_FILES;
    serializeSessionCreation(backend.ort);
    ctx.phase('starting WebGPU');
    await holdDevice(backend);
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
    ortVersion: backend.ortVersion,
    crossOriginIsolated: isolated,
    threads,
  };
  return info;
};
