// Pinning a Hub revision to a commit before reading files: through the Hub API (the fixture server plays it),
// through X-Repo-Commit on a mirror that has only the file route, or not at all (said so); gated repos, missing
// revisions and no network are errors naming the repository.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFixtureServer, type FixtureServer } from '../../scripts/fixture-server';
import { hubSource } from '../../src/models/file_source';
import { resolveHubRevision } from '../../src/models/hub_revision';
import { loadModel } from '../../src/models/load';

const COMMIT = 'c0ffee0000000000000000000000000000000042';
let s: FixtureServer;
beforeAll(async () => {
  s = await startFixtureServer({ commit: COMMIT });
});
afterAll(() => s?.close());

/** the fixture server's answers with some routes changed, as a fetch */
function through(change: (url: string, init?: RequestInit) => Response | null): typeof fetch {
  return (async (input: RequestInfo | URL, init?: RequestInit) => change(String(input), init) ?? fetch(input, init)) as typeof fetch;
}

describe('resolveHubRevision', () => {
  it('pins main to the commit the Hub API names, and the files are then read at that commit', async () => {
    const pin = await resolveHubRevision('test/qwen2-hub', { baseUrl: s.url });
    expect(pin).toEqual({ sha: COMMIT, requested: 'main', how: 'hub api' });
    const from = s.requests.length;
    const src = hubSource('test/qwen2-hub', { baseUrl: s.url, revision: pin.sha });
    expect(src.revision).toBe(COMMIT);
    await loadModel(src);
    const paths = s.requests.slice(from).map((r) => r.path);
    expect(paths).toContain(`/test/qwen2-hub/resolve/${COMMIT}/model.safetensors`);
    expect(paths.every((p) => p.includes(`/resolve/${COMMIT}/`))).toBe(true);
  });

  it('a commit needs no lookup', async () => {
    const from = s.requests.length;
    expect(await resolveHubRevision('test/qwen2-hub', { baseUrl: s.url, revision: COMMIT })).toMatchObject({ sha: COMMIT, how: 'commit given' });
    expect(s.requests.length).toBe(from);
  });

  it('a mirror without the API: the X-Repo-Commit header of config.json, else not pinned (and said so)', async () => {
    const noApi = through((url) => (url.includes('/api/') ? new Response('not found', { status: 404 }) : null));
    expect(await resolveHubRevision('test/qwen2-hub', { baseUrl: s.url, fetch: noApi })).toEqual({ sha: COMMIT, requested: 'main', how: 'x-repo-commit header' });
    const bare = through((url, init) => {
      if (url.includes('/api/')) return new Response('', { status: 404 });
      if (init?.method === 'HEAD') return new Response(null, { status: 200 });
      return null;
    });
    expect(await resolveHubRevision('test/qwen2-hub', { baseUrl: s.url, fetch: bare })).toEqual({ sha: 'main', requested: 'main', how: 'not pinned' });
  });

  it('gated, missing, broken and unreachable are errors that name the repository', async () => {
    const gated = through((url) => (url.includes('/api/') ? new Response('', { status: 401 }) : null));
    await expect(resolveHubRevision('test/qwen2-hub', { baseUrl: s.url, fetch: gated })).rejects.toThrow(/^test\/qwen2-hub is a gated or private repository \(HTTP 401 looking up main\)/);
    await expect(resolveHubRevision('test/nothing', { baseUrl: s.url })).rejects.toThrow(`test/nothing has no revision main with a config.json at ${s.url} (HTTP 404)`);
    const junk = through((url) => (url.includes('/api/') ? new Response('{"sha": 12}', { status: 200 }) : null));
    await expect(resolveHubRevision('test/qwen2-hub', { baseUrl: s.url, fetch: junk })).rejects.toThrow(/gave no commit sha \(got 12\)/);
    const offline = (async () => {
      throw new TypeError('Failed to fetch');
    }) as typeof fetch;
    await expect(resolveHubRevision('test/qwen2-hub', { baseUrl: s.url, fetch: offline })).rejects.toThrow(/^could not reach .* to look up test\/qwen2-hub@main: Failed to fetch \(offline/);
  });
});
