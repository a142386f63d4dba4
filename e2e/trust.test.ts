// A lab a student can trust for an afternoon (issue 8), end to end in headless Chromium on the qwen2-hub fixture:
// results survive a reload mid-sweep and resume; a run resumes on the data it trained on, not on what the Data
// form shows now; "Train again" asks and keeps the old vector; every run (λ = 0 included) has its KL on the KL
// data; a full quota and a browser that refuses storage are said plainly, with a download of what was not saved;
// KL is never shown below 0; the guide's steps in a row keep each other's settings and list what they changed.
// Screenshots of each state go to e2e/artifacts/trust-*.png.

import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ARTIFACTS_DIR, buildApp, serveApp, type AppServers } from './harness/app';
import { launchChromium, type HarnessBrowser } from './harness/chromium';
import { fill, openPanel, plottedY, skipBrowserTests, state } from './harness/page';

const REPO = 'test/qwen2-hub';

/** One value from an IndexedDB store, read the way the app wrote it (idb-keyval: one store per database). */
async function idbGet<T>(page: Page, db: string, store: string, key: string): Promise<T | undefined> {
  return page.evaluate(
    async ([db, store, key]) => {
      const d = await new Promise<IDBDatabase>((res, rej) => {
        const r = indexedDB.open(db!);
        r.onsuccess = () => res(r.result);
        r.onerror = () => rej(r.error);
      });
      try {
        return await new Promise<T | undefined>((res) => {
          const q = d.transaction(store!).objectStore(store!).get(key!);
          q.onsuccess = () => res(q.result as T);
          q.onerror = () => res(undefined);
        });
      } finally {
        d.close();
      }
    },
    [db, store, key],
  );
}

async function waitFor(what: string, f: () => Promise<boolean>, timeout = 240_000): Promise<void> {
  const t0 = Date.now();
  while (!(await f())) {
    if (Date.now() - t0 > timeout) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

/** progress lines while the file runs (the reporter prints only at the end) */
const t0 = Date.now();
const log = (m: string) => process.stderr.write(`[trust ${((Date.now() - t0) / 1000).toFixed(0)} s] ${m}\n`);

/** Waits for a run to be done, logging its job's progress text every 15 s. */
async function runDone(page: Page, slot: string, timeout = 800_000): Promise<void> {
  const t = Date.now();
  let last = 0;
  while ((await page.textContent(`[data-testid=run-status-${slot}]`).catch(() => null)) !== 'done') {
    if (Date.now() - last > 15_000) {
      last = Date.now();
      log(`  ${slot}: ${await state<string>(page, `JSON.stringify({ status: s.runs.${slot}?.status, job: s.jobs['train:${slot}']?.detail, kl: s.data.kl.status, err: s.runs.${slot}?.error })`)}`);
    }
    if (Date.now() - t > timeout) throw new Error(`the ${slot} run did not finish`);
    await page.waitForTimeout(500);
  }
}

const runStatus = (page: Page, slot: string) => page.textContent(`[data-testid=run-status-${slot}]`);

async function loadModelAndData(page: Page, rows: number): Promise<void> {
  await openPanel(page, 'model');
  await page.click('[data-testid=load-model]');
  await page.waitForSelector('[data-testid=model-info]', { timeout: 120_000 });
  await openPanel(page, 'data');
  await fill(page, 'data-limit', String(rows));
  await fill(page, 'data-maxlen', '64');
  // SwiftShader computes the KL rows' full-vocabulary softmax on the CPU: keep the KL set to 4 rows (2 per preset, 1 held out)
  await fill(page, 'kl-limit', '2');
  await page.click('[data-testid=load-train-data]');
  await page.waitForSelector('[data-testid=data-summary-train]', { timeout: 120_000 });
}

describe.skipIf(skipBrowserTests)('a lab a student can trust', () => {
  let servers: AppServers;
  let browser: HarnessBrowser;
  let page: Page;
  const shot = (name: string) => page.screenshot({ path: path.join(ARTIFACTS_DIR, `trust-${name}.png`), fullPage: true });

  beforeAll(async () => {
    await buildApp();
    servers = await serveApp();
    browser = await launchChromium();
    page = await browser.newPage();
    await page.setViewportSize({ width: 1400, height: 950 });
    mkdirSync(ARTIFACTS_DIR, { recursive: true });
  });

  beforeEach((ctx) => log(ctx.task.name));

  afterAll(async () => {
    if (browser && process.env.E2E_LOGS) console.log(browser.logs.join('\n'));
    await browser?.close();
    await servers?.close();
  });

  it('checks the training settings against the data and offers a fix', async () => {
    await page.goto(servers.appUrl({ model: REPO }));
    await page.waitForSelector('[data-testid=device-banner][data-backend]', { timeout: 60_000 });
    await loadModelAndData(page, 12);
    await openPanel(page, 'train');
    await page.selectOption('[data-testid=train-budget]', 'steps');
    await fill(page, 'train-steps', '3');
    await fill(page, 'train-microbatch', '1');
    await fill(page, 'train-accumulation', '1');
    await fill(page, 'train-checkpoint', '3');
    await fill(page, 'train-lr', '0.01');
    await fill(page, 'train-warmup', '5');
    await page.waitForSelector('[data-testid=settings-check-warmup]');
    expect(await page.textContent('[data-testid=settings-check-warmup]')).toMatch(/warm-up \(5 steps\) is as long as the whole run \(3 steps\)/);
    await shot('settings-check');
    await page.click('[data-testid=settings-fix-warmup]');
    await page.waitForSelector('[data-testid=settings-check-warmup]', { state: 'detached' });
    expect(await state<number>(page, 's.trainForm.warmup')).toBe(0);
    expect(await page.textContent('[data-testid=step-meaning]')).toMatch(/Step k is the k-th AdamW update/);
  });

  it('measures the general run (λ = 0) on the KL data at its checkpoints', async () => {
    await page.click('[data-testid=train-general]');
    await runDone(page, 'general');
    const ev = await state<{ step: number; kl: number }[]>(page, 's.runs.general.klEval');
    expect(ev.map((e) => e.step)).toEqual([3]);
    // the general vector moves the KL rows' predictions: the paper's point, measured for λ = 0 too
    expect(ev[0]!.kl).toBeGreaterThan(0);
    expect(Number(await page.textContent('[data-testid=run-kleval-general]'))).toBeCloseTo(ev[0]!.kl, 4);
    // step 1's loss and norm are measured at the starting vector (zero)
    expect(await state<number>(page, 's.runs.general.history[0].norm')).toBe(0);
    expect(await page.textContent('[data-testid=run-data-general]')).toMatch(/first 12 rows/);
  });

  it('"Train again" asks first, and keeps the old vector in the library under its own name', async () => {
    const before = await state<{ id: string; name: string }[]>(page, 's.vectors.map((v) => ({ id: v.id, name: v.name }))');
    expect(before).toHaveLength(1);
    // saying no changes nothing
    let asked = '';
    page.once('dialog', (d) => ((asked = d.message()), void d.dismiss()));
    await page.click('[data-testid=train-general]');
    await page.waitForTimeout(300);
    expect(asked).toMatch(/Train the General run again\? The current run \(finished, 3 steps\) is replaced here; its vector stays in the library/);
    expect(await state<number>(page, 's.vectors.length')).toBe(1);
    expect(await runStatus(page, 'general')).toBe('done');
    // saying yes trains a new one next to it
    page.once('dialog', (d) => void d.accept());
    await page.click('[data-testid=train-general]');
    await page.waitForSelector('[data-testid="job-train:general"]', { timeout: 60_000 });
    await runDone(page, 'general');
    const after = await state<{ id: string; name: string }[]>(page, 's.vectors.map((v) => ({ id: v.id, name: v.name }))');
    expect(after).toHaveLength(2);
    expect(after.map((v) => v.id)).toContain(before[0]!.id);
    expect(after.find((v) => v.id === before[0]!.id)!.name).toBe(before[0]!.name);
    expect(new Set(after.map((v) => v.name)).size).toBe(2);
    expect(after.find((v) => v.id !== before[0]!.id)!.name).toBe(`${before[0]!.name} #2`);
  });

  it('resumes a run on the data it trained on after the Data form changed', async () => {
    await fill(page, 'train-steps', '6');
    await fill(page, 'train-checkpoint', '2');
    await fill(page, 'train-klbatch', '1');
    await page.click('[data-testid=train-narrow]');
    await waitFor('a narrow checkpoint past step 2', async () => ((await state<number | undefined>(page, 's.runs.narrow?.state?.step')) ?? 0) >= 2);
    // one job, one Cancel: the run's progress bar holds the only one
    expect(await page.locator('[data-testid=run-narrow] button', { hasText: 'Cancel' }).count()).toBe(1);
    await page.click('[data-testid="job-train:narrow"] button');
    await page.waitForFunction(() => document.querySelector('[data-testid=run-status-narrow]')?.textContent === 'cancelled', null, { timeout: 120_000 });
    const trainedOn = await state<string>(page, 's.runs.narrow.dataLabel');
    // the student reads other data meanwhile
    await openPanel(page, 'data');
    await fill(page, 'data-limit', '8');
    await page.click('[data-testid=load-train-data]');
    await page.waitForFunction(() => /first 8 rows/.test((window as any).steerlab.state().data.train.label ?? '') && (window as any).steerlab.state().data.train.status === 'ready');
    await openPanel(page, 'train');
    await page.click('[data-testid=resume-narrow]');
    // it says it reads the run's own data again (the notice fades after a while: read it as it comes)
    await page.locator('[data-testid=notice-info]', { hasText: "Read the run's own training data again" }).waitFor({ timeout: 120_000 });
    expect(await page.textContent('.notices')).toMatch(/Read the run's own training data again .*first 12 rows, ≤ 64 tokens, 10 % held out/);
    await runDone(page, 'narrow', 400_000);
    // it re-read its own 12 rows (and said so), and never trained on the form's 8
    expect(await state<string>(page, 's.data.train.label')).toBe(trainedOn);
    expect(await state<number | null>(page, 's.data.train.spec.limit')).toBe(12);
    expect(await state<number[]>(page, 's.runs.narrow.history.map((h) => h.step)')).toEqual([1, 2, 3, 4, 5, 6]);
    // the form keeps what the student typed
    expect(await state<number>(page, 's.dataForm.limit')).toBe(8);
  });

  it('keeps a stability sweep through a reload mid-sweep, marks it interrupted and resumes it', async () => {
    await openPanel(page, 'stability');
    await fill(page, 'stability-rows', '1');
    await fill(page, 'stability-seeds', '3');
    expect(await page.textContent('[data-testid=stability-cost]')).toMatch(/24 points; the time per point is measured/);
    await page.click('[data-testid=run-stability]');
    await waitFor('three saved stability points', async () => ((await idbGet<{ meta?: { done: number } }>(page, 'steerlab-results', 'results', 'stability'))?.meta?.done ?? 0) >= 3, 240_000);
    await page.reload();
    await openPanel(page, 'stability');
    const status = page.locator('[data-testid=stability-status]');
    expect(await status.getAttribute('data-status')).toBe('interrupted');
    const saved = await state<number>(page, 's.stability.meta.done');
    expect(saved).toBeGreaterThanOrEqual(3);
    expect(saved).toBeLessThan(24);
    expect(await page.textContent('[data-testid=stability-status-progress]')).toBe(`Interrupted (the page closed) at ${saved} of 24 points`);
    // the model is not loaded after the reload: the result says what it was made with, and is stale until then
    expect(await status.getAttribute('data-stale')).toBe('yes');
    await shot('stability-interrupted');
    await loadModelAndData(page, 12);
    await openPanel(page, 'stability');
    await page.waitForSelector('[data-testid=stability-status][data-stale=no]');
    await page.click('[data-testid=stability-status-resume]');
    await page.waitForSelector('[data-testid=stability-status][data-status=done]', { timeout: 800_000 });
    expect(await state<number>(page, 's.stability.meta.done')).toBe(24);
    const pts = await state<Record<string, { points: { eps: number }[] }>>(page, 's.stability.curves');
    expect(Object.keys(pts).sort()).toEqual(['general', 'narrow']);
    for (const c of Object.values(pts)) expect(c.points.map((p) => p.eps)).toEqual([0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1]);
    // the next sweep's cost comes from the time measured here
    expect(await page.textContent('[data-testid=stability-cost]')).toMatch(/24 points, about .* on this device \(.* s a point, measured earlier\)/);
    await shot('stability-resumed');
    // its own waits (3 points, a reload and model load, then the other 21 points on SwiftShader) add up to more than
    // the suite's 900 s per test on a loaded 2-core machine: the sweep finished at 899 s there and the test was cut off
  }, 1_800_000);

  it('says a full quota plainly, offers the unsaved result as a download, and clears the notice once it saves', async () => {
    await page.evaluate(() => {
      const w = window as unknown as { __put: typeof IDBObjectStore.prototype.put };
      w.__put = IDBObjectStore.prototype.put;
      IDBObjectStore.prototype.put = function () {
        throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      };
    });
    await page.locator('[data-testid=stability-slider]').fill('0.55');
    await page.click('[data-testid=probe-stability]');
    const notice = page.locator('[data-testid=notice-error]', { hasText: 'could not be saved' });
    await notice.waitFor({ timeout: 120_000 });
    expect(await notice.textContent()).toMatch(/The stability sweep could not be saved: this browser’s storage for the lab is full\. It stays on this page until you close it; download it to keep it\./);
    await shot('quota-full');
    const [download] = await Promise.all([page.waitForEvent('download'), notice.locator('button', { hasText: 'Download' }).click()]);
    const json = JSON.parse(readFileSync((await download.path())!, 'utf8'));
    expect(json.meta.done).toBe(24);
    expect(json.probes.general.map((p: { eps: number }) => p.eps)).toEqual([0.55]);
    // still full: the next save fails and says so again
    await page.locator('[data-testid=stability-slider]').fill('0.6');
    await page.click('[data-testid=probe-stability]');
    await notice.waitFor({ timeout: 120_000 });
    // storage back: the next save goes through, and the notice goes with its cause
    await page.evaluate(() => {
      IDBObjectStore.prototype.put = (window as unknown as { __put: typeof IDBObjectStore.prototype.put }).__put;
    });
    await page.locator('[data-testid=stability-slider]').fill('0.65');
    await page.click('[data-testid=probe-stability]');
    await waitFor('the probes to be saved', async () => ((await idbGet<{ probes: Record<string, unknown[]> }>(page, 'steerlab-results', 'results', 'stability'))?.probes.general?.length ?? 0) === 3);
    await notice.waitFor({ state: 'detached', timeout: 10_000 });
    expect(await page.locator('[data-testid=notice-error]').count()).toBe(0);
  });

  it('never shows a KL below 0, on a linear or a log axis', async () => {
    // a saved FineWeb result with float noise below zero at norm 0, as a float32 softmax can give
    const curves = { general: [{ norm: 0, kl: -1.26e-8 }, { norm: 1, kl: 0.012 }, { norm: 2, kl: 0.05 }] };
    await page.evaluate(async (curves) => {
      const d = await new Promise<IDBDatabase>((res) => {
        const r = indexedDB.open('steerlab-results');
        r.onsuccess = () => res(r.result);
      });
      await new Promise((res) => {
        const tx = d.transaction('results', 'readwrite');
        tx.objectStore('results').put({ curves }, 'pretrain');
        tx.oncomplete = res;
      });
      d.close();
    }, curves);
    await page.reload();
    await openPanel(page, 'pretrain');
    const ys = await plottedY(page, 'FineWeb KL vs norm');
    expect(ys).toEqual([0, 0.012, 0.05]);
    expect(await page.textContent('[data-testid=panel-pretrain]')).not.toMatch(/[−-]1\.26/);
    await page.click('[data-testid=pretrain-log]');
    await page.waitForSelector('[data-testid=chart-log-dropped]');
    expect(await page.textContent('[data-testid=chart-log-dropped]')).toBe('1 point at 0 not drawn: a log scale has no 0.');
    expect(await plottedY(page, 'FineWeb KL vs norm')).toEqual([0.012, 0.05]);
    await shot('pretrain-kl-clamp');
  });

  it('runs the guide’s steps in a row without one undoing another, listing what each changed', async () => {
    // (runs alone too: `-t guide`)
    if (!page.url().startsWith('http')) await page.goto(servers.appUrl({ model: REPO }));
    await loadModelAndData(page, 12);
    await openPanel(page, 'guide');
    await page.click('[data-testid=guide-quick]');
    await page.waitForSelector('[data-testid=guide-changes-quick]');
    expect(await page.textContent('[data-testid=guide-changes-quick]')).toMatch(/steps: .* → 40/);
    const quick = await state<{ budget: string; steps: number; lr: number }>(page, '({ budget: s.trainForm.budget, steps: s.trainForm.steps, lr: s.trainForm.lr })');
    expect(quick).toEqual({ budget: 'steps', steps: 40, lr: 1e-3 });
    await page.click('[data-testid=guide-Fig5]');
    await page.waitForSelector('[data-testid=panel-train]');
    // Fig 5 reads the data it needs (the quick look's 256 rows of bad medical advice) and says so
    await page.locator('[data-testid=notice-info]', { hasText: 'Fig 5:' }).waitFor({ timeout: 240_000 });
    expect(await page.textContent('.notices')).toMatch(/Fig 5: .*Loaded the training data: Bad medical advice \(first 256 rows\)/);
    await openPanel(page, 'guide');
    await page.click('[data-testid=guide-Fig4a]');
    await openPanel(page, 'guide');
    await page.click('[data-testid=guide-Fig6]');
    await openPanel(page, 'guide');
    // the quick look's budget survived every step after it
    expect(await state<typeof quick>(page, '({ budget: s.trainForm.budget, steps: s.trainForm.steps, lr: s.trainForm.lr })')).toEqual(quick);
    expect(await page.textContent('[data-testid=guide-changes-Fig4a]')).toMatch(/rows evaluated/);
    expect(await page.textContent('[data-testid=guide-changes-Fig6]')).toMatch(/FineWeb documents: 50/);
    await shot('guide-in-a-row');
  });

  it('says how long the study takes, and the Workshop preset sets every size and reads its data', async () => {
    // (runs alone too: `-t Workshop`)
    if (!page.url().startsWith('http')) await page.goto(servers.appUrl({ model: REPO }));
    if ((await state<string>(page, 's.model.status')) !== 'ready') await loadModelAndData(page, 12);
    await openPanel(page, 'train');
    await page.waitForSelector('[data-testid=time-estimate]');
    const before = await page.textContent('[data-testid=time-estimate-now]');
    expect(before).toMatch(/the general run ≈ .*, the narrow run ≈ .*, the three sweeps on both vectors ≈ .* on a laptop-class GPU/);
    expect(await page.textContent('[data-testid=preset-workshop]')).toMatch(/Workshop preset: ≈ \d+ min/);
    expect(await page.textContent('[data-testid=preset-paper]')).toMatch(/paper’s settings: ≈ \d+ h/);
    await page.click('[data-testid=preset-workshop]');
    await page.waitForSelector('[data-testid=preset-changes]');
    await page.locator('[data-testid=notice-info]', { hasText: 'Workshop preset:' }).waitFor({ timeout: 240_000 });
    const set = await state<Record<string, unknown>>(
      page,
      '({ budget: s.trainForm.budget, epochs: s.trainForm.epochs, micro: s.trainForm.microBatch, acc: s.trainForm.accumulation, kl: s.trainForm.klBatch, lr: s.trainForm.lr, limit: s.dataForm.limit, maxLen: s.dataForm.maxLen, klLimit: s.dataForm.klLimit, rows: s.data.train.spec?.limit, len: s.data.train.spec?.maxLen })',
    );
    // the data read again at the preset's sizes (the loaded rows' spec says so), the paper's lr kept
    expect(set).toEqual({ budget: 'epochs', epochs: 1, micro: 4, acc: 1, kl: 4, lr: 1e-4, limit: 256, maxLen: 128, klLimit: 64, rows: 256, len: 128 });
    const after = await page.textContent('[data-testid=time-estimate-now]');
    expect(after).not.toBe(before);
    expect(after).toMatch(/≤ 128 tokens/);
    await shot('workshop-preset');
    await openPanel(page, 'efficiency');
    expect(await page.inputValue('[data-testid=efficiency-rows]')).toBe('32');
    await openPanel(page, 'stability');
    expect(await page.inputValue('[data-testid=stability-seeds]')).toBe('3');
  });

  it('tells a browser that refuses storage what that means, and still opens', async () => {
    const fresh = await launchChromium();
    try {
      const p = await fresh.newPage();
      await p.addInitScript(() => {
        indexedDB.open = () => {
          throw new DOMException('The user denied permission to access the database.', 'SecurityError');
        };
      });
      await p.goto(servers.appUrl());
      const n = p.locator('[data-testid=notice-error]', { hasText: 'Nothing from earlier visits could be read' });
      await n.waitFor({ timeout: 60_000 });
      expect(await n.textContent()).toMatch(/this browser does not let the lab store anything \(a private window, or site data blocked\)/);
      await p.waitForSelector('[data-testid=panel-model]');
      await p.screenshot({ path: path.join(ARTIFACTS_DIR, 'trust-storage-blocked.png') });
    } finally {
      await fresh.close();
    }
  });

  it('leaves no page errors behind', () => {
    expect(browser.logs.filter((l) => l.startsWith('[pageerror]'))).toEqual([]);
  });
});
