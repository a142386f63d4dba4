// The real loadModel job against the local Hub stand-in: the revision is pinned to a commit and recorded, and a
// load that fails (no weights in the repository, a cancelled download) leaves the previous model loaded.

import { copyFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFixtureServer, type FixtureServer } from '../../scripts/fixture-server';
import { createBackend } from '../../src/engine/runtime/backend';
import type { JobContext } from '../../src/worker/jobs/context';
import { loadModelJob } from '../../src/worker/jobs/model';
import { WorkerSession } from '../../src/worker/session';

const REF = path.resolve(__dirname, '../../../shared/reference');
const COMMIT = 'feed000000000000000000000000000000000001';
let hub: FixtureServer;
let session: WorkerSession;

beforeAll(async () => {
  // a repository with a config but no weights: its download fails after the config was read
  const noWeights = mkdtempSync(path.join(os.tmpdir(), 'steerlab-noweights-'));
  copyFileSync(path.join(REF, 'qwen2-hub/config.json'), path.join(noWeights, 'config.json'));
  hub = await startFixtureServer({ commit: COMMIT, repos: { 'test/no-weights': noWeights } });
  session = new WorkerSession();
  session.setBackend(await createBackend({ prefer: 'wasm' }));
});
afterAll(() => hub?.close());

function ctx(signal = new AbortController().signal): JobContext<'loadModel'> {
  return { session, signal, progress: () => {}, phase: () => {} };
}

describe('the loadModel job', () => {
  it('pins main to the commit and records it', async () => {
    const info = await loadModelJob({ repo: 'test/qwen2-hub', hubUrl: hub.url }, ctx());
    expect(info).toMatchObject({ repo: 'test/qwen2-hub', revision: COMMIT, pinned: true, layers: 4 });
    expect(hub.requests.some((r) => r.path === `/test/qwen2-hub/resolve/${COMMIT}/model.safetensors`)).toBe(true);
    expect(session.info?.repo).toBe('test/qwen2-hub');
  });

  it('a failed download keeps the previous model, its tokenizer and its data', async () => {
    const before = session.model;
    session.data.train = { train: [{ line: 1 } as never], heldOut: [] };
    await expect(loadModelJob({ repo: 'test/no-weights', hubUrl: hub.url }, ctx())).rejects.toThrow(/^test\/no-weights has no weights/);
    expect(session.model).toBe(before);
    expect(session.info?.repo).toBe('test/qwen2-hub');
    expect(session.tokenizer).not.toBeNull();
    expect(session.data.train?.train).toHaveLength(1);
    await expect(loadModelJob({ repo: 'test/not-there', hubUrl: hub.url }, ctx())).rejects.toThrow(/test\/not-there has no revision main/);
    expect(session.model).toBe(before);
  });

  it('a cancelled download keeps the previous model', async () => {
    const before = session.model;
    const ac = new AbortController();
    const p = loadModelJob({ repo: 'test/gemma3-hub', hubUrl: hub.url }, { ...ctx(ac.signal), progress: () => ac.abort() });
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
    expect(session.model).toBe(before);
  });
});
