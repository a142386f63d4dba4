// `npm run demo` as a newcomer runs it: the command starts the Hub stand-in and the lab's dev server, prints one
// address, and at that address the lab loads the test model, reads data, trains a few steps and shows every
// panel — with no request leaving this machine. Screenshots of each panel go to e2e/artifacts/demo-*.png.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARTIFACTS_DIR } from './harness/app';
import { launchChromium, type HarnessBrowser } from './harness/chromium';
import { fill, skipBrowserTests } from './harness/page';

const ROOT = path.resolve(__dirname, '..');
const PANELS = ['model', 'data', 'train', 'efficiency', 'stability', 'pretrain', 'trajectory', 'chat', 'library', 'guide'];

/** Starts `npm run demo` in its own process group and resolves with the address it prints. */
function startDemo(): Promise<{ proc: ChildProcess; url: string; output: () => string }> {
  const proc = spawn('npm', ['run', '--silent', 'demo', '--', '--port', '0'], { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm run demo printed no address in 60 s:\n${out}`)), 60_000);
    const onData = (b: Buffer) => {
      out += b.toString();
      const m = /open the lab at: (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ proc, url: m[1]!, output: () => out });
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.on('exit', (code) => reject(new Error(`npm run demo exited with ${code}:\n${out}`)));
  });
}

describe.skipIf(skipBrowserTests)('npm run demo', () => {
  let demo: Awaited<ReturnType<typeof startDemo>>;
  let browser: HarnessBrowser;
  let page: Page;
  const offMachine: string[] = [];

  beforeAll(async () => {
    demo = await startDemo();
    browser = await launchChromium();
    page = await browser.newPage();
    await page.setViewportSize({ width: 1400, height: 950 });
    page.on('request', (r) => {
      const u = new URL(r.url());
      if (!['127.0.0.1', 'localhost'].includes(u.hostname) && !['data:', 'blob:'].includes(u.protocol)) offMachine.push(r.url());
    });
    mkdirSync(ARTIFACTS_DIR, { recursive: true });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    // the whole group: npm, tsx and the node process holding both servers
    if (demo?.proc.pid) process.kill(-demo.proc.pid, 'SIGTERM');
  });

  it('prints one address that points the lab at the local Hub stand-in', () => {
    const u = new URL(demo.url);
    expect(u.hostname).toBe('127.0.0.1');
    const hub = u.searchParams.get('hub')!;
    expect(hub).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(u.searchParams.get('datasets')).toBe(`${hub}/datasets/steerlab/em`);
    expect(u.searchParams.get('fineweb')).toBe(`hub:${hub}`);
    expect(u.searchParams.get('model')).toBe('test/qwen2-hub');
    expect(demo.output()).toContain('nothing goes to the network');
  });

  it('serves the lab there: the model loads, data reads, a vector trains, and every panel opens without an error', async () => {
    await page.goto(demo.url);
    await page.waitForSelector('[data-testid=device-banner][data-backend]', { timeout: 120_000 });
    expect(await page.inputValue('[data-testid=model-id]')).toBe('test/qwen2-hub');
    await page.click('[data-testid=load-model]');
    await page.waitForSelector('[data-testid=model-info]', { timeout: 120_000 });
    expect(await page.textContent('[data-testid=model-layers]')).toBe('4');

    await page.click('[data-panel=data]');
    await fill(page, 'data-limit', '8');
    await fill(page, 'data-maxlen', '64');
    // the general run measures its KL on the KL data at every checkpoint: 500 rows a source by default, minutes on
    // SwiftShader per checkpoint, which this test (about the panels) has no use for
    await fill(page, 'kl-limit', '2');
    await page.click('[data-testid=load-train-data]');
    await page.waitForSelector('[data-testid=data-summary-train]', { timeout: 120_000 });

    await page.click('[data-panel=train]');
    await page.selectOption('[data-testid=train-budget]', 'steps');
    await fill(page, 'train-steps', '2');
    await fill(page, 'train-microbatch', '1');
    await fill(page, 'train-accumulation', '1');
    await fill(page, 'train-warmup', '0');
    await fill(page, 'train-checkpoint', '1');
    await page.click('[data-testid=train-general]');
    await page.waitForFunction(() => document.querySelector('[data-testid=run-status-general]')?.textContent === 'done', null, { timeout: 600_000 });

    for (const id of PANELS) {
      await page.click(`[data-panel=${id}]`);
      await page.waitForSelector(`[data-testid=panel-${id}]`);
      await page.screenshot({ path: path.join(ARTIFACTS_DIR, `demo-${id}.png`), fullPage: true });
    }
    const errors = await page.$$eval('[data-testid=notice-error]', (els) => els.map((e) => e.textContent));
    expect(errors).toEqual([]);
    expect(offMachine).toEqual([]);
  }, 780_000);
});
