// The built lab for end-to-end tests: `vite build` of the app into e2e/.build/app, served by the static server
// (COOP/COEP, so wasm threads work as in production), with the fixture server playing the Hub, the dataset
// host and the FineWeb rows API. appUrl() points the app at those fixtures through its query string.

import path from 'node:path';
import { build } from 'vite';
import { startFixtureServer, type FixtureServer } from '../../scripts/fixture-server';
import { startStaticServer, type StaticServer } from './static-server';

const ROOT = path.resolve(__dirname, '../..');
export const APP_BUILD_DIR = path.join(ROOT, 'e2e/.build/app');
export const ARTIFACTS_DIR = path.join(ROOT, 'e2e/artifacts');

export async function buildApp(outDir = APP_BUILD_DIR): Promise<string> {
  await build({
    root: ROOT,
    configFile: path.join(ROOT, 'vite.config.ts'),
    logLevel: 'error',
    build: { outDir, emptyOutDir: true, minify: true },
  });
  return outDir;
}

export interface AppServers {
  site: StaticServer;
  hub: FixtureServer;
  /** the app's URL with its sources pointed at the fixture server; extra query params appended */
  appUrl(extra?: Record<string, string>): string;
  close(): Promise<void>;
}

export async function serveApp(dir = APP_BUILD_DIR): Promise<AppServers> {
  const site = await startStaticServer({ root: dir });
  const hub = await startFixtureServer({});
  return {
    site,
    hub,
    appUrl(extra = {}) {
      const q = new URLSearchParams({ hub: hub.url, datasets: `${hub.url}/datasets/steerlab/em`, fineweb: `hub:${hub.url}`, ...extra });
      return `${site.url}/index.html?${q}`;
    },
    async close() {
      await site.close();
      await hub.close();
    },
  };
}
