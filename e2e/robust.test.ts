// The lab under bad input, in headless Chromium against the built app and the local Hub stand-in: a share link
// claiming d = 5e8 on page load is refused in one sentence and the tab keeps working; the model's revision is
// pinned to a commit and shown; a failed model load keeps the model that was loaded; a link pasted into the open
// tab is imported without a reload. Screenshots go to e2e/artifacts/robust-*.png.

import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeShareFragment } from '../src/lab/vectors/share';
import { ARTIFACTS_DIR, buildApp, serveApp, type AppServers } from './harness/app';
import { launchChromium, type HarnessBrowser } from './harness/chromium';
import { skipBrowserTests, state } from './harness/page';

const REPO = 'test/qwen2-hub';
/** the commit the fixture server names for every repository */
const COMMIT = '0123456789abcdef0123456789abcdef01234567';

describe.skipIf(skipBrowserTests)('the lab under bad input', () => {
  let servers: AppServers;
  let browser: HarnessBrowser;
  let page: Page;

  beforeAll(async () => {
    await buildApp();
    servers = await serveApp();
    browser = await launchChromium();
    page = await browser.newPage();
    await page.setViewportSize({ width: 1400, height: 950 });
    mkdirSync(ARTIFACTS_DIR, { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
    await servers?.close();
  });

  it('a share link claiming d = 5e8 is refused on page load, and the tab keeps working', async () => {
    await page.goto(`${servers.appUrl({ model: REPO })}#v=1&model=test%2Fqwen2-hub&layer=1&alpha=1&name=huge&d=500000000&f16=AAAA`);
    await page.waitForSelector('[data-testid=notice-error]', { timeout: 60_000 });
    expect(await page.textContent('[data-testid=notice-error]')).toContain("d=500000000 is larger than any model's residual stream");
    expect(await state<number>(page, 's.vectors.length')).toBe(0);
    expect(new URL(page.url()).hash).toBe('');
    await page.waitForSelector('[data-testid=device-banner][data-backend]', { timeout: 60_000 });
    await page.screenshot({ path: path.join(ARTIFACTS_DIR, 'robust-huge-share-link.png') });
    await page.click('[aria-label=dismiss]');
  });

  it('loads the model at a pinned commit and shows it', async () => {
    await page.click('[data-panel=model]');
    await page.click('[data-testid=load-model]');
    await page.waitForSelector('[data-testid=model-info]', { timeout: 120_000 });
    expect(await page.textContent('[data-testid=model-revision]')).toBe(COMMIT.slice(0, 10));
    expect(await state<string>(page, 's.model.info.revision')).toBe(COMMIT);
    const paths = servers.hub.requests.map((r) => r.path);
    expect(paths).toContain(`/api/models/${REPO}/revision/main`);
    expect(paths).toContain(`/${REPO}/resolve/${COMMIT}/model.safetensors`);
    // every file request after the first revision lookup (the Model panel's file list and config.json, the
    // preflight, the weights, the tokenizer files, generation_config.json) is at the commit, and so is the listing
    const pinnedAt = paths.indexOf(`/api/models/${REPO}/revision/main`);
    const after = paths.slice(pinnedAt + 1);
    expect(after.filter((p) => p.startsWith(`/${REPO}/resolve/`) && !p.startsWith(`/${REPO}/resolve/${COMMIT}/`))).toEqual([]);
    expect(after.filter((p) => p.startsWith(`/api/models/${REPO}/tree/`) && !p.startsWith(`/api/models/${REPO}/tree/${COMMIT}`))).toEqual([]);
    // and nothing of this repository was read before its revision was looked up
    expect(paths.slice(0, pinnedAt).filter((p) => p.startsWith(`/${REPO}/`) || p.startsWith(`/api/models/${REPO}/tree/`))).toEqual([]);
    expect(after).toContain(`/${REPO}/resolve/${COMMIT}/tokenizer.json`);
    // the cache card says whether the browser granted persistent storage (asked for at startup)
    await page.waitForSelector('[data-testid=storage-persistence]:not([data-persisted=unknown])', { timeout: 30_000 });
    const persisted = await state<boolean>(page, 's.storagePersisted');
    expect(await page.getAttribute('[data-testid=storage-persistence]', 'data-persisted')).toBe(persisted ? 'yes' : 'no');
    expect(await page.textContent('[data-testid=storage-persistence]')).toMatch(persisted ? /^Persistent storage: granted\./ : /^Persistent storage: not granted\./);
    await page.screenshot({ path: path.join(ARTIFACTS_DIR, 'robust-model-pinned-storage.png'), fullPage: true });
  });

  it('a model that fails to load leaves the loaded one in place, and says so', async () => {
    await page.fill('[data-testid=model-id]', 'test/no-such-model');
    await page.click('[data-testid=load-model]');
    await page.waitForSelector('[data-testid=model-error]', { timeout: 60_000 });
    const msg = await page.textContent('[data-testid=model-error]');
    expect(msg).toContain('test/no-such-model has no revision main');
    expect(msg).toContain(`${REPO} is still loaded.`);
    expect(await state<string>(page, 's.model.status')).toBe('ready');
    expect(await state<string>(page, 's.model.info.repo')).toBe(REPO);
    expect(await page.textContent('[data-testid=model-info]')).toContain(REPO);
    await page.screenshot({ path: path.join(ARTIFACTS_DIR, 'robust-failed-load-keeps-model.png'), fullPage: true });
    // and the kept model still works: the data loads on it
    await page.click('[data-panel=data]');
    await page.fill('[data-testid=data-limit]', '6');
    await page.fill('[data-testid=data-maxlen]', '64');
    await page.click('[data-testid=load-train-data]');
    await page.waitForSelector('[data-testid=data-summary-train]', { timeout: 120_000 });
  });

  it('a share link pasted into the open tab is imported without a reload', async () => {
    const frag = encodeShareFragment({
      name: 'pasted',
      modelId: REPO,
      layer: 2,
      alpha: 4,
      data: Float32Array.from({ length: 32 }, (_, i) => Math.sin(i) / 10),
      createdAt: '2026-01-01T00:00:00.000Z',
      provenance: {},
    });
    await page.evaluate((f) => (location.hash = f), frag);
    await page.waitForSelector('[data-testid=panel-library] [data-vector-name=pasted]', { timeout: 30_000 });
    expect(await state<string[]>(page, 's.vectors.map((v) => v.name)')).toEqual(['pasted']);
    expect(new URL(page.url()).hash).toBe('');
  });
});
