// Where model files come from: a local folder (Node, tests, the plan runner) or a Hugging Face repository over
// HTTP (the browser; tests point baseUrl at a local server that plays the Hub). Both hand out bytes by the
// file's path inside the repository.

import { concatBytes } from '../engine/bytes';

export interface FetchProgress {
  path: string;
  loaded: number;
  /** from Content-Length; undefined when the server did not say */
  total?: number;
}

/** Why a file could not be had: loadModel treats 'network' on a probe as "not reachable here", the rest as fatal. */
export type SourceErrorKind = 'missing' | 'access' | 'network' | 'truncated' | 'http' | 'io';

export class SourceError extends Error {
  constructor(
    message: string,
    readonly kind: SourceErrorKind,
  ) {
    super(message);
    this.name = 'SourceError';
  }
}

export interface FileSource {
  /** a label for messages: the folder or the repo id */
  id: string;
  /** the Hub revision the files come from (a commit once pinned, see hub_revision.ts); absent for folders */
  revision?: string;
  get(path: string, onProgress?: (p: FetchProgress) => void): Promise<Uint8Array>;
  has(path: string): Promise<boolean>;
}

/** Files of a local folder (Node only; fs is imported lazily so browser bundles never pull it in). */
export function dirSource(dir: string): FileSource {
  const load = async () => {
    const fs = await import('node:fs/promises');
    const path = await import('node:path');
    return { fs, path };
  };
  return {
    id: dir,
    async get(p, onProgress) {
      const { fs, path } = await load();
      let buf: Uint8Array;
      try {
        buf = await fs.readFile(path.join(dir, p));
      } catch (e) {
        if ((e as { code?: string }).code === 'ENOENT') throw new SourceError(`${dir} has no file ${p}`, 'missing');
        throw new SourceError(`could not read ${path.join(dir, p)}: ${(e as Error).message}`, 'io');
      }
      // a plain Uint8Array over the Buffer's memory (no copy)
      const out = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
      onProgress?.({ path: p, loaded: out.byteLength, total: out.byteLength });
      return out;
    },
    async has(p) {
      const { fs, path } = await load();
      return fs.access(path.join(dir, p)).then(() => true, () => false);
    },
  };
}

export interface HubOptions {
  baseUrl?: string;
  revision?: string;
  /** a Hugging Face access token, for gated or private repositories */
  token?: string;
  fetch?: typeof fetch;
  signal?: AbortSignal;
}

export const HUB_URL = 'https://huggingface.co';

/** Files of a Hub repository: `${baseUrl}/${repo}/resolve/${revision}/${path}` with streamed progress. */
export function hubSource(repo: string, opts: HubOptions = {}): FileSource {
  if (!/^[\w.-]+\/[\w.-]+$/.test(repo)) throw new Error(`"${repo}" is not a Hub repository id (expected owner/name)`);
  const base = (opts.baseUrl ?? HUB_URL).replace(/\/$/, '');
  const rev = opts.revision ?? 'main';
  const f = opts.fetch ?? globalThis.fetch.bind(globalThis);
  const headers: Record<string, string> = opts.token ? { Authorization: `Bearer ${opts.token}` } : {};
  const url = (p: string) => `${base}/${repo}/resolve/${encodeURIComponent(rev)}/${p.split('/').map(encodeURIComponent).join('/')}`;
  const explain = (status: number, p: string) => {
    if (status === 401 || status === 403) {
      return `${repo} is a gated or private repository (HTTP ${status} for ${p}): accept the license on the Hub and set a token${opts.token ? ' (the token given was refused)' : ''}`;
    }
    if (status === 404) return `${repo} has no file ${p} (HTTP 404)`;
    return `${repo}/${p}: HTTP ${status}`;
  };
  const httpError = (status: number, p: string) =>
    new SourceError(explain(status, p), status === 401 || status === 403 ? 'access' : status === 404 ? 'missing' : 'http');
  return {
    id: repo,
    revision: rev,
    async get(p, onProgress) {
      let res: Response;
      try {
        res = await f(url(p), { headers, signal: opts.signal });
      } catch (e) {
        if ((e as Error).name === 'AbortError') throw e;
        throw new SourceError(`could not reach ${base} for ${repo}/${p}: ${(e as Error).message} (offline, or blocked by the network)`, 'network');
      }
      if (!res.ok) throw httpError(res.status, p);
      const lenHeader = res.headers.get('content-length');
      const total = lenHeader ? Number(lenHeader) : undefined;
      if (!res.body) {
        const buf = new Uint8Array(await res.arrayBuffer());
        onProgress?.({ path: p, loaded: buf.byteLength, total });
        return buf;
      }
      const reader = res.body.getReader();
      const chunks: Uint8Array[] = [];
      let loaded = 0;
      for (;;) {
        let r: ReadableStreamReadResult<Uint8Array>;
        try {
          r = await reader.read();
        } catch (e) {
          if ((e as Error).name === 'AbortError') throw e;
          const of = total !== undefined ? ` of ${total}` : '';
          throw new SourceError(`download of ${repo}/${p} is truncated: the connection broke off after ${loaded}${of} bytes (${(e as Error).message})`, 'truncated');
        }
        if (r.done) break;
        chunks.push(r.value);
        loaded += r.value.byteLength;
        onProgress?.({ path: p, loaded, total });
      }
      // a compressed transfer reports the compressed length; only an identity body can be checked exactly
      const encoded = (res.headers.get('content-encoding') ?? 'identity') !== 'identity';
      if (total !== undefined && !encoded && loaded !== total) {
        throw new SourceError(`download of ${repo}/${p} is truncated: got ${loaded} of ${total} bytes`, 'truncated');
      }
      return concatBytes(chunks);
    },
    // 404 means absent; anything else that is not OK (gated, server errors, no network) is an error, so an
    // offline browser is told so instead of "this repository has no config.json"
    async has(p) {
      let res: Response;
      try {
        res = await f(url(p), { method: 'HEAD', headers, signal: opts.signal });
      } catch (e) {
        if ((e as Error).name === 'AbortError') throw e;
        throw new SourceError(`could not reach ${base} for ${repo}/${p}: ${(e as Error).message} (offline, or blocked by the network)`, 'network');
      }
      if (res.ok) return true;
      if (res.status === 404) return false;
      throw httpError(res.status, p);
    },
  };
}
