// Which files a model repository holds and how big each is, BEFORE downloading any of them: the Hub's tree
// listing (`/api/models/<repo>/tree/<revision>?recursive=true`, LFS files report their real size) or a local
// folder. The file choice (file_choice.ts) and `inspect` work from this.

import { HUB_URL, SourceError, type HubOptions } from './file_source';

export interface ListedFile {
  /** path inside the repository, '/'-separated */
  path: string;
  size: number;
}

interface TreeEntry {
  type?: string;
  path?: string;
  size?: number;
  lfs?: { size?: number };
}

/** Every file of a Hub repository with its size (follows the listing's `Link: <…>; rel="next"` pages). */
export async function listHubFiles(repo: string, opts: HubOptions = {}): Promise<ListedFile[]> {
  const base = (opts.baseUrl ?? HUB_URL).replace(/\/$/, '');
  const rev = encodeURIComponent(opts.revision ?? 'main');
  const f = opts.fetch ?? globalThis.fetch.bind(globalThis);
  const headers: Record<string, string> = opts.token ? { Authorization: `Bearer ${opts.token}` } : {};
  let url: string | null = `${base}/api/models/${repo}/tree/${rev}?recursive=true`;
  const out: ListedFile[] = [];
  while (url) {
    let res: Response;
    try {
      res = await f(url, { headers, signal: opts.signal });
    } catch (e) {
      if ((e as Error).name === 'AbortError') throw e;
      throw new SourceError(`could not reach ${base} to list ${repo}: ${(e as Error).message} (offline, or blocked by the network)`, 'network');
    }
    if (res.status === 401 || res.status === 403) throw new SourceError(`${repo} is a gated or private repository (HTTP ${res.status} for its file list): accept the license on the Hub and set a token`, 'access');
    if (res.status === 404) throw new SourceError(`${repo} is not a model repository on ${base} (HTTP 404 for its file list)`, 'missing');
    if (!res.ok) throw new SourceError(`listing ${repo}: HTTP ${res.status}`, 'http');
    const page = (await res.json()) as TreeEntry[];
    if (!Array.isArray(page)) throw new SourceError(`listing ${repo}: the Hub answered something other than a file list`, 'http');
    for (const e of page) {
      if (e.type !== 'file' || typeof e.path !== 'string') continue;
      out.push({ path: e.path, size: e.lfs?.size ?? e.size ?? 0 });
    }
    const next = /<([^>]+)>;\s*rel="next"/.exec(res.headers.get('link') ?? '');
    url = next ? new URL(next[1]!, base).toString() : null;
  }
  return out;
}

/** Every file under a local folder with its size (Node only). */
export async function listDirFiles(dir: string): Promise<ListedFile[]> {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  const out: ListedFile[] = [];
  const walk = async (rel: string) => {
    for (const e of await fs.readdir(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (!e.name.startsWith('.')) await walk(r);
      } else if (e.isFile()) out.push({ path: r, size: (await fs.stat(path.join(dir, r))).size });
    }
  };
  await walk('');
  return out.sort((a, b) => a.path.localeCompare(b.path));
}
