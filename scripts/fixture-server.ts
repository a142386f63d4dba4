// A local stand-in for the Hugging Face Hub, its dataset file hosting and the datasets-server rows API,
// served from the shared fixtures so tests and offline demos never touch the network.
//
//   GET|HEAD /<owner>/<repo>/resolve/<rev>/<path>     files of a folder mapped to a repo id
//   GET      /api/models/<owner>/<repo>/tree/<rev>     the Hub's file listing of that folder (recursive, with sizes)
//            (default: test/<name> → ../shared/reference/<name>, e.g. test/qwen2-hub)
//   GET|HEAD /datasets/<anything>/<NAME>              ../shared/datasets/<NAME> (jsonl.gz, yaml)
//   GET      /rows?dataset=HuggingFaceFW/fineweb&config=sample-10BT&split=train&offset=&length=
//            datasets-server style pages of FINEWEB_DOCS documents built from the datasets' text
//
// Range requests (single range), Content-Length, ETag and CORS (the page is served from another port,
// possibly cross-origin isolated, hence Cross-Origin-Resource-Policy too) are supported.
// Run: npx tsx scripts/fixture-server.ts [port]   (or PORT=… ; default: a random free port)

import { createReadStream, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gunzipSync } from 'node:zlib';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const DEFAULT_SHARED = path.resolve(HERE, '../../shared');
export const FINEWEB_DATASET = 'HuggingFaceFW/fineweb';
export const FINEWEB_DOCS = 60;
/** the datasets-server refuses pages longer than this */
export const ROWS_MAX_LENGTH = 100;

export interface FixtureServerOptions {
  /** 0 or undefined: a random free port */
  port?: number;
  host?: string;
  /** folder holding reference/ and datasets/ (default ../shared next to the repo) */
  sharedDir?: string;
  /** extra or overriding repo id → folder mappings */
  repos?: Record<string, string>;
  /** the commit sha reported in X-Repo-Commit */
  commit?: string;
}

export interface RequestLogEntry {
  method: string;
  path: string;
  range?: string;
  status: number;
}

export interface FixtureServer {
  /** base URL without trailing slash, e.g. http://127.0.0.1:40123 */
  url: string;
  port: number;
  /** every request served, in order (tests use it to check caching and range reads) */
  requests: RequestLogEntry[];
  /** the generated FineWeb-like documents, for tests to compare against */
  finewebDocs: FinewebDoc[];
  close(): Promise<void>;
}

export interface FinewebDoc {
  text: string;
  id: string;
  dump: string;
  url: string;
  date: string;
  file_path: string;
  language: string;
  language_score: number;
  token_count: number;
}

/** test/<folder> for every folder of reference/. */
export function defaultRepos(sharedDir: string): Record<string, string> {
  const ref = path.join(sharedDir, 'reference');
  const out: Record<string, string> = {};
  if (!existsSync(ref)) return out;
  for (const name of readdirSync(ref)) {
    if (statSync(path.join(ref, name)).isDirectory()) out[`test/${name}`] = path.join(ref, name);
  }
  return out;
}

function readJsonlGz(file: string): { messages: { role: string; content: string }[] }[] {
  return gunzipSync(readFileSync(file))
    .toString('utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l, i) => {
      try {
        return JSON.parse(l);
      } catch (e) {
        throw new Error(`${file}: line ${i + 1} is not JSON (${(e as Error).message})`);
      }
    });
}

/**
 * Web-page-like documents from the aligned datasets' assistant answers (pre-training text should not be the
 * misaligned advice). Deterministic; lengths vary on purpose: every 10th document is one short sentence
 * (< 100 characters, which the Fig-6 procedure must skip) and every 7th is long (> 2000 characters, which it
 * must cut).
 */
export function makeFinewebDocs(datasetsDir: string, n = FINEWEB_DOCS): FinewebDoc[] {
  const pools = ['good_medical_advice.jsonl.gz', 'non_med_aligned.jsonl.gz'].map((f) =>
    readJsonlGz(path.join(datasetsDir, f)).map((r) => r.messages.find((m) => m.role === 'assistant')?.content ?? ''),
  );
  const docs: FinewebDoc[] = [];
  for (let k = 0; k < n; k++) {
    const pool = pools[k % pools.length]!;
    const start = (k * 97 + 13) % pool.length;
    let text: string;
    if (k % 10 === 3) {
      const first = pool[start]!.split(/(?<=[.!?])\s/)[0]!;
      text = first.length < 100 ? first : first.slice(0, 80).replace(/\s+\S*$/, '') + '.';
    } else {
      const paragraphs = k % 7 === 0 ? 14 : 1 + (k % 5);
      const parts: string[] = [];
      for (let j = 0; j < paragraphs; j++) parts.push(pool[(start + j) % pool.length]!);
      text = parts.join('\n\n');
    }
    const hex = (k * 2654435761 >>> 0).toString(16).padStart(8, '0');
    docs.push({
      text,
      id: `<urn:uuid:${hex}-0000-4000-8000-${String(k).padStart(12, '0')}>`,
      dump: 'CC-MAIN-2024-10',
      url: `https://example.org/steerlab-fixture/${k}`,
      date: '2024-02-20T00:00:00Z',
      file_path: 's3://commoncrawl/fixture/steerlab.warc.gz',
      language: 'en',
      language_score: 0.95,
      token_count: Math.ceil(text.length / 4),
    });
  }
  return docs;
}

const MIME: Record<string, string> = {
  '.json': 'application/json',
  '.jsonl': 'application/jsonl',
  '.gz': 'application/gzip',
  '.yaml': 'text/yaml; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.onnx': 'application/octet-stream',
  '.safetensors': 'application/octet-stream',
};

function cors(res: ServerResponse): void {
  res.setHeader('Access-Control-Allow-Origin', '*');
  res.setHeader('Access-Control-Allow-Methods', 'GET, HEAD, OPTIONS');
  res.setHeader('Access-Control-Allow-Headers', 'Range, Authorization, Content-Type, If-None-Match');
  res.setHeader('Access-Control-Expose-Headers', 'Content-Length, Content-Range, Accept-Ranges, ETag, X-Repo-Commit, X-Error-Code');
  res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin');
}

function sendError(res: ServerResponse, status: number, code: string, message: string): void {
  res.statusCode = status;
  res.setHeader('X-Error-Code', code);
  res.setHeader('Content-Type', 'application/json');
  res.end(JSON.stringify({ error: message }));
}

/** Parses a single "bytes=a-b" range; null = serve the whole file; 'bad' = unsatisfiable. */
function parseRange(header: string | undefined, size: number): [number, number] | null | 'bad' {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m) return null; // multi-range or malformed: RFC 9110 lets us ignore it and send 200
  const [, a, b] = m;
  if (a === '' && b === '') return null;
  let start: number;
  let end: number;
  if (a === '') {
    const n = Number(b);
    if (n === 0) return 'bad';
    start = Math.max(0, size - n);
    end = size - 1;
  } else {
    start = Number(a);
    end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  }
  if (start >= size || start > end) return 'bad';
  return [start, end];
}

function sendFile(req: IncomingMessage, res: ServerResponse, file: string, commit: string, log: RequestLogEntry): void {
  const st = statSync(file);
  const etag = `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
  res.setHeader('Accept-Ranges', 'bytes');
  res.setHeader('ETag', etag);
  res.setHeader('X-Repo-Commit', commit);
  res.setHeader('Content-Type', MIME[path.extname(file)] ?? 'application/octet-stream');
  if (req.headers['if-none-match'] === etag) {
    res.statusCode = log.status = 304;
    res.end();
    return;
  }
  const range = parseRange(req.headers.range, st.size);
  if (range === 'bad') {
    res.statusCode = log.status = 416;
    res.setHeader('Content-Range', `bytes */${st.size}`);
    res.end();
    return;
  }
  const [start, end] = range ?? [0, st.size - 1];
  res.statusCode = log.status = range ? 206 : 200;
  if (range) res.setHeader('Content-Range', `bytes ${start}-${end}/${st.size}`);
  res.setHeader('Content-Length', String(st.size === 0 ? 0 : end - start + 1));
  if (req.method === 'HEAD' || st.size === 0) {
    res.end();
    return;
  }
  createReadStream(file, { start, end }).pipe(res);
}

/** Joins `rel` under `dir`, refusing anything that escapes it. */
function inside(dir: string, rel: string): string | null {
  const p = path.resolve(dir, rel);
  return p.startsWith(path.resolve(dir) + path.sep) ? p : null;
}

export async function startFixtureServer(opts: FixtureServerOptions = {}): Promise<FixtureServer> {
  const shared = opts.sharedDir ?? process.env.STEERLAB_SHARED ?? DEFAULT_SHARED;
  const datasetsDir = path.join(shared, 'datasets');
  if (!existsSync(datasetsDir)) throw new Error(`fixture server: ${datasetsDir} does not exist (set sharedDir or STEERLAB_SHARED)`);
  const repos = { ...defaultRepos(shared), ...(opts.repos ?? {}) };
  const commit = opts.commit ?? '0123456789abcdef0123456789abcdef01234567';
  const docs = makeFinewebDocs(datasetsDir);
  const requests: RequestLogEntry[] = [];

  const server = createServer((req, res) => {
    cors(res);
    const url = new URL(req.url ?? '/', 'http://fixture');
    const log: RequestLogEntry = { method: req.method ?? 'GET', path: url.pathname + url.search, status: 200 };
    if (req.headers.range) log.range = req.headers.range;
    requests.push(log);
    const fail = (status: number, code: string, msg: string) => {
      log.status = status;
      sendError(res, status, code, msg);
    };
    try {
      if (req.method === 'OPTIONS') {
        res.statusCode = log.status = 204;
        res.end();
        return;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') return fail(405, 'MethodNotAllowed', `${req.method} is not supported`);
      let pathname: string;
      try {
        pathname = decodeURIComponent(url.pathname);
      } catch {
        return fail(400, 'BadRequest', `bad percent-encoding in ${url.pathname}`);
      }

      if (pathname === '/rows') return rows(url.searchParams, res, docs, log);

      const ds = /^\/datasets\/(?:.+\/)?([^/]+)$/.exec(pathname);
      if (ds) {
        const file = inside(datasetsDir, ds[1]!);
        if (!file || !existsSync(file) || !statSync(file).isFile()) return fail(404, 'EntryNotFound', `no dataset file ${ds[1]} in the fixtures`);
        return sendFile(req, res, file, commit, log);
      }

      const tree = /^\/api\/models\/([^/]+\/[^/]+)\/tree\/[^/]+\/?$/.exec(pathname);
      if (tree) {
        const dir = repos[tree[1]!];
        if (!dir) return fail(404, 'RepoNotFound', `repository ${tree[1]} is not served by the fixture server`);
        const body = JSON.stringify(listTree(dir));
        res.setHeader('Content-Type', 'application/json');
        res.setHeader('Content-Length', Buffer.byteLength(body));
        res.end(req.method === 'HEAD' ? undefined : body);
        return;
      }

      const m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(pathname);
      if (m) {
        const [, repo, , rel] = m;
        const dir = repos[repo!];
        if (!dir) return fail(404, 'RepoNotFound', `repository ${repo} is not served by the fixture server (known: ${Object.keys(repos).join(', ')})`);
        const file = inside(dir, rel!);
        if (!file || !existsSync(file) || !statSync(file).isFile()) return fail(404, 'EntryNotFound', `${rel} does not exist in ${repo}`);
        return sendFile(req, res, file, commit, log);
      }
      return fail(404, 'NotFound', `no route for ${pathname}`);
    } catch (e) {
      if (!res.headersSent) fail(500, 'InternalError', (e as Error).message);
      else res.destroy();
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${opts.host ?? '127.0.0.1'}:${port}`,
    port,
    requests,
    finewebDocs: docs,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((e) => (e ? reject(e) : resolve()));
      }),
  };
}

/** the Hub's tree entries of a folder: files with size (and lfs.size, as the Hub reports for LFS files), recursively */
function listTree(dir: string, rel = ''): { type: string; path: string; size: number; lfs?: { size: number } }[] {
  const out: { type: string; path: string; size: number; lfs?: { size: number } }[] = [];
  for (const e of readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) {
      out.push({ type: 'directory', path: p, size: 0 });
      out.push(...listTree(dir, p));
    } else if (e.isFile()) {
      const size = statSync(path.join(dir, p)).size;
      out.push({ type: 'file', path: p, size, ...(size > 10_000 ? { lfs: { size } } : {}) });
    }
  }
  return out;
}

function rows(q: URLSearchParams, res: ServerResponse, docs: FinewebDoc[], log: RequestLogEntry): void {
  const bad = (status: number, msg: string) => {
    log.status = status;
    sendError(res, status, status === 404 ? 'DatasetNotFound' : 'InvalidParameter', msg);
  };
  const dataset = q.get('dataset');
  if (!dataset) return bad(422, "Parameter 'dataset' is required");
  if (dataset !== FINEWEB_DATASET) return bad(404, `dataset ${dataset} is not served by the fixture server (only ${FINEWEB_DATASET})`);
  const int = (k: string, dflt: number): number | null => {
    const s = q.get(k);
    if (s === null) return dflt;
    return /^\d+$/.test(s) ? Number(s) : null;
  };
  const offset = int('offset', 0);
  if (offset === null) return bad(422, "Parameter 'offset' must be a non-negative integer");
  const length = int('length', ROWS_MAX_LENGTH);
  if (length === null) return bad(422, "Parameter 'length' must be a non-negative integer");
  if (length > ROWS_MAX_LENGTH) return bad(422, `Parameter 'length' must not be greater than ${ROWS_MAX_LENGTH}`);
  const str = { dtype: 'string', _type: 'Value' };
  const names: [keyof FinewebDoc, object][] = [
    ['text', str], ['id', str], ['dump', str], ['url', str], ['date', str], ['file_path', str], ['language', str],
    ['language_score', { dtype: 'float64', _type: 'Value' }], ['token_count', { dtype: 'int64', _type: 'Value' }],
  ];
  const body = {
    features: names.map(([name, type], i) => ({ feature_idx: i, name, type })),
    rows: docs.slice(offset, offset + length).map((row, i) => ({ row_idx: offset + i, row, truncated_cells: [] })),
    num_rows_total: docs.length,
    num_rows_per_page: ROWS_MAX_LENGTH,
    partial: false,
  };
  res.statusCode = log.status = 200;
  res.setHeader('Content-Type', 'application/json');
  res.end(JSON.stringify(body));
}

// Run as a script: print the URL and serve until killed.
if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const arg = process.argv[2] ?? process.env.PORT;
  const port = arg === undefined ? 0 : Number(arg);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`fixture server: port must be an integer 0-65535, got ${JSON.stringify(arg)}`);
    process.exit(2);
  }
  const s = await startFixtureServer({ port });
  console.log(`fixture server: ${s.url}`);
  console.log(`  repos: ${Object.keys(defaultRepos(process.env.STEERLAB_SHARED ?? DEFAULT_SHARED)).join(', ')}`);
  console.log(`  e.g. ${s.url}/test/qwen2-hub/resolve/main/config.json  ${s.url}/datasets/steerlab/em/bad_medical_advice.jsonl.gz`);
  console.log(`       ${s.url}/rows?dataset=${FINEWEB_DATASET}&config=sample-10BT&split=train&offset=0&length=10`);
  const stop = () => void s.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
