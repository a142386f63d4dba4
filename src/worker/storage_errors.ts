// Storage that fails in the worker (a full quota while caching a model file or FineWeb documents) is reported
// to the page as an event, never swallowed: the job goes on with what it has in memory, and the page tells the
// user what will not be there after a reload.

import type { WorkerEvent } from './protocol';

/** QuotaExceededError in every browser's spelling (Firefox used NS_ERROR_DOM_QUOTA_REACHED, old WebKit code 22). */
export function isQuotaError(e: unknown): boolean {
  const x = e as { name?: unknown; code?: unknown } | null;
  return x?.name === 'QuotaExceededError' || x?.name === 'NS_ERROR_DOM_QUOTA_REACHED' || x?.code === 22;
}

export function storageErrorEvent(what: string, e: unknown): Extract<WorkerEvent, { type: 'storage-error' }> {
  const quota = isQuotaError(e);
  const why = e instanceof Error ? e.message : String(e);
  return {
    type: 'storage-error',
    what,
    quota,
    message: quota
      ? `This browser's storage is full, so ${what} could not be kept: it works now but will be fetched again after a reload. Free space in the Model panel's cache card or in the browser's site settings. (${why})`
      : `${what} could not be stored in this browser: ${why}`,
  };
}

/** For cachingFetch: reports a file that could not be cached, named by the end of its URL. */
export function reportCacheFailure(report: ((e: WorkerEvent) => void) | undefined): (e: unknown, url: string) => void {
  return (e, url) => {
    const name = decodeURIComponent(new URL(url, 'http://x').pathname.split('/').filter(Boolean).slice(-3).join('/'));
    report?.(storageErrorEvent(`the downloaded file ${name}`, e));
  };
}
