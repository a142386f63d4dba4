// The lab end to end in headless Debian Chromium (WebGPU on SwiftShader here): the built app, the fixture server
// playing the Hub (test/qwen2-hub: a tiny random Qwen2 with the real 151,936-token vocabulary and tokenizer) and
// the dataset host. A student's first session: load the model (a progress bar with bytes), read the data,
// train a general vector for a few steps, watch the charts fill, export it as GGUF, share it as a link and open
// the link in a fresh browser profile. A screenshot of every panel goes to e2e/artifacts/.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gguf } from '@huggingface/gguf';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARTIFACTS_DIR, buildApp, serveApp, type AppServers } from './harness/app';
import { launchChromium, type HarnessBrowser } from './harness/chromium';
import { fill, openPanel, plottedPoints, skipBrowserTests, runJob, state } from './harness/page';


const PANELS = ['model', 'data', 'train', 'efficiency', 'stability', 'pretrain', 'trajectory', 'chat', 'library', 'guide'];
const REPO = 'test/qwen2-hub';
const ROWS = 12;

/** x of the chart's slider marker (the dotted vertical line). */
async function markerX(page: Page, title: string): Promise<number> {
  return page.$eval(`[data-testid=chart][data-title="${title}"] .js-plotly-plot`, (el) => (el as unknown as { layout: { shapes: { x0: number }[] } }).layout.shapes[0]!.x0);
}

describe.skipIf(skipBrowserTests)('the lab in Chromium', () => {
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
    if (browser && process.env.E2E_LOGS) console.log(browser.logs.join('\n'));
    await browser?.close();
    await servers?.close();
  });

  it('starts on WebGPU and loads a Hub model with a byte progress bar', async () => {
    await page.goto(servers.appUrl({ model: REPO }));
    const banner = await page.waitForSelector('[data-testid=device-banner][data-backend]', { timeout: 60_000 });
    expect(await banner.getAttribute('data-backend')).toBe('webgpu');
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    expect(await page.inputValue('[data-testid=model-id]')).toBe(REPO);

    // record every text the download bar shows (the fixture is small, so the bar is up for about a second)
    await page.evaluate(() => {
      const seen: string[] = ((window as unknown as { __progress: string[] }).__progress = []);
      new MutationObserver(() => {
        const t = document.querySelector('[data-testid=download-bytes]')?.textContent;
        if (t && seen.at(-1) !== t) seen.push(t);
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    await page.click('[data-testid=load-model]');
    await page.waitForSelector('[data-testid=model-info]', { timeout: 120_000 });
    const progress = await page.evaluate(() => (window as unknown as { __progress: string[] }).__progress);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.some((t) => /[1-9][\d.]* (kB|MB) of .*\/s/.test(t))).toBe(true);
    expect(await page.textContent('[data-testid=model-layers]')).toBe('4');
    const config = JSON.parse(readFileSync(path.resolve(__dirname, '../../shared/reference/qwen2-hub/config.json'), 'utf8'));
    expect(Number(await page.textContent('[data-testid=model-dmodel]'))).toBe(config.hidden_size);
    // the model's files went through the hub stand-in, and nothing went anywhere else
    expect(servers.hub.requests.some((r) => r.path.endsWith('/model.safetensors') && r.method === 'GET')).toBe(true);
  });

  it('reads the bad-medical-advice preset with counts and a preview', async () => {
    await openPanel(page, 'data');
    await fill(page, 'data-limit', String(ROWS));
    await fill(page, 'data-maxlen', '64');
    // every run is measured on the KL data (SwiftShader's full-vocabulary softmax is slow): 4 KL rows
    await fill(page, 'kl-limit', '2');
    await page.click('[data-testid=load-train-data]');
    await page.waitForSelector('[data-testid=data-summary-train]', { timeout: 120_000 });
    // every row is accounted for: trained on, held out (10 %, rounded up, before tokenising) or dropped with its line number
    const summary = await state<{ train: number; heldOut: number; sources: { goodRows: number; skippedNoLabels: number[] }[] }>(page, 's.data.train.summary');
    const dropped = summary.sources[0]!.skippedNoLabels;
    expect(summary.sources[0]!.goodRows).toBe(ROWS);
    expect(summary.train + summary.heldOut + dropped.length).toBe(ROWS);
    expect(summary.train).toBeGreaterThanOrEqual(ROWS - Math.ceil(ROWS * 0.1) - dropped.length);
    expect(Number(await page.textContent('[data-testid=data-train-count-train]'))).toBe(summary.train);
    for (const line of dropped) expect(await page.textContent('[data-testid=data-summary-train]')).toContain(String(line));
    expect(await page.locator('.preview tbody tr').count()).toBe(5);
    expect(await plottedPoints(page, 'Tokens per training row')).toBeGreaterThan(0);
  });

  it('trains a general vector for a few steps and draws its curves', async () => {
    await openPanel(page, 'train');
    await page.selectOption('[data-testid=train-budget]', 'steps');
    await fill(page, 'train-steps', '3');
    await fill(page, 'train-microbatch', '1');
    await fill(page, 'train-accumulation', '1');
    await fill(page, 'train-warmup', '1');
    await fill(page, 'train-checkpoint', '1');
    await fill(page, 'train-lr', '0.01');
    await page.click('[data-testid=train-general]');
    await page.waitForSelector('[data-testid=job-train\\:general]', { timeout: 60_000 });
    await page.waitForFunction(() => document.querySelector('[data-testid=run-status-general]')?.textContent === 'done', null, { timeout: 240_000 });
    const history = await state<{ step: number; loss: number; norm: number }[]>(page, 's.runs.general.history');
    expect(history.map((h) => h.step)).toEqual([1, 2, 3]);
    for (const h of history) expect(Number.isFinite(h.loss) && h.loss > 0).toBe(true);
    // v starts at zero (step 1 is measured there) and AdamW moves every step: the norm grows
    expect(history[0]!.norm).toBe(0);
    expect(history[2]!.norm).toBeGreaterThan(history[0]!.norm);
    expect(await plottedPoints(page, 'Loss — General')).toBe(3);
    expect(await plottedPoints(page, 'Norm — General')).toBe(3);
    // and the finished vector (after the last update) is in the library with its norm
    const vectors = await state<{ name: string; norm: number }[]>(page, 's.vectors.map((v) => ({ name: v.name, norm: v.norm }))');
    expect(vectors).toHaveLength(1);
    const finalNorm = await state<number>(page, 's.runs.general.settings.alpha * Math.hypot(...s.runs.general.state.v)');
    expect(vectors[0]!.norm).toBeCloseTo(finalNorm, 3);
    expect(vectors[0]!.norm).toBeGreaterThan(history[2]!.norm);
  });

  it('sweeps efficiency, and the norm slider moves its marker and evaluates that point', async () => {
    await openPanel(page, 'efficiency');
    await fill(page, 'efficiency-rows', '1');
    await runJob(page, '[data-testid=run-efficiency]', 'efficiency');
    // the paper's nine scales 0, 0.25, …, 2
    expect(await plottedPoints(page, 'Loss vs norm')).toBe(9);
    expect(await plottedPoints(page, 'Loss per squared norm')).toBe(8);
    const before = await markerX(page, 'Loss vs norm');
    // the range input snaps to its step: read back where it landed, then look for the marker there
    const max = Number(await page.getAttribute('[data-testid=efficiency-slider]', 'max'));
    await page.locator('[data-testid=efficiency-slider]').fill(String(max * 0.8));
    const at = Number(await page.inputValue('[data-testid=efficiency-slider]'));
    expect(at).toBeCloseTo(max * 0.8, 1);
    await page.waitForFunction((x) => {
      const el = document.querySelector('[data-testid=chart][data-title="Loss vs norm"] .js-plotly-plot') as unknown as { layout?: { shapes?: { x0: number }[] } } | null;
      return el?.layout?.shapes?.[0]?.x0 === x;
    }, at);
    expect(before).not.toBe(at);
    expect(await page.textContent('[data-testid=efficiency-readout]')).toMatch(/interpolated/);
    await runJob(page, '[data-testid=probe-efficiency]', 'efficiency-probe');
    // the evaluated point joins the plot and the read-out is exact
    expect(await plottedPoints(page, 'Loss vs norm')).toBe(10);
    expect(await page.textContent('[data-testid=efficiency-readout]')).not.toMatch(/interpolated/);
  });

  it('sweeps stability with error bands, and the ε slider moves its marker', async () => {
    await openPanel(page, 'stability');
    await fill(page, 'stability-rows', '1');
    await fill(page, 'stability-seeds', '2');
    await runJob(page, '[data-testid=run-stability]', 'stability');
    const ref = await state<{ lossTrained: number; lossChat: number; points: unknown[] }>(page, 's.stability.curves.general');
    expect(ref.points).toHaveLength(12);
    if (ref.lossTrained >= ref.lossChat) {
      // a few steps at lr 0.01 on a random model need not lower the loss on the sampled row: then there is no
      // loss reduction to lose, and the panel says so instead of drawing percentages of nothing
      expect(await page.textContent('[data-testid=stability-value-general]')).toMatch(/no percentage: this vector does not lower the loss \(L\(x\) ≥ L\(chat\)\)/);
      expect(await page.getAttribute('[data-testid=chart][data-title="Relative loss increase vs ε"]', 'data-points')).toBe('0');
      return;
    }
    expect(await plottedPoints(page, 'Relative loss increase vs ε')).toBe(12);
    const sd = await page.$eval('[data-testid=chart][data-title="Relative loss increase vs ε"] .js-plotly-plot', (el) => (el as unknown as { data: { error_y: { array: number[] } }[] }).data[0]!.error_y.array);
    expect(sd.some((x) => x > 0)).toBe(true);
    await page.locator('[data-testid=stability-slider]').fill('0.55');
    expect(await markerX(page, 'Relative loss increase vs ε')).toBe(0.55);
    await runJob(page, '[data-testid=probe-stability]', 'stability-probe');
    expect(await plottedPoints(page, 'Relative loss increase vs ε')).toBe(13);
  });

  it('fetches FineWeb documents and draws KL curves for the vector and random directions', async () => {
    await openPanel(page, 'pretrain');
    await fill(page, 'fineweb-n', '3');
    await page.click('[data-testid=fetch-fineweb]');
    await page.waitForSelector('[data-testid=fineweb-count]', { timeout: 60_000 });
    expect(await page.textContent('[data-testid=fineweb-count]')).toBe('3');
    await fill(page, 'fineweb-points', '3');
    await fill(page, 'fineweb-seeds', '1');
    await fill(page, 'fineweb-maxtokens', '16');
    await runJob(page, '[data-testid=run-fineweb-kl]', 'pretrain');
    // general and one random direction, three norms each; KL is 0 at norm 0 and positive beyond
    const curves = await state<Record<string, { norm: number; kl: number }[]>>(page, 's.pretrain.curves');
    expect(Object.keys(curves).sort()).toEqual(['general', 'random_0']);
    for (const pts of Object.values(curves)) {
      expect(pts[0]!.kl).toBeCloseTo(0, 6);
      expect(pts[2]!.kl).toBeGreaterThan(0);
    }
    expect(await plottedPoints(page, 'FineWeb KL vs norm')).toBe(6);
  });

  it('projects the checkpoints on principal components', async () => {
    await openPanel(page, 'trajectory');
    await runJob(page, '[data-testid=run-pca]', 'pca');
    // three checkpoints of the general run, plus its start and end markers
    expect(await plottedPoints(page, 'Trajectories in PC space')).toBe(3 + 2);
    expect(await plottedPoints(page, 'Explained variance')).toBeGreaterThan(0);
  });

  it('streams steered and unsteered answers side by side', async () => {
    await openPanel(page, 'chat');
    await page.waitForFunction(() => (document.querySelector('[data-testid=chat-question]') as HTMLSelectElement | null)?.options.length === 8, null, { timeout: 30_000 });
    await fill(page, 'chat-max-tokens', '6');
    // one click answers twice: the unsteered answer, then the steered one
    await runJob(page, '[data-testid=chat-ask]', 'chat:unsteered', 'chat:steered');
    for (const side of ['unsteered', 'steered']) {
      const text = await page.textContent(`[data-testid=answer-${side}]`);
      expect(text!.length).toBeGreaterThan(0);
      expect(text).not.toMatch(/appears here/);
    }
    await page.screenshot({ path: path.join(ARTIFACTS_DIR, 'chat-answers.png'), fullPage: true });
  });

  it('exports the vector as a GGUF control vector that a GGUF parser reads back', async () => {
    await openPanel(page, 'library');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=export-gguf]')]);
    // a confirmation with the llama.cpp command line that applies it at its layer
    const command = await page.textContent('[data-testid=llama-command]');
    const layer = await state<number>(page, 's.vectors[0].layer');
    expect(command).toBe(`llama-cli -m model.gguf --control-vector-scaled ${download.suggestedFilename()} 1 --control-vector-layer-range ${layer} ${layer}`);
    await page.screenshot({ path: path.join(ARTIFACTS_DIR, 'library-export-confirmation.png'), fullPage: true });
    const file = path.join(tmpdir(), `steerlab-e2e-${Date.now()}.gguf`);
    await download.saveAs(file);
    const g = await gguf(file, { allowLocalFile: true });
    const md = g.metadata as unknown as Record<string, unknown>;
    const v = await state<{ layer: number; alpha: number; data: Record<string, number> }>(page, 's.vectors[0]');
    expect(md['general.architecture']).toBe('controlvector');
    expect(md['controlvector.model_hint']).toBe('qwen2');
    expect(g.tensorInfos.map((t) => t.name)).toEqual([`direction.${v.layer}`]);
    const bytes = readFileSync(file);
    const start = Number(g.tensorDataOffset + g.tensorInfos[0]!.offset);
    const dir = new Float32Array(bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + start + 4 * Object.keys(v.data).length));
    Object.values(v.data).forEach((x, i) => expect(dir[i]).toBeCloseTo(Math.fround(x * v.alpha), 5));
  });

  it('imports a GGUF control vector file and refuses a broken one without touching the library', async () => {
    await openPanel(page, 'library');
    const count = () => state<number>(page, 's.vectors.length');
    const n0 = await count();
    // a llama.cpp-style control vector made outside the app: no steerlab metadata, so α = 1 and the loaded model is its model
    const { writeGguf } = await import('../src/lab/vectors/gguf');
    const dir = Float32Array.from({ length: await state<number>(page, 's.model.info.dModel') }, (_, i) => Math.sin(i + 1));
    const bytes = writeGguf({ modelHint: 'qwen2', directions: new Map([[2, dir]]) });
    await page.setInputFiles('[data-testid=import-file]', { name: 'outside.gguf', mimeType: 'application/octet-stream', buffer: Buffer.from(bytes) });
    await page.waitForSelector('[data-testid=import-ok]');
    expect(await count()).toBe(n0 + 1);
    const v = await state<{ name: string; layer: number; alpha: number; modelId: string; norm: number }>(page, 's.vectors[0]');
    expect([v.name, v.layer, v.alpha, v.modelId]).toEqual(['outside', 2, 1, REPO]);
    expect(v.norm).toBeCloseTo(Math.hypot(...dir), 3);
    // the same file again is recognised, not stored twice
    await page.setInputFiles('[data-testid=import-file]', { name: 'outside.gguf', mimeType: 'application/octet-stream', buffer: Buffer.from(bytes) });
    await page.waitForSelector('[data-testid=import-ok]');
    await page.waitForTimeout(500);
    expect(await count()).toBe(n0 + 1);
    // a truncated file: a message naming the file and the problem, and the library as it was
    await page.setInputFiles('[data-testid=import-file]', { name: 'broken.gguf', mimeType: 'application/octet-stream', buffer: Buffer.from(bytes.slice(0, bytes.length - 40)) });
    await page.waitForSelector('[data-testid=import-error]');
    expect(await page.textContent('[data-testid=import-error]')).toMatch(/broken\.gguf: tensor direction\.2 data .* runs past the end of the file.*nothing was added/);
    expect(await count()).toBe(n0 + 1);
    // remove it again so the share test below shares the trained vector
    page.once('dialog', (d) => void d.accept());
    await page.locator('[data-vector-name="outside"] button', { hasText: 'Delete' }).click();
    await page.waitForFunction((n) => (window as unknown as { steerlab: { state(): { vectors: unknown[] } } }).steerlab.state().vectors.length === n, n0);
  });

  it('shares the vector as a link that a fresh browser profile imports', async () => {
    await page.click('[data-testid=share-vector]');
    const url = await page.inputValue('[data-testid=share-url]');
    await page.screenshot({ path: path.join(ARTIFACTS_DIR, 'library-share-link.png'), fullPage: true });
    expect(url).toContain('#v=1&');
    const original = await state<{ name: string; modelId: string; layer: number; alpha: number; data: Record<string, number> }>(page, 's.vectors[0]');

    const fresh = await launchChromium();
    try {
      const p2 = await fresh.newPage();
      await p2.setViewportSize({ width: 1400, height: 950 });
      await p2.goto(url);
      await p2.waitForSelector('[data-testid=panel-library] [data-testid=vector-row]', { timeout: 60_000 });
      const got = await state<typeof original & { norm: number }>(p2, 's.vectors[0]');
      expect(await state<number>(p2, 's.vectors.length')).toBe(1);
      expect([got.name, got.modelId, got.layer, got.alpha]).toEqual([original.name, original.modelId, original.layer, original.alpha]);
      // α·v travels as f16: each element within half-precision rounding
      const a = Object.values(original.data);
      const b = Object.values(got.data);
      expect(b).toHaveLength(a.length);
      a.forEach((x, i) => expect(Math.abs(b[i]! * got.alpha - x * original.alpha)).toBeLessThanOrEqual(Math.abs(x * original.alpha) * 2 ** -11 + 2 ** -24));
      // the link offers the vector's model, and the fragment is gone from the address bar
      expect(await p2.textContent('[data-testid=notice-success]')).toContain(`Load ${REPO}`);
      expect(new URL(p2.url()).hash).toBe('');
      await p2.screenshot({ path: path.join(ARTIFACTS_DIR, 'share-link-opened.png') });

      // a damaged link is refused with the field that is wrong, and the library keeps what it had
      await p2.goto('about:blank');
      await p2.goto(url.replace(/&f16=[^&]*/, '&f16=AAAA'));
      await p2.waitForSelector('[data-testid=notice-error]');
      expect(await p2.textContent('[data-testid=notice-error]')).toMatch(/^This share link could not be opened \(f16 has wrong length[^)]*\), and nothing in your library was changed\.×?$/);
      expect(await state<number>(p2, 's.vectors.length')).toBe(1);
    } finally {
      await fresh.close();
    }
  });

  it('trains a narrow vector, survives a reload mid-run and resumes from its checkpoint offline-ready', async () => {
    await openPanel(page, 'train');
    await fill(page, 'train-steps', '4');
    await fill(page, 'train-klbatch', '1');
    await page.click('[data-testid=train-narrow]');
    // wait until a checkpoint past step 1 is in IndexedDB, then pull the plug
    for (let t = 0; ; t++) {
      const saved = await page.evaluate(async () => {
        const db = await new Promise<IDBDatabase>((res, rej) => {
          const r = indexedDB.open('steerlab-runs');
          r.onsuccess = () => res(r.result);
          r.onerror = () => rej(r.error);
        });
        const run = await new Promise<{ state?: { step: number } } | undefined>((res) => {
          const q = db.transaction('runs').objectStore('runs').get('narrow');
          q.onsuccess = () => res(q.result);
          q.onerror = () => res(undefined);
        });
        db.close();
        return run?.state?.step ?? 0;
      });
      if (saved >= 2) break;
      if (t > 480) throw new Error('no checkpoint of the narrow run was saved');
      await page.waitForTimeout(500);
    }
    const weightGets = () => servers.hub.requests.filter((r) => r.path.endsWith('/model.safetensors') && r.method === 'GET').length;
    const before = weightGets();
    await page.reload();
    await openPanel(page, 'train');
    expect(await page.textContent('[data-testid=run-status-narrow]')).toBe('interrupted');
    const resumeText = await page.textContent('[data-testid=resume-narrow]');
    const from = Number(/step (\d+)/.exec(resumeText ?? '')?.[1]);
    expect(from).toBeGreaterThanOrEqual(2);
    await page.click('[data-testid=resume-narrow]');
    await page.waitForFunction(() => document.querySelector('[data-testid=run-status-narrow]')?.textContent === 'done', null, { timeout: 300_000 });
    const h = await state<{ step: number; kl: number; loss: number; ce: number }[]>(page, 's.runs.narrow.history');
    expect(h.map((x) => x.step)).toEqual([1, 2, 3, 4]);
    const lambda = await state<number>(page, 's.runs.narrow.settings.lambdaKl');
    // the total is CE + λ·KL at every step, and the vector moves the model (KL > 0) after the first update
    for (const x of h) expect(x.loss).toBeCloseTo(x.ce + lambda * x.kl, 4);
    expect(h[3]!.kl).toBeGreaterThan(0);
    // the model came back from this browser's cache, not the network
    expect(await state<boolean>(page, 's.model.info.fromCache')).toBe(true);
    expect(weightGets()).toBe(before);
    // the KL chart: the training batches' KL at every step, and the KL on the KL rows at each checkpoint
    expect(await state<number[]>(page, 's.runs.narrow.klEval.map((e) => e.step)')).toEqual([1, 2, 3, 4]);
    expect(await plottedPoints(page, 'KL — Narrow')).toBe(8);
    expect(await plottedPoints(page, 'Loss — Narrow')).toBe(8);
  });

  it('saves a screenshot of every panel', async () => {
    for (const id of PANELS) {
      await openPanel(page, id);
      // charts load Plotly on first use
      await page.waitForTimeout(id === 'train' ? 1500 : 600);
      await page.screenshot({ path: path.join(ARTIFACTS_DIR, `panel-${id}.png`), fullPage: true });
    }
    writeFileSync(path.join(ARTIFACTS_DIR, 'browser-log.txt'), browser.logs.join('\n'));
    expect(browser.logs.filter((l) => l.startsWith('[pageerror]'))).toEqual([]);
  });
});
