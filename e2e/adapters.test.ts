// LoRA adapters in the app, in headless Chromium (WebGPU on SwiftShader) against the fixture Hub: choose the
// "rank 1, down_proj at the steering layer" preset, train a general adapter for a few steps, and run the
// efficiency, stability and FineWeb-KL sweeps and the PCA on it — the same panels that take vectors.

import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, serveApp, type AppServers } from './harness/app';
import { launchChromium, type HarnessBrowser } from './harness/chromium';
import { fill, openPanel, skipBrowserTests, runJob, state } from './harness/page';

const REPO = 'test/qwen2-hub';

describe.skipIf(skipBrowserTests)('LoRA adapters in Chromium', () => {
  let servers: AppServers;
  let browser: HarnessBrowser;
  let page: Page;

  beforeAll(async () => {
    await buildApp();
    servers = await serveApp();
    browser = await launchChromium();
    page = await browser.newPage();
    await page.setViewportSize({ width: 1400, height: 950 });
  });

  afterAll(async () => {
    if (browser && process.env.E2E_LOGS) console.log(browser.logs.join('\n'));
    await browser?.close();
    await servers?.close();
  });

  it('trains a rank-1 adapter and sweeps it in the vector panels', async () => {
    await page.goto(servers.appUrl({ model: REPO }));
    await page.waitForSelector('[data-testid=device-banner][data-backend]', { timeout: 60_000 });
    await page.click('[data-testid=load-model]');
    await page.waitForSelector('[data-testid=model-info]', { timeout: 120_000 });
    await openPanel(page, 'data');
    await fill(page, 'data-limit', '10');
    await fill(page, 'data-maxlen', '48');
    await page.click('[data-testid=load-train-data]');
    await page.waitForSelector('[data-testid=data-summary-train]', { timeout: 120_000 });

    await openPanel(page, 'train');
    await page.selectOption('[data-testid=train-kind]', 'r1-down-steer');
    await page.selectOption('[data-testid=train-budget]', 'steps');
    await fill(page, 'train-steps', '3');
    await fill(page, 'train-microbatch', '1');
    await fill(page, 'train-accumulation', '1');
    await fill(page, 'train-warmup', '1');
    await fill(page, 'train-checkpoint', '1');
    await fill(page, 'train-lr', '0.01');
    await page.click('[data-testid=train-general]');
    await page.waitForFunction(() => document.querySelector('[data-testid=run-status-general]')?.textContent === 'done', null, { timeout: 600_000 });
    const run = await state<{ adapter: { rank: number; keys: string[] }; n: number; history: { norm: number }[]; vectors: number; bMax: number; finalNorm: number }>(page, '({ adapter: s.runs.general.settings.adapter, n: s.runs.general.state.v.length, finalNorm: Math.hypot(...s.runs.general.state.v), history: s.runs.general.history, vectors: s.vectors.length, bMax: Math.max(...Array.from(s.runs.general.state.v.slice(64), Math.abs)) })');
    // rank 1 on down_proj of the default steering layer: in = intermediate 64, out = d 32
    expect(run.adapter.rank).toBe(1);
    expect(run.adapter.keys).toHaveLength(1);
    expect(run.n).toBe(64 + 32);
    // PEFT init: A ~ U(±1/√64), so ‖θ‖ starts near √(64 · (1/64) / 3); B starts at 0 and has learned
    expect(run.history[0]!.norm).toBeGreaterThan(0.4);
    expect(run.history[0]!.norm).toBeLessThan(0.75);
    expect(run.bMax).toBeGreaterThan(0);
    expect(run.vectors).toBe(0);
    expect(await page.textContent('[data-testid=run-adapter-general]')).toMatch(/rank 1 · down · layer \d/);
    expect(await page.isVisible('[data-testid=export-adapter-general]')).toBe(true);

    await openPanel(page, 'efficiency');
    await fill(page, 'efficiency-rows', '1');
    await runJob(page, '[data-testid=run-efficiency]', 'efficiency');
    const eff = await state<{ byScale: { scale: number; loss: number; deltaW: number }[] }>(page, 's.efficiency.curves.general');
    expect(eff.byScale).toHaveLength(9);
    expect(eff.byScale[0]!.deltaW).toBe(0);
    expect(eff.byScale[8]!.deltaW / eff.byScale[4]!.deltaW).toBeCloseTo(4, 4);

    await openPanel(page, 'stability');
    await fill(page, 'stability-rows', '1');
    await fill(page, 'stability-seeds', '2');
    await runJob(page, '[data-testid=run-stability]', 'stability');
    expect((await state<{ points: unknown[] }>(page, 's.stability.curves.general')).points).toHaveLength(12);

    await openPanel(page, 'pretrain');
    await fill(page, 'fineweb-n', '2');
    await page.click('[data-testid=fetch-fineweb]');
    await page.waitForSelector('[data-testid=fineweb-count]', { timeout: 60_000 });
    await fill(page, 'fineweb-points', '3');
    await fill(page, 'fineweb-seeds', '1');
    await fill(page, 'fineweb-maxtokens', '16');
    await runJob(page, '[data-testid=run-fineweb-kl]', 'pretrain');
    const curves = await state<Record<string, { kl: number }[]>>(page, 's.pretrain.curves');
    expect(Object.keys(curves).sort()).toEqual(['general', 'random_0_like_general']);
    expect(curves.general![0]!.kl).toBeCloseTo(0, 6);

    await openPanel(page, 'trajectory');
    await runJob(page, '[data-testid=run-pca]', 'pca');
    expect((await state<{ projections: { coords: unknown[] }[] }>(page, 's.pca')).projections[0]!.coords).toHaveLength(3);

    // the finished run is in the adapter library with its shape and ‖θ‖; its rank-1 share link opens back
    await openPanel(page, 'library');
    await page.waitForSelector('[data-testid=adapter-row]');
    expect(await page.textContent('[data-testid=adapter-rank]')).toBe('1');
    // the library keeps the run's final θ (after step 3's update); history[k].norm is measured with step k's loss,
    // before its update
    expect(Number(await page.textContent('[data-testid=adapter-norm]'))).toBeCloseTo(run.finalNorm, 3);
    await page.click('[data-testid=share-adapter]');
    const url = await page.inputValue('[data-testid=adapter-share-url]');
    expect(url).toMatch(/#a=1&model=test%2Fqwen2-hub&r=1&/);
    await page.fill('[data-testid=import-adapter-link]', url);
    await page.click('[data-testid=adapter-library] button:has-text("Open")');
    await page.waitForSelector('[data-testid=adapter-import-ok]');
    expect(await page.locator('[data-testid=adapter-row]').count()).toBe(2);
    // PEFT files of another model are refused with the shape, and nothing is added
    await page.setInputFiles('[data-testid=import-peft]', [
      path.resolve(__dirname, '../test/fixtures/lora/qwen2/r1down/adapter/adapter_model.safetensors'),
      path.resolve(__dirname, '../test/fixtures/lora/qwen2/r1down/adapter/adapter_config.json'),
    ]);
    await page.waitForSelector('[data-testid=adapter-import-error]');
    expect(await page.textContent('[data-testid=adapter-import-error]')).toMatch(/this model needs \[1,64\] \(r = 1\) — nothing was added/);
    expect(await page.locator('[data-testid=adapter-row]').count()).toBe(2);
  }, 600_000);
});
