// How the worker schedules jobs: jobs that use the GPU (or swap the model under it) run one at a time in arrival
// order — two training runs would fight over the device — while light jobs (cache listing, questions, judge
// calls, PCA) start at once. Every job gets an AbortSignal; a job cancelled while it waits never starts, and a
// failed job does not stop the ones queued after it. Kept free of the worker's global scope so it can be tested.

import { abortError } from './errors';

export class JobQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private controllers = new Map<number, AbortController>();

  /** Runs `job` (exclusive: after every exclusive job submitted before it); settles with its result or error. */
  run<T>(id: number, exclusive: boolean, job: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const ac = new AbortController();
    this.controllers.set(id, ac);
    const start = async () => {
      if (ac.signal.aborted) throw abortError();
      return job(ac.signal);
    };
    let run: Promise<T>;
    if (exclusive) {
      run = this.tail.then(start, start);
      this.tail = run.catch(() => {});
    } else {
      run = start();
    }
    return run.finally(() => this.controllers.delete(id));
  }

  /** Aborts job `id`'s signal (a queued job then never starts); unknown ids are ignored. */
  cancel(id: number): void {
    this.controllers.get(id)?.abort();
  }

  /** ids of jobs submitted and not yet settled */
  pending(): number[] {
    return [...this.controllers.keys()];
  }
}

/**
 * Calls `onLost` once when the device is lost for a reason other than a deliberate destroy() (onnxruntime
 * releasing its own device reports 'destroyed'), and `onDestroyed` for that one.
 */
export function watchDeviceLoss(
  device: Pick<GPUDevice, 'lost'>,
  onLost: (info: { reason: string; message: string }) => void,
  onDestroyed?: (message: string) => void,
): Promise<void> {
  return device.lost.then((info) => {
    if (info.reason === 'destroyed') onDestroyed?.(info.message);
    else onLost({ reason: String(info.reason), message: info.message });
  });
}
