// IndexedDB for the adapter library (LoRA runs and imported PEFT files / share links), in its own object store
// beside the vectors' and runs' (idb.ts), so one kind can be listed or cleared without touching the others.
import { createStore, del, entries, set, type UseStore } from 'idb-keyval';
import type { StoredAdapter } from '../store/types';

let store: UseStore | undefined;
const db = () => (store ??= createStore('steerlab-adapters', 'adapters'));

export async function listAdapters(): Promise<StoredAdapter[]> {
  return (await entries<string, StoredAdapter>(db())).map(([, a]) => a).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}
export const putAdapter = (a: StoredAdapter) => set(a.id, a, db());
export const deleteAdapter = (id: string) => del(id, db());
