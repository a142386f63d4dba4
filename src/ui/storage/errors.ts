// One place where every storage failure of the page ends up (IndexedDB writes, localStorage, the worker's file
// cache): a full quota or a blocked store is reported to the user, never swallowed. The notice is plain text
// here; the quota message with a download of what could not be saved is built on top of reportStorageError
// (and its onStorageError listeners) by the persistence work.

import { isQuotaError } from '../../worker/storage_errors';
import { notify } from '../store/store';

export interface StorageProblem {
  /** what could not be kept, in the user's words ("the vector “general”", "the setting sources") */
  what: string;
  quota: boolean;
  message: string;
  error: unknown;
}

const listeners = new Set<(p: StorageProblem) => void>();

/** Hear about every storage problem (for a download of the unsaved data, say); returns the unsubscribe. */
export function onStorageError(fn: (p: StorageProblem) => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function describeStorageError(what: string, error: unknown): StorageProblem {
  const quota = isQuotaError(error);
  const why = error instanceof Error ? error.message : String(error);
  const message = quota
    ? `This browser's storage is full, so ${what} could not be saved. Free space (the Model panel's cache card, or the browser's site settings) and try again. (${why})`
    : `${what} could not be saved in this browser's storage: ${why}`;
  return { what, quota, message, error };
}

/** Reports a failed write; returns the problem so callers can keep it with the data they still hold. */
export function reportStorageError(what: string, error: unknown, message?: string): StorageProblem {
  const p = describeStorageError(what, error);
  if (message) p.message = message;
  notify('error', p.message, { where: 'storage' });
  for (const l of listeners) l(p);
  return p;
}

/** A write that reports its failure and still rejects, so the caller knows the data is not stored. */
export async function reported<T>(what: string, write: Promise<T>): Promise<T> {
  try {
    return await write;
  } catch (e) {
    reportStorageError(what, e);
    throw e;
  }
}

/**
 * Asks the browser to keep this site's storage under pressure (models and runs are hours of work); browsers
 * may grant it silently, ask the user, or refuse. Returns whether storage is persistent now.
 */
export async function requestPersistentStorage(storage: StorageManager | undefined = globalThis.navigator?.storage): Promise<boolean> {
  if (!storage?.persist) return false;
  try {
    if (await storage.persisted?.()) return true;
    return await storage.persist();
  } catch {
    // not allowed in this context (an opaque origin, a sandboxed frame): storage stays best-effort
    return false;
  }
}

/** How much of its quota this site uses (undefined where the browser does not say). */
export async function storageEstimate(storage: StorageManager | undefined = globalThis.navigator?.storage): Promise<{ usage: number; quota: number } | undefined> {
  try {
    const e = await storage?.estimate?.();
    return e && Number.isFinite(e.usage) && Number.isFinite(e.quota) && e.quota! > 0 ? { usage: e.usage!, quota: e.quota! } : undefined;
  } catch {
    return undefined;
  }
}

/** What the Model panel's cache card says about persistent storage (asked for at startup) and the quota. */
export function persistenceText(persisted: boolean | undefined, estimate: { usage: number; quota: number } | undefined, formatBytes: (n: number) => string): string {
  const state =
    persisted === undefined
      ? 'Persistent storage: asking the browser…'
      : persisted
        ? 'Persistent storage: granted. The browser keeps the cached models and saved work even when the disk runs short.'
        : 'Persistent storage: not granted. The browser may clear the cached models and saved work when the disk runs short; download what you want to keep (bookmarking the page or installing it as an app makes most browsers grant it).';
  return estimate ? `${state} In use: ${formatBytes(estimate.usage)} of the ${formatBytes(estimate.quota)} this site may use.` : state;
}
