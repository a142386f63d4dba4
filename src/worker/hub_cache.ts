// A fetch for model and dataset files that keeps every complete download in Cache Storage, so that a reload
// (or a later visit without network) gets the same bytes from this browser. HEAD requests for a cached file are
// answered from the cache too: the loaders probe files with HEAD before reading them, and those probes must not
// need the network once the model is here.

export const HUB_CACHE = 'steerlab-files-v1';

export interface CacheStats {
  hits: number;
  misses: number;
}

function cacheApi(): CacheStorage | null {
  return typeof caches !== 'undefined' ? caches : null;
}

export function cachingFetch(stats: CacheStats = { hits: 0, misses: 0 }): typeof fetch {
  return async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const method = (init?.method ?? 'GET').toUpperCase();
    const store = cacheApi();
    const cache = store ? await store.open(HUB_CACHE) : null;
    if (cache) {
      const hit = await cache.match(url);
      if (hit) {
        stats.hits++;
        if (method === 'HEAD') return new Response(null, { status: 200, headers: hit.headers });
        return hit;
      }
    }
    const res = await fetch(input, init);
    // a file fetched from the network (404 probes for optional files are not downloads)
    if (method === 'GET' && res.ok) stats.misses++;
    // only whole, successful bodies are worth keeping (a 206 range answer is a piece of a file)
    if (cache && method === 'GET' && res.status === 200) {
      // put() reads a clone while the caller streams the original; a broken download rejects and stores nothing
      cache.put(url, res.clone()).catch(() => {});
    }
    return res;
  };
}

/**
 * Cached files grouped by Hub repository (…/<owner>/<name>/resolve/…, `model: true`) or by host path for other
 * files (datasets, `model: false`). Sizes are the stored bodies' own (content-length when the server sent one,
 * else the body's size), never 0 for a file that is there.
 */
export async function listCached(): Promise<{ repo: string; files: number; bytes: number; model: boolean }[]> {
  const store = cacheApi();
  if (!store) return [];
  const cache = await store.open(HUB_CACHE);
  const groups = new Map<string, { files: number; bytes: number; model: boolean }>();
  for (const req of await cache.keys()) {
    const u = new URL(req.url);
    const m = /^\/([^/]+\/[^/]+)\/resolve\//.exec(u.pathname);
    const repo = m ? m[1]! : `${u.host}${u.pathname.replace(/\/[^/]*$/, '/')}`;
    const res = await cache.match(req);
    const header = Number(res?.headers.get('content-length') ?? NaN);
    // a compressed or chunked answer has no usable length header: the stored body knows its size
    const bytes = Number.isFinite(header) && header > 0 ? header : res ? (await res.blob()).size : 0;
    const g = groups.get(repo) ?? { files: 0, bytes: 0, model: !!m && !repo.startsWith('datasets/') };
    g.files++;
    g.bytes += bytes;
    groups.set(repo, g);
  }
  return [...groups].map(([repo, g]) => ({ repo, ...g })).sort((a, b) => a.repo.localeCompare(b.repo));
}

/** Removes one repository's files (or everything) from the cache; returns how many files went. */
export async function clearCached(repo?: string): Promise<number> {
  const store = cacheApi();
  if (!store) return 0;
  const cache = await store.open(HUB_CACHE);
  let removed = 0;
  for (const req of await cache.keys()) {
    if (repo && !new URL(req.url).pathname.startsWith(`/${repo}/resolve/`)) continue;
    if (await cache.delete(req)) removed++;
  }
  return removed;
}
