// Caching FineWeb documents: "the first N qualifying documents" is a prefix, so one stored shard of M ≥ N
// documents answers every later request for N. The browser store (IndexedDB via idb-keyval) lives in the UI;
// this is the interface and an in-memory store.

import { FINEWEB_MAX_CHARS, FINEWEB_MIN_CHARS, type FetchDocsOptions, type FinewebSource } from './source';

export interface ShardStore {
  get(name: string): Promise<string[] | undefined>;
  put(name: string, docs: string[]): Promise<void>;
}

export class MemoryShardStore implements ShardStore {
  private readonly shards = new Map<string, string[]>();
  async get(name: string): Promise<string[] | undefined> {
    const s = this.shards.get(name);
    return s ? s.slice() : undefined;
  }
  async put(name: string, docs: string[]): Promise<void> {
    this.shards.set(name, docs.slice());
  }
  names(): string[] {
    return [...this.shards.keys()];
  }
}

/** The shard name for a source and length rule. */
export function shardName(sourceId: string, minChars: number, maxChars: number): string {
  return `${sourceId}|min=${minChars}|max=${maxChars}`;
}

export function cachedSource(source: FinewebSource, store: ShardStore): FinewebSource {
  return {
    id: source.id,
    async fetchDocs(n: number, o: FetchDocsOptions = {}): Promise<string[]> {
      const name = shardName(source.id, o.minChars ?? FINEWEB_MIN_CHARS, o.maxChars ?? FINEWEB_MAX_CHARS);
      const cached = await store.get(name);
      if (cached && cached.length >= n) {
        o.onProgress?.(n, n);
        return cached.slice(0, n);
      }
      const docs = await source.fetchDocs(n, o);
      if (docs.length > (cached?.length ?? 0)) await store.put(name, docs);
      return docs;
    },
  };
}
