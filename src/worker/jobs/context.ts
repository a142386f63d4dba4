// What every job handler gets: a cancel signal, a way to report progress, and a phase label that errors carry
// as their `where`.

import type { JobProgress, JobRequest, JobResult, JobType, WorkerEvent } from '../protocol';
import type { WorkerSession } from '../session';

export interface JobContext<T extends JobType> {
  session: WorkerSession;
  signal: AbortSignal;
  progress(p: JobProgress<T>): void;
  /** names the step in progress, for error messages ("tokenizer", "download config.json", …) */
  phase(name: string): void;
  /** tells the page something that is not the job's result (a file that could not be cached) */
  report?(e: WorkerEvent): void;
}

export type JobHandler<T extends JobType> = (req: JobRequest<T>, ctx: JobContext<T>) => Promise<JobResult<T>>;

export function throwIfCancelled(signal: AbortSignal): void {
  if (signal.aborted) throw new DOMException('cancelled', 'AbortError');
}
