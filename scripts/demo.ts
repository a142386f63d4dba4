// `npm run demo`: the whole lab on this machine with no network. Starts the local stand-in for the Hub (the
// fixture server: tiny real-layout models, the real datasets and tokenizers, a FineWeb rows endpoint) and the
// lab's dev server pointed at it through the query string, then prints the address to open.
//   npm run demo                 dev server on port 5173 (or the next free one), the stand-in on a free port
//   npm run demo -- --port 8080  another port for the lab
// The lab opens with the Qwen-layout test model (test/qwen2-hub) in the model box: Load, then every panel works
// on it within a minute on a laptop (the model is random, so the answers are gibberish, but every number is real).

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'vite';
import { startFixtureServer } from './fixture-server';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DEMO_MODEL = 'test/qwen2-hub';

/** The lab's query string for a Hub stand-in at `hubUrl` (see src/ui/config.ts); ':' and '/' stay readable. */
export function demoQuery(hubUrl: string, model = DEMO_MODEL): string {
  const params = { hub: hubUrl, datasets: `${hubUrl}/datasets/steerlab/em`, fineweb: `hub:${hubUrl}`, model };
  return Object.entries(params)
    .map(([k, v]) => `${k}=${encodeURIComponent(v).replace(/%3A/gi, ':').replace(/%2F/gi, '/')}`)
    .join('&');
}

function portArg(argv: string[]): number {
  const i = argv.indexOf('--port');
  const raw = i >= 0 ? argv[i + 1] : (process.env.PORT ?? '5173');
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`demo: --port must be an integer 0-65535, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return port;
}

async function main(): Promise<void> {
  const hub = await startFixtureServer({});
  const lab = await createServer({ root: ROOT, configFile: path.join(ROOT, 'vite.config.ts'), logLevel: 'warn', server: { host: '127.0.0.1', port: portArg(process.argv), strictPort: false } });
  await lab.listen();
  const base = lab.resolvedUrls?.local[0] ?? `http://127.0.0.1:${lab.config.server.port}/`;
  const url = `${base}?${demoQuery(hub.url)}`;
  console.log('steerlab demo: everything is served from this machine, nothing goes to the network.');
  console.log(`  Hub stand-in (models, datasets, FineWeb rows): ${hub.url}`);
  console.log(`  open the lab at: ${url}`);
  console.log('  then: Model → Load model, Data → Load training data, Train → Train, and every other panel.');
  console.log('  Ctrl-C stops both servers.');
  const stop = () => {
    void Promise.allSettled([lab.close(), hub.close()]).then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((e: Error) => {
  console.error(`demo: ${e.message}`);
  process.exit(1);
});
