// The lab's Web Worker: the engine, the model and every long computation run here so the page stays responsive.
// Requests arrive with an id; each gets progress messages and one result or error ({message, where}); the
// queueing rules live in dispatch.ts. This file wires the handlers to the worker global and watches the device.

/// <reference lib="webworker" />

import { createDispatcher, type Handlers } from './dispatch';
import { loadDataJob } from './jobs/data';
import { finewebJob, finewebKlJob } from './jobs/fineweb';
import { generateJob } from './jobs/generate';
import { initJob } from './jobs/init';
import { judgeJob, questionsJob } from './jobs/judge';
import { cacheClearJob, cacheListJob, loadModelJob } from './jobs/model';
import { pcaJob } from './jobs/pca';
import { efficiencyJob, stabilityJob } from './jobs/sweeps';
import { trainJob } from './jobs/train';
import { exportAdapterJob, importAdapterJob } from './jobs/adapter_files';
import { watchDeviceLoss } from './job_queue';
import type { FromWorker, ToWorker, WorkerEvent } from './protocol';
import { WorkerSession } from './session';

const scope = self as unknown as DedicatedWorkerGlobalScope;

const HANDLERS: Handlers = {
  init: initJob,
  loadModel: loadModelJob,
  cacheList: cacheListJob,
  cacheClear: cacheClearJob,
  loadData: loadDataJob,
  train: trainJob,
  efficiency: efficiencyJob,
  stability: stabilityJob,
  fineweb: finewebJob,
  finewebKl: finewebKlJob,
  pca: pcaJob,
  exportAdapter: exportAdapterJob,
  importAdapter: importAdapterJob,
  generate: generateJob,
  questions: questionsJob,
  judge: judgeJob,
};

const session = new WorkerSession();
let watching = false;

function post(m: FromWorker): void {
  scope.postMessage(m);
}

function event(e: WorkerEvent): void {
  post({ kind: 'event', event: e });
}

const dispatcher = createDispatcher({ session, handlers: HANDLERS, post, afterExclusive: () => void watchDevice() });

/** Once the WebGPU device exists, report its loss instead of letting later jobs fail one by one. */
async function watchDevice(): Promise<void> {
  const b = session.backend;
  if (watching || !b || b.kind !== 'webgpu') return;
  const env = b.ort.env.webgpu as unknown as { device?: Promise<GPUDevice> | GPUDevice };
  let device: GPUDevice | undefined;
  try {
    device = await env.device;
  } catch {
    return;
  }
  if (!device?.lost) return;
  watching = true;
  void watchDeviceLoss(
    device,
    (info) => {
      watching = false;
      void dispatcher.deviceLost(info.reason, info.message);
    },
    (message) => {
      watching = false;
      event({ type: 'log', level: 'warn', message: `WebGPU device destroyed by its owner: ${message}` });
    },
  );
}

scope.onmessage = (ev: MessageEvent<ToWorker>) => dispatcher.receive(ev.data);

// errors outside any job (a failed import, an unhandled rejection inside ORT) still reach the UI
scope.addEventListener('unhandledrejection', (e) => {
  event({ type: 'log', level: 'warn', message: `worker: ${(e.reason as Error)?.message ?? String(e.reason)}` });
});
