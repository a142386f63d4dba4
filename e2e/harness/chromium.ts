// Headless Chromium for browser tests: Debian's /usr/bin/chromium driven by playwright-core (no bundled
// browser download), WebGPU enabled (SwiftShader's Vulkan backend when there is no GPU), a throwaway profile,
// and nothing that phones home.

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM_PATH = process.env.STEERLAB_CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox', // CI containers run as root, where the sandbox cannot start
  '--enable-unsafe-webgpu', // WebGPU on Linux is behind this flag
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

export function chromiumAvailable(executablePath = CHROMIUM_PATH): boolean {
  return existsSync(executablePath);
}

export interface LaunchOptions {
  executablePath?: string;
  /** appended after CHROMIUM_ARGS */
  extraArgs?: string[];
}

export interface HarnessBrowser {
  context: BrowserContext;
  userDataDir: string;
  /** console messages and page errors of every page opened through newPage(), as "[type] text" */
  logs: string[];
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

export async function launchChromium(opts: LaunchOptions = {}): Promise<HarnessBrowser> {
  const executablePath = opts.executablePath ?? CHROMIUM_PATH;
  if (!existsSync(executablePath))
    throw new Error(`Chromium not found at ${executablePath}: install Debian's chromium (bash .ci/run does) or set STEERLAB_CHROMIUM`);
  const userDataDir = mkdtempSync(path.join(tmpdir(), 'steerlab-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath,
      // headless: false keeps playwright from adding its own --headless; ours (--headless=new) is in the args
      headless: false,
      args: [...CHROMIUM_ARGS, ...(opts.extraArgs ?? [])],
      timeout: 60_000,
    });
  } catch (e) {
    rmSync(userDataDir, { recursive: true, force: true });
    throw new Error(`could not launch ${executablePath}: ${(e as Error).message}`);
  }
  const logs: string[] = [];
  return {
    context,
    userDataDir,
    logs,
    async newPage() {
      const page = await context.newPage();
      page.on('console', (m) => logs.push(`[${m.type()}] ${m.text()}`));
      page.on('pageerror', (e) => logs.push(`[pageerror] ${e.message}`));
      return page;
    },
    async close() {
      try {
        await context.close();
      } finally {
        rmSync(userDataDir, { recursive: true, force: true });
      }
    },
  };
}
