// The lab's Web Worker: the engine, the model and every long computation run here so the page stays responsive.
// Requests arrive with an id; each gets progress messages and one result or error ({message, where}). Jobs
// that use the GPU run one at a time in arrival order, light jobs at once, and a cancel aborts the job's
// signal (job_queue.ts).

/// <reference lib="webworker" />

import { DEVICE_LOST_HINT, toWireError } from './errors';
import type { JobContext, JobHandler } from './jobs/context';
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
import { JobQueue, watchDeviceLoss } from './job_queue';
import type { FromWorker, JobType, ToWorker, WorkerEvent } from './protocol';
import { WorkerSession } from './session';

const scope = self as unknown as DedicatedWorkerGlobalScope;

const HANDLERS: { [T in JobType]: JobHandler<T> } = {
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

/** jobs that need the device (or swap the model under it) */
const EXCLUSIVE = new Set<JobType>(['loadModel', 'loadData', 'train', 'efficiency', 'stability', 'finewebKl', 'generate']);

const session = new WorkerSession();
const jobs = new JobQueue();
let watching = false;

function post(m: FromWorker): void {
  scope.postMessage(m);
}

function event(e: WorkerEvent): void {
  post({ kind: 'event', event: e });
}

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
      void session.dropModel().catch(() => {});
      event({ type: 'device-lost', message: `${DEVICE_LOST_HINT} (${info.reason}: ${info.message || 'no details'})` });
    },
    (message) => {
      watching = false;
      event({ type: 'log', level: 'warn', message: `WebGPU device destroyed by its owner: ${message}` });
    },
  );
}

async function runJob<T extends JobType>(id: number, type: T, req: Parameters<JobHandler<T>>[0]): Promise<void> {
  let phase = '';
  try {
    const result = await jobs.run(id, EXCLUSIVE.has(type), (signal) => {
      const ctx: JobContext<T> = {
        session,
        signal,
        progress: (p) => post({ kind: 'progress', id, progress: p }),
        phase: (name) => {
          phase = name;
        },
      };
      return (HANDLERS[type] as JobHandler<T>)(req, ctx);
    });
    post({ kind: 'result', id, result });
  } catch (e) {
    post({ kind: 'error', id, error: toWireError(e, phase ? `${type}: ${phase}` : type) });
  } finally {
    if (EXCLUSIVE.has(type)) void watchDevice();
  }
}

scope.onmessage = (ev: MessageEvent<ToWorker>) => {
  const m = ev.data;
  if (m.kind === 'cancel') {
    jobs.cancel(m.id);
    return;
  }
  void runJob(m.id, m.type, m.req as never);
};

// errors outside any job (a failed import, an unhandled rejection inside ORT) still reach the UI
scope.addEventListener('unhandledrejection', (e) => {
  event({ type: 'log', level: 'warn', message: `worker: ${(e.reason as Error)?.message ?? String(e.reason)}` });
});
