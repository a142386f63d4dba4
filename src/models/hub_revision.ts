// Pins a Hub revision to a commit before any file is read, so that a model's files all come from one commit,
// the browser cache is keyed by that commit (a new push to `main` is a new cache entry, never a mix of old and
// new files), and reports say exactly which weights produced them.
//   1. the Hub API: GET {base}/api/models/{repo}/revision/{rev} → { sha }
//   2. a mirror without the API (404 there): the X-Repo-Commit header of {base}/{repo}/resolve/{rev}/config.json
//   3. neither: the revision stays as given, and the answer says it is not pinned

import { SourceError } from './file_source';

const SHA = /^[0-9a-f]{40}$/;

export interface PinnedRevision {
  /** the commit (40 hex digits), or the revision as given when it could not be pinned */
  sha: string;
  /** the revision asked for ("main", a tag, a branch, a commit) */
  requested: string;
  how: 'commit given' | 'hub api' | 'x-repo-commit header' | 'not pinned';
}

export interface RevisionOptions {
  baseUrl: string;
  revision?: string;
  token?: string;
  fetch?: typeof fetch;
  signal?: AbortSignal;
}

export async function resolveHubRevision(repo: string, opts: RevisionOptions): Promise<PinnedRevision> {
  const requested = opts.revision ?? 'main';
  if (SHA.test(requested)) return { sha: requested, requested, how: 'commit given' };
  const base = opts.baseUrl.replace(/\/+$/, '');
  const f = opts.fetch ?? globalThis.fetch.bind(globalThis);
  const headers: Record<string, string> = opts.token ? { Authorization: `Bearer ${opts.token}` } : {};
  const call = async (url: string, method: 'GET' | 'HEAD'): Promise<Response> => {
    try {
      return await f(url, { method, headers, signal: opts.signal });
    } catch (e) {
      if ((e as Error).name === 'AbortError') throw e;
      throw new SourceError(`could not reach ${base} to look up ${repo}@${requested}: ${(e as Error).message} (offline, or blocked by the network)`, 'network');
    }
  };
  const refused = (status: number) =>
    new SourceError(
      `${repo} is a gated or private repository (HTTP ${status} looking up ${requested}): accept the license on the Hub and set a token${opts.token ? ' (the token given was refused)' : ''}`,
      'access',
    );

  const api = await call(`${base}/api/models/${repo}/revision/${encodeURIComponent(requested)}`, 'GET');
  if (api.status === 401 || api.status === 403) throw refused(api.status);
  if (api.ok) {
    let sha: unknown;
    try {
      sha = ((await api.json()) as { sha?: unknown })?.sha;
    } catch (e) {
      throw new SourceError(`${base}/api/models/${repo}/revision/${requested} did not answer JSON (${(e as Error).message})`, 'http');
    }
    if (typeof sha !== 'string' || !SHA.test(sha)) throw new SourceError(`${base}/api/models/${repo}/revision/${requested} gave no commit sha (got ${JSON.stringify(sha)})`, 'http');
    return { sha, requested, how: 'hub api' };
  }
  if (api.status !== 404) throw new SourceError(`${base}/api/models/${repo}/revision/${requested}: HTTP ${api.status}`, 'http');

  // 404: no such repo or revision on the Hub, or a mirror that serves files only; the file route tells which
  const head = await call(`${base}/${repo}/resolve/${encodeURIComponent(requested)}/config.json`, 'HEAD');
  if (head.status === 401 || head.status === 403) throw refused(head.status);
  if (head.status === 404) throw new SourceError(`${repo} has no revision ${requested} with a config.json at ${base} (HTTP 404)`, 'missing');
  if (!head.ok) throw new SourceError(`${repo}/resolve/${requested}/config.json: HTTP ${head.status}`, 'http');
  const commit = head.headers.get('x-repo-commit');
  if (commit && SHA.test(commit)) return { sha: commit, requested, how: 'x-repo-commit header' };
  return { sha: requested, requested, how: 'not pinned' };
}
