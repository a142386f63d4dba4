// The reference check in headless Chromium on WebGPU (SwiftShader here, a real GPU on a user's machine):
// the same graphs, loaded from a local server playing the folders, must equal PyTorch within the float32
// tolerances (verify_pytorch_reference.ts TOLERANCE: a small margin over what was measured here).

import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_PATH, launchChromium, type HarnessBrowser } from '../e2e/harness/chromium';
import { startStaticServer, type StaticServer } from '../e2e/harness/static-server';
import { buildPage } from '../e2e/build-page';
import { startFixtureServer } from '../scripts/fixture-server';
import { TOLERANCE } from '../src/models/verify_pytorch_reference';

const inCI = !!process.env.CI && process.env.CI !== 'false' && process.env.CI !== '0';
const skip = !existsSync(CHROMIUM_PATH) && !inCI;

describe.skipIf(skip)('reference check in Chromium on WebGPU', () => {
  let browser: HarnessBrowser;
  let site: StaticServer;
  let hub: Awaited<ReturnType<typeof startFixtureServer>>;
  beforeAll(async () => {
    await buildPage('reference');
    site = await startStaticServer({ root: path.resolve(__dirname, '..') });
    hub = await startFixtureServer({});
    browser = await launchChromium();
  }, 300_000);
  afterAll(async () => {
    await browser?.close();
    await site?.close();
    await hub?.close();
  });

  for (const name of (process.env.REF_FOLDERS ?? 'qwen2,gemma2,qwen2-hub').split(',')) {
    it(`${name} matches PyTorch on webgpu`, async () => {
      const page = await browser.newPage();
      page.on('console', (m) => m.type() === 'error' && console.log(`[page] ${m.text()}`));
      await page.goto(`${site.url}/e2e/.build/reference/reference.html`);
      await page.waitForFunction(() => typeof window.steerlabReference === 'function');
      const r = (await page.evaluate(
        ([folder, dist, lvl]) => window.steerlabReference(folder!, dist!, (lvl || undefined) as 'basic'),
        [`${hub.url}/test/${name}/resolve/main/`, `${site.url}/node_modules/onnxruntime-web/dist/`, process.env.OPT_LEVEL ?? ''],
      )) as Record<string, unknown> & { failures: string[] };
      console.log(`${name} on ${r.backend} (${r.adapter}): ${JSON.stringify({ ...r, failures: undefined, adapter: undefined })}`);
      expect(r.backend).toBe('webgpu');
      expect(r.failures).toEqual([]);
      expect(r.grad_cos_min as number).toBeGreaterThanOrEqual(TOLERANCE.float32.gradCos);
      // the trainer's step, graph-captured (padded batch, weighted label rows), equals PyTorch as well
      expect(r.step_route).toBe('captured');
      expect(r.step_grad_cos as number).toBeGreaterThanOrEqual(TOLERANCE.float32.gradCos);
      if (name.endsWith('-hub')) expect(r.tokenization_exact).toBe(true);
      else expect(r.q4_logits_abs_err as number).toBeLessThanOrEqual(TOLERANCE.float32.q4Abs);
      await page.close();
    }, 600_000);
  }

  it('falls back to wasm, with the reason, in a browser without WebGPU', async () => {
    const page = await browser.newPage();
    // a browser without WebGPU: hide navigator.gpu before any page script runs
    await page.addInitScript(() => Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined }));
    await page.goto(`${site.url}/e2e/.build/reference/reference.html`);
    await page.waitForFunction(() => typeof window.steerlabReference === 'function');
    const r = (await page.evaluate(
      ([folder, dist]) => window.steerlabReference(folder!, dist!),
      [`${hub.url}/test/qwen2/resolve/main/`, `${site.url}/node_modules/onnxruntime-web/dist/`],
    )) as Record<string, unknown> & { failures: string[] };
    expect(r.backend).toBe('wasm');
    expect(r.reason).toMatch(/no WebGPU/);
    expect(r.failures).toEqual([]);
    await page.close();
  }, 600_000);
});
