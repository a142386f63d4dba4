// What every app test does to the page: read the store through the app's debug handle, open a panel, fill a
// field, wait for a job's progress bar to come and go, count what Plotly drew. One copy, so a fix to how a job is
// awaited reaches every test file.

import { existsSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import { CHROMIUM_PATH } from './chromium';

const inCI = !!process.env.CI && process.env.CI !== 'false' && process.env.CI !== '0';
/** Browser tests skip on a machine without Chromium, but never in CI (there a missing browser is a failure). */
export const skipBrowserTests = !existsSync(CHROMIUM_PATH) && !inCI;

/** What the page's store holds, read through the app's debug handle: `pick` is an expression over `s`. */
export async function state<T>(page: Page, pick: string): Promise<T> {
  return page.evaluate((expr) => {
    const s = (window as unknown as { steerlab: { state(): Record<string, unknown> } }).steerlab.state();
    return new Function('s', `return (${expr});`)(s);
  }, pick) as Promise<T>;
}

export async function openPanel(page: Page, id: string): Promise<void> {
  await page.click(`[data-panel=${id}]`);
  await page.waitForSelector(`[data-testid=panel-${id}]`);
}

export async function fill(page: Page, testId: string, value: string): Promise<void> {
  await page.fill(`[data-testid=${testId}]`, value);
}

/** Counts, per job key, how often a progress bar (data-testid="job-<key>") was added to the page since this ran. */
async function watchJobBars(page: Page): Promise<Record<string, number>> {
  return page.evaluate(() => {
    const w = window as unknown as { __jobBars?: Record<string, number> };
    if (!w.__jobBars) {
      const seen: Record<string, number> = {};
      const count = (el: Element) => {
        const id = el.getAttribute('data-testid');
        if (id?.startsWith('job-')) seen[id.slice(4)] = (seen[id.slice(4)] ?? 0) + 1;
      };
      new MutationObserver((records) => {
        for (const r of records) for (const n of r.addedNodes) {
          if (!(n instanceof Element)) continue;
          count(n);
          n.querySelectorAll('[data-testid^="job-"]').forEach(count);
        }
      }).observe(document.documentElement, { childList: true, subtree: true });
      w.__jobBars = seen;
    }
    return { ...w.__jobBars };
  });
}

/**
 * Clicks what starts a job and waits for each named job's progress bar to come and go, then fails if a job
 * reported an error. Each bar must have been added to the page after the click — a MutationObserver counts them,
 * so a job that finishes between two polls is still seen, and a wrong key (which once let a test read a sweep's
 * results before the sweep had run) fails with the keys that did appear. A job may take up to 10 min: sweeps on
 * SwiftShader with a loaded 2-core machine ran past 4.
 */
export async function runJob(page: Page, clickSelector: string, ...keys: string[]): Promise<void> {
  const before = await watchJobBars(page);
  await page.click(clickSelector);
  for (const key of keys) {
    await page
      .waitForFunction(([k, n]) => ((window as unknown as { __jobBars: Record<string, number> }).__jobBars[k as string] ?? 0) > (n as number), [key, before[key] ?? 0], { timeout: 10_000 })
      .catch(async () => {
        const seen = await watchJobBars(page);
        const appeared = Object.keys(seen).filter((k) => seen[k]! > (before[k] ?? 0));
        throw new Error(`no progress bar job-${key} appeared within 10 s of clicking ${clickSelector} (bars that did: ${appeared.join(', ') || 'none'})`);
      });
    await page.waitForSelector(`[data-testid="job-${key}"]`, { state: 'detached', timeout: 600_000 });
  }
  const errors = await page.$$eval('[data-testid=notice-error]', (els) => els.map((e) => e.textContent));
  expect(errors).toEqual([]);
}

/** The traces Plotly drew in the chart with this title (from the plot's own data), once it is drawn. */
async function plotted(page: Page, title: string): Promise<{ x?: unknown[]; y?: number[] }[]> {
  const sel = `[data-testid=chart][data-title="${title}"] .js-plotly-plot`;
  // Plotly loads on the first chart; wait until this one is drawn
  await page.waitForSelector(sel, { timeout: 30_000 });
  return page.$eval(sel, (el) => ((el as unknown as { data?: { x?: unknown[]; y?: number[] }[] }).data ?? []).map((t) => ({ x: t.x, y: t.y })));
}

/** Number of points drawn in the chart with this title. */
export async function plottedPoints(page: Page, title: string): Promise<number> {
  return (await plotted(page, title)).reduce((n, t) => n + (t.x?.length ?? 0), 0);
}

/** Every y value drawn in the chart with this title. */
export async function plottedY(page: Page, title: string): Promise<number[]> {
  return (await plotted(page, title)).flatMap((t) => t.y ?? []);
}
