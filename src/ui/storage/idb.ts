// IndexedDB (idb-keyval) for what must survive a reload: the vector library and training runs (their resumable
// state: v, Adam moments, history, checkpoints). Each kind has its own object store so that one can be listed
// or cleared without touching the other.

import { createStore, del, entries, get, set, type UseStore } from 'idb-keyval';
import type { StoredVector, RunRecord } from '../store/types';

let vectorStore: UseStore | undefined;
let runStore: UseStore | undefined;
const vectorsDb = () => (vectorStore ??= createStore('steerlab-vectors', 'vectors'));
const runsDb = () => (runStore ??= createStore('steerlab-runs', 'runs'));

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
