// The worker's job dispatch, apart from the worker global so tests can drive it: each request runs its handler
// with a cancel signal, posts progress and exactly one result or error. Jobs that touch the device, the loaded
// model or anything derived from it (evaluators, generators, FineWeb documents, the file cache a download
// writes to) take turns in one queue, in arrival order: a second job never frees what a running one uses.
// Light jobs (cache listing, questions, judge calls, PCA) run at once.

import { DEVICE_LOST_HINT, toWireError } from './errors';
import type { JobContext, JobHandler } from './jobs/context';
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
  const controllers = new Map<number, AbortController>();
  let queue: Promise<unknown> = Promise.resolve();
  const enqueue = <R>(f: () => Promise<R>): Promise<R> => {
    const run = queue.then(f, f);
    queue = run.catch(() => {});
    return run;
  };

  async function runJob<T extends JobType>(id: number, type: T, req: Parameters<JobHandler<T>>[0]): Promise<void> {
    const ac = new AbortController();
    controllers.set(id, ac);
    let phase = '';
    const ctx: JobContext<T> = {
      session,
      signal: ac.signal,
      progress: (p) => post({ kind: 'progress', id, progress: p }),
      phase: (name) => {
        phase = name;
      },
      report: (event) => post({ kind: 'event', event }),
    };
    const start = async () => {
      if (ac.signal.aborted) throw new DOMException('cancelled', 'AbortError');
      return (handlers[type] as JobHandler<T>)(req, ctx);
    };
    try {
      const result = EXCLUSIVE.has(type) ? await enqueue(start) : await start();
      post({ kind: 'result', id, result });
    } catch (e) {
      post({ kind: 'error', id, error: toWireError(e, phase ? `${type}: ${phase}` : type) });
    } finally {
      controllers.delete(id);
      if (EXCLUSIVE.has(type)) opts.afterExclusive?.();
    }
  }

  return {
    receive(m) {
      if (m.kind === 'cancel') {
        controllers.get(m.id)?.abort();
        return;
      }
      void runJob(m.id, m.type, m.req as never);
    },
    deviceLost(reason, message) {
      post({ kind: 'event', event: { type: 'device-lost', message: `${DEVICE_LOST_HINT} (${reason}: ${message || 'no details'})` } });
      return enqueue(() => session.dropModel()).catch(() => {});
    },
    idle: () => queue.then(() => {}),
  };
}
