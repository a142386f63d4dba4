// A tiny static file server for browser tests: serves a folder (the repo root by default) plus in-memory
// routes, with the MIME types wasm and ES modules need, and cross-origin isolation headers (COOP/COEP) so
// SharedArrayBuffer — and with it onnxruntime-web's threaded wasm — is available to the page.

import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.map': 'application/json',
  '.onnx': 'application/octet-stream',
  '.svg': 'image/svg+xml',
};

export interface StaticRoute {
  body: string | Uint8Array;
  type: string;
}

export interface StaticServerOptions {
  root?: string;
  /** exact pathname → in-memory body (served before files) */
  routes?: Record<string, StaticRoute>;
  /** send COOP/COEP (default true) */
  isolate?: boolean;
  port?: number;
}

export interface StaticServer {
  url: string;
  close(): Promise<void>;
}

export async function startStaticServer(opts: StaticServerOptions = {}): Promise<StaticServer> {
  const root = path.resolve(opts.root ?? process.cwd());
  const routes = opts.routes ?? {};
  const server = createServer((req, res) => {
    if (opts.isolate !== false) {
      res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
      res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    }
    res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
    res.setHeader('Cache-Control', 'no-store');
    let pathname: string;
    try {
      pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    } catch {
      res.statusCode = 400;
      res.end('bad URL encoding');
      return;
    }
    const route = routes[pathname];
    if (route) {
      res.setHeader('Content-Type', route.type);
      res.end(route.body);
      return;
    }
    const file = path.resolve(root, '.' + pathname);
    if (!file.startsWith(root + path.sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.statusCode = 404;
      res.end(`not found: ${pathname}`);
      return;
    }
    res.setHeader('Content-Type', MIME[path.extname(file)] ?? 'application/octet-stream');
    res.setHeader('Content-Length', String(statSync(file).size));
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((e) => (e ? reject(e) : resolve()));
      }),
  };
}
