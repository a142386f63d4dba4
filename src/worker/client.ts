// The UI's handle on the lab worker: call(type, req, {onProgress}) returns a Job whose promise resolves with the
// result or rejects with a LabError ({message, where}); job.cancel() stops it. Worker events (a lost GPU device)
// go to the listeners registered with onEvent.

import type { FromWorker, JobProgress, JobRequest, JobResult, JobType, ToWorker, WireError, WorkerEvent } from './protocol';

export class LabError extends Error {
  readonly where: string;
  readonly cancelled: boolean;
  readonly deviceLost: boolean;
  constructor(w: WireError) {
    super(w.message);
    this.name = w.name ?? 'LabError';
    this.where = w.where;
    this.cancelled = w.name === 'AbortError';
    this.deviceLost = w.name === 'DeviceLost';
  }
}

export interface Job<T extends JobType> {
  id: number;
  promise: Promise<JobResult<T>>;
  cancel(): void;
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: LabError): void;
  onProgress?: (p: unknown) => void;
}

/** The subset of Worker the client needs (tests pass a fake). */
export interface WorkerLike {
  postMessage(m: unknown, transfer?: Transferable[]): void;
  addEventListener(type: 'message', fn: (e: MessageEvent<FromWorker>) => void): void;
  addEventListener(type: 'error', fn: (e: ErrorEvent) => void): void;
  terminate(): void;
}

export class LabClient {
  private next = 1;
  private pending = new Map<number, Pending>();
  private listeners = new Set<(e: WorkerEvent) => void>();

  constructor(private readonly worker: WorkerLike) {
    worker.addEventListener('message', (e: MessageEvent<FromWorker>) => this.receive(e.data));
    worker.addEventListener('error', (e: ErrorEvent) => {
      // the worker script itself failed (a syntax error, a failed import): every job is lost
      const err = new LabError({ message: `the lab worker stopped: ${e.message || 'script error'}`, where: 'worker' });
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
      for (const l of this.listeners) l({ type: 'log', level: 'warn', message: err.message });
    });
  }

  call<T extends JobType>(type: T, req: JobRequest<T>, opts: { onProgress?: (p: JobProgress<T>) => void } = {}): Job<T> {
    const id = this.next++;
    const promise = new Promise<JobResult<T>>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, onProgress: opts.onProgress as (p: unknown) => void });
    });
    const msg = { kind: 'request', id, type, req } as ToWorker;
    this.worker.postMessage(msg);
    return { id, promise, cancel: () => this.worker.postMessage({ kind: 'cancel', id } satisfies ToWorker) };
  }

  onEvent(fn: (e: WorkerEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  terminate(): void {
    this.worker.terminate();
  }

  private receive(m: FromWorker): void {
    if (m.kind === 'event') {
      for (const l of this.listeners) l(m.event);
      return;
    }
    const p = this.pending.get(m.id);
    if (!p) return;
    if (m.kind === 'progress') p.onProgress?.(m.progress);
    else if (m.kind === 'result') {
      this.pending.delete(m.id);
      p.resolve(m.result);
    } else {
      this.pending.delete(m.id);
      p.reject(new LabError(m.error));
    }
  }
}

/** The app's worker (a module worker bundled by Vite). */
export function startLabWorker(): LabClient {
  const w = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'steerlab-lab' });
  return new LabClient(w as unknown as WorkerLike);
}
