// A full quota is reported, never swallowed: the worker's file cache (a Cache Storage stand-in whose put fails
// the way a browser's does), the page's settings and IndexedDB writes, and the persistent-storage request.

import { afterEach, describe, expect, it, vi } from 'vitest';
import { cachingFetch } from '../../src/worker/hub_cache';
import { isQuotaError, reportCacheFailure, storageErrorEvent } from '../../src/worker/storage_errors';
import type { WorkerEvent } from '../../src/worker/protocol';
import { onStorageError, persistenceText, reported, reportStorageError, requestPersistentStorage, storageEstimate } from '../../src/ui/storage/errors';
import { formatBytes } from '../../src/ui/lib/format';
import { saveSetting } from '../../src/ui/storage/local';
import { useLab } from '../../src/ui/store/store';

const quota = () => new DOMException('The quota has been exceeded.', 'QuotaExceededError');

/** Cache Storage whose put() fails with `fail()`; match() finds what `held` has */
function fakeCaches(fail: () => unknown, held: Map<string, Response> = new Map()) {
  const cache = {
    match: async (url: string) => held.get(url)?.clone(),
    put: async (url: string, res: Response) => {
      const body = await res.arrayBuffer();
      const e = fail();
      if (e) throw e;
      held.set(url, new Response(body, { status: res.status, headers: res.headers }));
    },
    keys: async () => [],
    delete: async () => false,
  };
  return { open: async () => cache } as unknown as CacheStorage;
}

afterEach(() => {
  vi.unstubAllGlobals();
  useLab.setState({ notices: [] });
});

describe('the worker file cache', () => {
  it('reports a file that could not be cached because the quota is full, and still returns it', async () => {
    vi.stubGlobal('caches', fakeCaches(quota));
    vi.stubGlobal('fetch', async () => new Response('weights', { status: 200 }));
    const events: WorkerEvent[] = [];
    const f = cachingFetch(undefined, reportCacheFailure((e) => events.push(e)));
    const res = await f('http://hub.test/test/qwen2-hub/resolve/0123/model.safetensors');
    expect(await res.text()).toBe('weights');
    await vi.waitFor(() => expect(events).toHaveLength(1));
    expect(events[0]).toMatchObject({ type: 'storage-error', quota: true, what: 'the downloaded file resolve/0123/model.safetensors' });
    expect((events[0] as { message: string }).message).toMatch(/^This browser's storage is full, so the downloaded file resolve\/0123\/model\.safetensors could not be kept/);
  });

  it('a download that breaks off is not reported as a storage problem (the reader sees the break itself)', async () => {
    vi.stubGlobal('caches', fakeCaches(() => new TypeError('network error')));
    vi.stubGlobal('fetch', async () => new Response('x', { status: 200 }));
    const events: WorkerEvent[] = [];
    await (await cachingFetch(undefined, reportCacheFailure((e) => events.push(e)))('http://hub.test/a/b/resolve/main/c')).text();
    await new Promise((r) => setTimeout(r, 10));
    expect(events).toEqual([]);
  });

  it('asks the network first for the revision lookup, and answers from the cache when offline', async () => {
    const held = new Map<string, Response>();
    vi.stubGlobal('caches', fakeCaches(() => null, held));
    const url = 'http://hub.test/api/models/test/qwen2-hub/revision/main';
    let sha = 'a'.repeat(40);
    let online = true;
    vi.stubGlobal('fetch', async () => {
      if (!online) throw new TypeError('Failed to fetch');
      return new Response(JSON.stringify({ sha }), { status: 200 });
    });
    const f = cachingFetch();
    expect(await (await f(url)).json()).toEqual({ sha: 'a'.repeat(40) });
    sha = 'b'.repeat(40); // a new commit on main: seen at once, not hidden by the cached answer
    expect(await (await f(url)).json()).toEqual({ sha: 'b'.repeat(40) });
    online = false;
    expect(await (await f(url)).json()).toEqual({ sha: 'b'.repeat(40) });
  });

  it('recognises quota errors in each browser spelling', () => {
    expect(isQuotaError(quota())).toBe(true);
    expect(isQuotaError({ name: 'NS_ERROR_DOM_QUOTA_REACHED' })).toBe(true);
    expect(isQuotaError({ code: 22 })).toBe(true);
    expect(isQuotaError(new TypeError('x'))).toBe(false);
    expect(storageErrorEvent('x', new Error('blocked')).message).toBe('x could not be stored in this browser: blocked');
  });
});

describe('the page storage layer', () => {
  it('a setting that cannot be written (quota) is reported as a notice naming it', () => {
    vi.stubGlobal('localStorage', { setItem: () => { throw quota(); }, removeItem: () => {}, getItem: () => null });
    saveSetting('sources', { hubUrl: 'http://mirror' });
    const n = useLab.getState().notices;
    expect(n).toHaveLength(1);
    expect(n[0]).toMatchObject({ kind: 'error', where: 'storage' });
    expect(n[0]!.text).toMatch(/^This browser's storage is full, so the setting “sources” could not be saved/);
  });

  it('a failed write is reported to the listeners and still rejects', async () => {
    const seen: string[] = [];
    const off = onStorageError((p) => seen.push(`${p.what}|${p.quota}`));
    await expect(reported('the vector “general”', Promise.reject(quota()))).rejects.toThrow('quota');
    off();
    reportStorageError('ignored', new Error('x'));
    expect(seen).toEqual(['the vector “general”|true']);
    expect(useLab.getState().notices.map((n) => n.text)).toEqual([
      expect.stringMatching(/^This browser's storage is full, so the vector “general” could not be saved/),
      'ignored could not be saved in this browser\'s storage: x',
    ]);
  });

  it('asks for persistent storage once, unless it is already granted', async () => {
    const calls: string[] = [];
    const mk = (already: boolean, grant: boolean) =>
      ({ persisted: async () => (calls.push('persisted'), already), persist: async () => (calls.push('persist'), grant) }) as unknown as StorageManager;
    expect(await requestPersistentStorage(mk(false, true))).toBe(true);
    expect(await requestPersistentStorage(mk(true, false))).toBe(true);
    expect(await requestPersistentStorage(mk(false, false))).toBe(false);
    expect(calls).toEqual(['persisted', 'persist', 'persisted', 'persisted', 'persist']);
    expect(await requestPersistentStorage(undefined)).toBe(false);
  });

  it('says whether persistent storage was granted, and how much of the quota is used', async () => {
    expect(persistenceText(undefined, undefined, formatBytes)).toMatch(/asking the browser/);
    expect(persistenceText(true, undefined, formatBytes)).toMatch(/^Persistent storage: granted\. /);
    const refused = persistenceText(false, { usage: 12_300_000, quota: 2_000_000_000 }, formatBytes);
    expect(refused).toMatch(/^Persistent storage: not granted\. The browser may clear the cached models/);
    expect(refused).toMatch(/In use: 12\.3 MB of the 2\.0 GB this site may use\.$/);
    const sm = (e: unknown) => ({ estimate: async () => e }) as unknown as StorageManager;
    expect(await storageEstimate(sm({ usage: 5, quota: 10 }))).toEqual({ usage: 5, quota: 10 });
    expect(await storageEstimate(sm({ usage: 5 }))).toBeUndefined();
    expect(await storageEstimate({ estimate: async () => Promise.reject(new Error('no')) } as unknown as StorageManager)).toBeUndefined();
    expect(await storageEstimate(undefined)).toBeUndefined();
  });
});
