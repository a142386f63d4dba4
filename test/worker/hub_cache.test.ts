// The Cache Storage layer (hub_cache.ts) against an in-memory CacheStorage with the Cache API's semantics (match by
// URL, put reads the whole body and rejects when it breaks) and a counting fetch: a complete download is kept and
// served again without the network, HEAD probes of a cached file are answered from it, 404s, partial (206) and
// broken bodies are not kept, and the library view groups and clears by repository.

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HUB_CACHE, cachingFetch, clearCached, listCached } from '../../src/worker/hub_cache';

class MemoryCache {
  entries = new Map<string, { body: Uint8Array; status: number; headers: [string, string][] }>();
  async match(req: RequestInfo | URL): Promise<Response | undefined> {
    const e = this.entries.get(urlOf(req));
    return e ? new Response(e.body.slice(), { status: e.status, headers: e.headers }) : undefined;
  }
  async put(req: RequestInfo | URL, res: Response): Promise<void> {
    const body = new Uint8Array(await res.arrayBuffer()); // rejects when the body stream errors
    this.entries.set(urlOf(req), { body, status: res.status, headers: [...res.headers] });
  }
  async keys(): Promise<Request[]> {
    return [...this.entries.keys()].map((u) => new Request(u));
  }
  async delete(req: RequestInfo | URL): Promise<boolean> {
    return this.entries.delete(urlOf(req));
  }
}
const urlOf = (r: RequestInfo | URL) => (typeof r === 'string' ? r : r instanceof URL ? r.href : r.url);

let cache: MemoryCache;
let opened: string[];
let network: { method: string; url: string }[];
const HUB = 'https://hub.test';
const FILES: Record<string, Uint8Array> = {
  '/org/model-a/resolve/main/config.json': new TextEncoder().encode('{"model_type":"qwen2"}'),
  '/org/model-a/resolve/main/model.onnx': new Uint8Array(1000).fill(7),
  '/org/model-b/resolve/main/config.json': new TextEncoder().encode('{}'),
  '/datasets/bad_medical_advice.jsonl.gz': new Uint8Array(64).fill(1),
};

beforeEach(() => {
  cache = new MemoryCache();
  opened = [];
  network = [];
  vi.stubGlobal('caches', {
    open: async (name: string) => {
      opened.push(name);
      return cache;
    },
  });
  vi.stubGlobal('fetch', async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(urlOf(input));
    const method = (init?.method ?? 'GET').toUpperCase();
    network.push({ method, url: url.pathname });
    if (url.pathname === '/broken') {
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(new Uint8Array(10));
          c.error(new TypeError('connection reset'));
        },
      });
      return new Response(body, { status: 200 });
    }
    if (url.pathname === '/partial') return new Response(new Uint8Array(5), { status: 206 });
    const f = FILES[url.pathname];
    if (!f) return new Response('not found', { status: 404 });
    return new Response(method === 'HEAD' ? null : f.slice(), { status: 200, headers: { 'content-length': String(f.length) } });
  });
});
afterEach(() => {
  vi.unstubAllGlobals();
});

/** put() runs in the background of the fetch; let it finish */
const settle = () => new Promise((r) => setTimeout(r, 10));

describe('cachingFetch', () => {
  it('keeps a complete download and serves it again, HEAD probes included, without the network', async () => {
    const stats = { hits: 0, misses: 0 };
    const f = cachingFetch(stats);
    const url = `${HUB}/org/model-a/resolve/main/model.onnx`;
    const first = new Uint8Array(await (await f(url)).arrayBuffer());
    await settle();
    expect(stats).toEqual({ hits: 0, misses: 1 });
    expect(opened.every((n) => n === HUB_CACHE)).toBe(true);
    const again = new Uint8Array(await (await f(url)).arrayBuffer());
    expect(Array.from(again)).toEqual(Array.from(first));
    const head = await f(url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe('1000');
    expect(await head.text()).toBe('');
    expect(stats).toEqual({ hits: 2, misses: 1 });
    expect(network).toEqual([{ method: 'GET', url: '/org/model-a/resolve/main/model.onnx' }]);
  });

  it('keeps no 404, no partial answer and no broken body', async () => {
    const stats = { hits: 0, misses: 0 };
    const f = cachingFetch(stats);
    expect((await f(`${HUB}/org/model-a/resolve/main/tokenizer.json`)).status).toBe(404);
    expect((await f(`${HUB}/partial`)).status).toBe(206);
    const broken = await f(`${HUB}/broken`);
    await expect(broken.arrayBuffer()).rejects.toThrow('connection reset');
    // a HEAD probe of a file that is not cached goes to the network and stores nothing
    expect((await f(`${HUB}/org/model-b/resolve/main/config.json`, { method: 'HEAD' })).status).toBe(200);
    await settle();
    expect([...cache.entries.keys()]).toEqual([]);
    expect(stats.hits).toBe(0);
    expect(stats.misses).toBe(2); // the 206 and the broken 200 came over the network (2xx) but neither is kept
  });

  it('works as a plain fetch where there is no Cache Storage', async () => {
    vi.stubGlobal('caches', undefined);
    const f = cachingFetch();
    expect(await (await f(`${HUB}/org/model-b/resolve/main/config.json`)).text()).toBe('{}');
    expect(await listCached()).toEqual([]);
    expect(await clearCached()).toBe(0);
  });
});

describe('listCached / clearCached', () => {
  it('groups cached files by repository with their sizes, marks which are models, and clears one repository or all', async () => {
    const f = cachingFetch();
    for (const p of Object.keys(FILES)) await (await f(`${HUB}${p}`)).arrayBuffer();
    await settle();
    // the Model panel's cache card lists only `model: true` groups; a dataset file's host path is not a model
    expect(await listCached()).toEqual([
      { repo: 'hub.test/datasets/', files: 1, bytes: 64, model: false },
      { repo: 'org/model-a', files: 2, bytes: 1022, model: true },
      { repo: 'org/model-b', files: 1, bytes: 2, model: true },
    ]);
    expect(await clearCached('org/model-a')).toBe(2);
    expect((await listCached()).map((g) => g.repo)).toEqual(['hub.test/datasets/', 'org/model-b']);
    expect(await clearCached()).toBe(2);
    expect(await listCached()).toEqual([]);
  });
});
