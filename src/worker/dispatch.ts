// The worker's job dispatch, apart from the worker global so tests can drive it: each request runs its handler
// with a cancel signal, posts progress and exactly one result or error. Jobs that touch the device, the loaded
// model or anything derived from it (evaluators, generators, FineWeb documents, the file cache a download
// writes to) take turns in one queue, in arrival order: a second job never frees what a running one uses.
// Light jobs (cache listing, questions, judge calls, PCA, and the PEFT export/import, which read only the loaded
// model's config and name the model they checked against) run at once. The queue itself is job_queue.ts.

import { DEVICE_LOST_HINT, toWireError } from './errors';
import type { JobContext, JobHandler } from './jobs/context';
import { JobQueue } from './job_queue';
import type { FromWorker, JobType, ToWorker } from './protocol';
import type { WorkerSession } from './session';

/**
 * Jobs that run one at a time. fineweb replaces the documents and drops the KL evaluators built on the old
 * ones; cacheClear deletes files a model download may be writing; the rest use the device.
 */
export const EXCLUSIVE: ReadonlySet<JobType> = new Set<JobType>(['loadModel', 'loadData', 'train', 'efficiency', 'stability', 'fineweb', 'finewebKl', 'generate', 'cacheClear']);

export type Handlers = { [T in JobType]: JobHandler<T> };

export interface Dispatcher {
  /** a request or a cancel from the page */
  receive(m: ToWorker): void;
  /**
   * The WebGPU device is gone: tell the page now, and free the model's buffers once the job running on it has
   * ended (it fails on its own); freeing them under it would turn one clear error into undefined behaviour.
   */
  deviceLost(reason: string, message: string): Promise<void>;
  /** resolves when every queued job has settled (tests, shutdown) */
  idle(): Promise<void>;
}

export function createDispatcher(opts: { session: WorkerSession; handlers: Handlers; post(m: FromWorker): void; afterExclusive?(): void }): Dispatcher {
  const { session, handlers, post } = opts;
  const jobs = new JobQueue();
  // the dispatcher's own queue entries (dropping the model, idle) get ids no request uses
  let ownId = 0;
  const enqueue = <R>(f: () => Promise<R>): Promise<R> => jobs.run(--ownId, true, f);

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
          report: (event) => post({ kind: 'event', event }),
        };
        return (handlers[type] as JobHandler<T>)(req, ctx);
      });
      post({ kind: 'result', id, result });
    } catch (e) {
      post({ kind: 'error', id, error: toWireError(e, phase ? `${type}: ${phase}` : type) });
    } finally {
      if (EXCLUSIVE.has(type)) opts.afterExclusive?.();
    }
  }

  return {
    receive(m) {
      if (m.kind === 'cancel') {
        jobs.cancel(m.id);
        return;
      }
      void runJob(m.id, m.type, m.req as never);
    },
    deviceLost(reason, message) {
      post({ kind: 'event', event: { type: 'device-lost', message: `${DEVICE_LOST_HINT} (${reason}: ${message || 'no details'})` } });
      return enqueue(() => session.dropModel()).catch(() => {});
    },
    idle: () => enqueue(async () => {}),
  };
}
