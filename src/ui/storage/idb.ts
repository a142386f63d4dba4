// IndexedDB (idb-keyval) for what must survive a reload: the vector library, training runs (their resumable
// state: v, Adam moments, history, checkpoints) and the analyses' results (sweeps, PCA, chat answers, judge
// scores). Each kind has its own object store so that one can be listed or cleared without touching the others.

import { createStore, del, entries, get, set, type UseStore } from 'idb-keyval';
import type { StoredVector, RunRecord } from '../store/types';

let vectorStore: UseStore | undefined;
let runStore: UseStore | undefined;
let resultStore: UseStore | undefined;
const vectorsDb = () => (vectorStore ??= createStore('steerlab-vectors', 'vectors'));
const runsDb = () => (runStore ??= createStore('steerlab-runs', 'runs'));
const resultsDb = () => (resultStore ??= createStore('steerlab-results', 'results'));

export async function listVectors(): Promise<StoredVector[]> {
  return (await entries<string, StoredVector>(vectorsDb())).map(([, v]) => v).sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}

export const putVector = (v: StoredVector) => set(v.id, v, vectorsDb());
export const deleteVector = (id: string) => del(id, vectorsDb());

export async function listRuns(): Promise<RunRecord[]> {
  return (await entries<string, RunRecord>(runsDb())).map(([, r]) => r);
}

export const putRun = (r: RunRecord) => set(r.id, r, runsDb());
export const getRun = (id: string) => get<RunRecord>(id, runsDb());

/** Analysis results by name ('efficiency', 'stability', 'pretrain', 'pca', 'chat'). */
export async function listResults(): Promise<Record<string, unknown>> {
  return Object.fromEntries(await entries<string, unknown>(resultsDb()));
}

export const putResult = (key: string, value: unknown) => set(key, value, resultsDb());

/** Why a write failed, in the user's words: a full quota, storage the browser refuses, or something else. */
export function storageProblem(e: unknown): { kind: 'quota' | 'blocked' | 'other'; text: string } {
  const name = (e as { name?: string })?.name ?? '';
  const msg = e instanceof Error ? e.message : String(e);
  if (name === 'QuotaExceededError' || /quota/i.test(msg)) return { kind: 'quota', text: 'this browser’s storage for the lab is full' };
  if (name === 'InvalidStateError' || name === 'SecurityError' || name === 'UnknownError' || /blocked|not allowed|denied|private/i.test(msg)) {
    return { kind: 'blocked', text: 'this browser does not let the lab store anything (a private window, or site data blocked)' };
  }
  return { kind: 'other', text: `the browser refused to store it (${msg})` };
}
