// Runs a worker job under a key the panels know ("model", "train:general", "efficiency"…), so that each long
// job shows a progress bar with a cancel button wherever its panel is, and errors become notices that say
// where they happened.

import { LabClient, LabError, startLabWorker } from '../../worker/client';
import type { JobProgress, JobRequest, JobResult, JobType } from '../../worker/protocol';
import { reportStorageError } from '../storage/errors';
import { notify, useLab } from '../store/store';
import type { JobView } from '../store/types';

let client: LabClient | undefined;

export function lab(): LabClient {
  if (!client) {
    client = startLabWorker();
    client.onEvent((e) => {
      if (e.type === 'device-lost') {
        useLab.setState({ deviceLost: e.message });
        notify('error', e.message, { where: 'GPU device' });
      } else if (e.type === 'storage-error') reportStorageError(e.what, { name: e.quota ? 'QuotaExceededError' : 'Error', message: e.message }, e.message);
      else if (e.level === 'warn') console.warn(e.message);
    });
  }
  return client;
}

export interface TrackOptions<T extends JobType> {
  /** maps a progress message to the bar (fraction 0..1 or null) and its text */
  view?: (p: JobProgress<T>) => { fraction: number | null; detail: string } | null;
  onProgress?: (p: JobProgress<T>) => void;
  /** report errors as notices (default true); cancellations never are */
  notifyErrors?: boolean;
}

export function setJob(key: string, patch: Partial<JobView> | null): void {
  useLab.setState((s) => {
    const jobs = { ...s.jobs };
    if (patch === null) delete jobs[key];
    else {
      const base: JobView = { label: '', fraction: null, detail: '', startedAt: Date.now() };
      jobs[key] = Object.assign(base, jobs[key], patch);
    }
    return { jobs };
  });
}

export async function track<T extends JobType>(key: string, label: string, type: T, req: JobRequest<T>, opts: TrackOptions<T> = {}): Promise<JobResult<T>> {
  const job = lab().call(type, req, {
    onProgress: (p) => {
      opts.onProgress?.(p);
      const v = opts.view?.(p);
      if (v) setJob(key, v);
    },
  });
  setJob(key, { label, fraction: null, detail: 'waiting for the lab…', startedAt: Date.now(), cancel: job.cancel });
  try {
    return await job.promise;
  } catch (e) {
    if (e instanceof LabError && !e.cancelled && opts.notifyErrors !== false) notify('error', e.message, { where: e.where });
    throw e;
  } finally {
    setJob(key, null);
  }
}

export function isCancelled(e: unknown): boolean {
  return e instanceof LabError && e.cancelled;
}

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
