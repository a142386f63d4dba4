// The in-graph inverse-CDF sampler on WebGPU in headless Chromium (the wasm check is test/lab/gpu_sampler.test.ts):
// the same cases, the same float64 reading — WebGPU's CumSum, Pad and Less kernels, not wasm's, decide the token.

import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_PATH, launchChromium, type HarnessBrowser } from '../e2e/harness/chromium';
import { startStaticServer, type StaticServer } from '../e2e/harness/static-server';
import { buildPage } from '../e2e/build-page';
import { checkSamples, samplerCases, type SamplerCase } from './lab/sampler_cases';

const inCI = !!process.env.CI && process.env.CI !== 'false' && process.env.CI !== '0';
const skip = !existsSync(CHROMIUM_PATH) && !inCI;

describe.skipIf(skip)('in-graph sampler on WebGPU in Chromium', () => {
  let browser: HarnessBrowser;
  let site: StaticServer;
  beforeAll(async () => {
    await buildPage('sampler');
    site = await startStaticServer({ root: path.resolve(__dirname, '..') });
    browser = await launchChromium();
  }, 300_000);
  afterAll(async () => {
    await browser?.close();
    await site?.close();
  });

  it('every draw lands in its token’s float64 CDF interval, never on zero mass', async () => {
    const cases = samplerCases();
    const page = await browser.newPage();
    page.on('console', (m) => m.type() === 'error' && console.log(`[page] ${m.text()}`));
    await page.goto(`${site.url}/e2e/.build/sampler/sampler.html`);
    await page.waitForFunction(() => typeof window.steerlabSampler === 'function');
    const r = await page.evaluate(([dist, cs]) => window.steerlabSampler(dist as string, cs as SamplerCase[]), [`${site.url}/node_modules/onnxruntime-web/dist/`, cases] as const);
    expect(r.backend).toBe('webgpu');
    cases.forEach((c, i) => {
      const res = checkSamples(c, r.sampled[i]!);
      console.log(`${c.name}: ${res.exact}/${res.total} inside their interval, worst miss ${res.worstMiss.toExponential(2)}`);
      expect(res.zeroMass, c.name).toBe(0);
      expect(res.worstMiss, c.name).toBeLessThan(2e-6);
      expect(res.exact, c.name).toBeGreaterThanOrEqual(0.9 * res.total);
    });
    await page.close();
  }, 600_000);
});
