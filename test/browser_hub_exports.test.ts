// The export check in headless Chromium on WebGPU (SwiftShader here, a real GPU on a user's machine): fixture
// repositories of each exporter layout, served by a local server playing the Hub, are read by the loader and our
// logits compared with onnxruntime-web running the same file on the same WebGPU device; q8 is refused.

import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_PATH, launchChromium, type HarnessBrowser } from '../e2e/harness/chromium';
import { startStaticServer, type StaticServer } from '../e2e/harness/static-server';
import { buildPage } from '../e2e/build-page';
import { startFixtureServer } from '../scripts/fixture-server';
import { toleranceFor, type OnnxVerdict } from '../src/models/onnx_check';

const inCI = !!process.env.CI && process.env.CI !== 'false' && process.env.CI !== '0';
const skip = !existsSync(CHROMIUM_PATH) && !inCI;
const FIX = path.resolve(__dirname, 'fixtures/hub_exports');

const CASES: [string, string, 'ok' | 'refused'][] = [
  ['tjs-qwen2', 'onnx/model_q4f16.onnx', 'ok'],
  ['tjs-gemma3', 'onnx/model_q4.onnx', 'ok'],
  ['chunks-qwen2', 'onnx/model.onnx', 'ok'],
  ['genai-qwen2', 'model.onnx', 'ok'],
  ['gemma-build-gemma3', 'onnx/model_q4f16.onnx', 'ok'],
  ['tjs-llama', 'onnx/model_quantized.onnx', 'refused'],
];

describe.skipIf(skip)('export check in Chromium on WebGPU', () => {
  let browser: HarnessBrowser;
  let site: StaticServer;
  let hub: Awaited<ReturnType<typeof startFixtureServer>>;
  beforeAll(async () => {
    await buildPage('hub_exports');
    site = await startStaticServer({ root: path.resolve(__dirname, '..') });
    hub = await startFixtureServer({ repos: Object.fromEntries(CASES.map(([fx]) => [`exports/${fx}`, path.join(FIX, fx)])) });
    browser = await launchChromium();
  }, 300_000);
  afterAll(async () => {
    await browser?.close();
    await site?.close();
    await hub?.close();
  });

  for (const [fx, file, want] of CASES) {
    // the Gemma build fixture needed a second GPU-box run (fixtures README); skipped by name until it is committed
    it.skipIf(!existsSync(path.join(FIX, fx, file)))(`${fx}/${file} is ${want === 'ok' ? 'read, logits matching onnxruntime-web' : 'refused with a reason'} on webgpu`, async () => {
      const page = await browser.newPage();
      page.on('console', (m) => m.type() === 'error' && console.log(`[page] ${m.text()}`));
      await page.goto(`${site.url}/e2e/.build/hub_exports/hub_exports.html`);
      await page.waitForFunction(() => typeof window.steerlabCheckOnnx === 'function');
      const r = (await page.evaluate(
        ([h, repo, f, dist]) => window.steerlabCheckOnnx(h!, repo!, f!, dist!),
        [hub.url, `exports/${fx}`, file, `${site.url}/node_modules/onnxruntime-web/dist/`],
      )) as { backend: string; status: string; verdict: OnnxVerdict; logitScale: number };
      console.log(`${fx}/${file} on ${r.backend}: ${JSON.stringify(r.verdict)}`);
      expect(r.backend).toBe('webgpu');
      expect(r.status, r.verdict.reason ?? '').toBe(want);
      if (want === 'ok') expect(r.verdict.logits_max_abs_diff_vs_ort!).toBeLessThanOrEqual(toleranceFor(r.verdict.dtype, 'webgpu', r.logitScale));
      else expect(r.verdict.reason).toBe('q8 MatMulInteger weights are not supported: choose q4 or q4f16');
      await page.close();
    }, 600_000);
  }
});
