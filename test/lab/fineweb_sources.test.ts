// FineWeb sources against local servers: a fake dataset-viewer rows endpoint built from rows written here, and a
// parquet file written with hyparquet-writer, served with HEAD + Range support. Plus the length rule and caching.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { Rng } from '../../src/lab/rng';
import { selectDoc, hubRowsSource, parquetSource, cachedSource, MemoryShardStore, type FinewebSource } from '../../src/lab/fineweb';

/**
 * Documents of varied lengths (ASCII, so JS length = characters): every 3rd is too short, every 5th is long.
 * Seeded random letters keep the parquet file incompressible (~1.7 MB), so that reading a few documents by range
 * requests is measurably less than the whole file.
 */
const letters = new Rng(11);
const corpus = Array.from({ length: 2000 }, (_, i) => {
  const len = i % 3 === 0 ? 40 + (i % 61) : i % 5 === 0 ? 2500 + i : 101 + ((i * 37) % 1500);
  const stem = `doc${i}:`;
  return stem + Array.from({ length: len - stem.length }, () => String.fromCharCode(97 + letters.int(26))).join('');
});
/** The rule stated directly for ASCII text: keep if longer than 100, cut to 2000. */
const expectedDocs = (n: number) => corpus.filter((t) => t.length > 100).slice(0, n).map((t) => t.slice(0, 2000));

describe('selectDoc', () => {
  it('keeps documents longer than minChars and cuts to maxChars, counting code points', () => {
    expect(selectDoc('x'.repeat(100))).toBeNull();
    expect(selectDoc('x'.repeat(101))).toBe('x'.repeat(101));
    expect(selectDoc('y'.repeat(5000))!.length).toBe(2000);
    // 60 emoji = 60 characters (120 UTF-16 units): not longer than 100
    expect(selectDoc('🙂'.repeat(60))).toBeNull();
    // 2001 emoji are cut to 2000 whole emoji, never half a surrogate pair
    const cut = selectDoc('🙂'.repeat(2001))!;
    expect(Array.from(cut).length).toBe(2000);
    expect(cut.length).toBe(4000);
    expect(selectDoc('abcdef', 3, 4)).toBe('abcd');
    expect(selectDoc('abc', 3, 4)).toBeNull();
  });
});

describe('hubRowsSource against a fake rows endpoint', () => {
  let server: Server;
  let base: string;
  const offsets: number[] = [];
  let flaky = 0;
  beforeAll(async () => {
    server = createServer((req, res) => {
      const u = new URL(req.url ?? '/', 'http://x');
      const json = (status: number, body: unknown) =>
        res.writeHead(status, { 'content-type': 'application/json' }).end(typeof body === 'string' ? body : JSON.stringify(body));
      if (u.pathname === '/broken/rows') return json(200, '{"rows": [');
      if (u.pathname === '/norows/rows') return json(200, { error: null, features: [] });
      if (u.pathname === '/badrow/rows') return json(200, { rows: [{ row_idx: 0, row: { text: 42 } }] });
      if (u.pathname === '/down/rows') return json(500, { error: 'The server is busier than usual' });
      if (u.pathname === '/flaky/rows' && flaky++ === 0) return json(503, { error: 'try again' });
      if (!u.pathname.endsWith('/rows')) return json(404, { error: 'Not found' });
      const ds = u.searchParams.get('dataset'), cfg = u.searchParams.get('config'), split = u.searchParams.get('split');
      if (ds !== 'HuggingFaceFW/fineweb' || cfg !== 'sample-10BT' || split !== 'train') {
        return json(404, { error: `The dataset ${ds}/${cfg}/${split} does not exist` });
      }
      const offset = Number(u.searchParams.get('offset')), length = Number(u.searchParams.get('length'));
      if (length > 100) return json(422, { error: 'length must be <= 100' });
      offsets.push(offset);
      json(200, {
        features: [{ feature_idx: 0, name: 'text', type: { dtype: 'string', _type: 'Value' } }],
        rows: corpus.slice(offset, offset + length).map((text, i) => ({
          row_idx: offset + i,
          row: { text, id: `<urn:uuid:${offset + i}>`, dump: 'CC-MAIN-2024-10', token_count: 1 },
          truncated_cells: [],
        })),
        num_rows_total: corpus.length,
        num_rows_per_page: 100,
        partial: false,
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('pages through the rows until N documents longer than 100 chars are collected, each cut to 2000', async () => {
    offsets.length = 0;
    const progress: number[] = [];
    const docs = await hubRowsSource(base).fetchDocs(150, { onProgress: (g) => progress.push(g) });
    expect(docs).toEqual(expectedDocs(150));
    expect(docs.every((d) => d.length > 100 && d.length <= 2000)).toBe(true);
    // 150 qualifying documents need rows beyond 200 (a third are too short), so three pages, in order
    expect(offsets).toEqual([0, 100, 200]);
    expect(progress.at(-1)).toBe(150);
  });

  it('stops at the end of the split and returns what there is', async () => {
    const all = corpus.filter((t) => t.length > 100).length;
    const docs = await hubRowsSource(`${base}/`).fetchDocs(10_000);
    expect(docs.length).toBe(all);
  });

  it('malformed responses and HTTP errors name the URL and the status', async () => {
    await expect(hubRowsSource(`${base}/broken`, { retries: 0 }).fetchDocs(5)).rejects.toThrow(
      /\/broken\/rows\?dataset=HuggingFaceFW%2Ffineweb&config=sample-10BT&split=train&offset=0&length=100: the response is not JSON/,
    );
    await expect(hubRowsSource(`${base}/norows`, { retries: 0 }).fetchDocs(5)).rejects.toThrow(/norows\/rows\?.*malformed rows response \(no "rows" list\)/);
    await expect(hubRowsSource(`${base}/badrow`, { retries: 0 }).fetchDocs(5)).rejects.toThrow(/rows\[0\]\.row\.text is not a string/);
    await expect(hubRowsSource(`${base}/down`, { retries: 0 }).fetchDocs(5)).rejects.toThrow(
      /\/down\/rows\?.*: HTTP 500 Internal Server Error \(The server is busier than usual\)/,
    );
    await expect(hubRowsSource(base, { dataset: 'nobody/nothing', retries: 0 }).fetchDocs(5)).rejects.toThrow(/HTTP 404.*does not exist/);
    await expect(hubRowsSource('http://127.0.0.1:1', { retries: 0 }).fetchDocs(5)).rejects.toThrow(/cannot fetch http:\/\/127\.0\.0\.1:1\/rows\?/);
  });

  it('retries a 503 once and then succeeds', async () => {
    flaky = 0;
    const docs = await hubRowsSource(`${base}/flaky`, { retries: 1, retryDelayMs: 5 }).fetchDocs(3);
    expect(docs).toEqual(expectedDocs(3));
    expect(flaky).toBe(2);
  });
});

describe('parquetSource with HTTP range reads', () => {
  let server: Server;
  let base: string;
  let file: Uint8Array;
  const served = { bytes: 0, ranges: 0, full: 0 };
  beforeAll(async () => {
    // 2000 documents in row groups of 50, plus an id column that must not be read
    file = new Uint8Array(
      parquetWriteBuffer({
        columnData: [
          { name: 'text', data: corpus, type: 'STRING' },
          { name: 'id', data: corpus.map((_, i) => `<urn:uuid:${i}>`), type: 'STRING' },
        ],
        rowGroupSize: 50,
      }),
    );
    server = createServer((req, res) => {
      if (req.url === '/missing.parquet') return res.writeHead(404).end('nope');
      const body = req.url === '/notparquet.parquet' ? new TextEncoder().encode('{"this": "is json"}'.repeat(10)) : file;
      if (req.method === 'HEAD') return res.writeHead(200, { 'content-length': body.length, 'accept-ranges': 'bytes' }).end();
      const m = /bytes=(\d+)-(\d*)/.exec(req.headers.range ?? '');
      if (!m) {
        served.full++;
        served.bytes += body.length;
        return res.writeHead(200, { 'content-length': body.length }).end(body);
      }
      const start = Number(m[1]);
      const end = m[2] ? Math.min(Number(m[2]), body.length - 1) : body.length - 1;
      served.ranges++;
      served.bytes += end - start + 1;
      res
        .writeHead(206, { 'content-range': `bytes ${start}-${end}/${body.length}`, 'content-length': end - start + 1 })
        .end(body.subarray(start, end + 1));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('reads the first N qualifying documents of the text column in file order', async () => {
    const src = parquetSource(`${base}/shard.parquet`, { window: 40 });
    const docs = await src.fetchDocs(120);
    expect(docs).toEqual(expectedDocs(120));
    expect(src.id).toBe(`parquet:${base}/shard.parquet#text`);
    // a second call on the same source reuses the footer and returns the same prefix
    expect(await src.fetchDocs(7)).toEqual(expectedDocs(7));
  });

  it('downloads only part of the file for a small N (range requests, no full GET)', async () => {
    served.bytes = 0;
    served.ranges = 0;
    served.full = 0;
    const docs = await parquetSource(`${base}/shard.parquet`, { window: 20 }).fetchDocs(5);
    expect(docs).toEqual(expectedDocs(5));
    expect(served.full).toBe(0);
    expect(served.ranges).toBeGreaterThan(0);
    expect(served.bytes).toBeLessThan(file.length / 2);
  });

  it('errors name the URL: HTTP 404, not a parquet file, missing column', async () => {
    await expect(parquetSource(`${base}/missing.parquet`).fetchDocs(1)).rejects.toThrow(`parquet ${base}/missing.parquet: cannot open`);
    await expect(parquetSource(`${base}/missing.parquet`).fetchDocs(1)).rejects.toThrow(/404/);
    await expect(parquetSource(`${base}/notparquet.parquet`).fetchDocs(1)).rejects.toThrow(
      /notparquet\.parquet: cannot read the footer \(parquet file invalid/,
    );
    await expect(parquetSource(`${base}/shard.parquet`, { column: 'content' }).fetchDocs(1)).rejects.toThrow(
      /no column "content" \(columns: text, id\)/,
    );
  });
});

describe('cachedSource', () => {
  it('serves any prefix of a stored shard; fetches again only for more documents', async () => {
    const calls: number[] = [];
    const inner: FinewebSource = {
      id: 'fake',
      async fetchDocs(n, o = {}) {
        calls.push(n);
        return expectedDocs(n).map((d) => d.slice(0, o.maxChars ?? 2000));
      },
    };
    const store = new MemoryShardStore();
    const src = cachedSource(inner, store);
    expect(await src.fetchDocs(20)).toEqual(expectedDocs(20));
    expect(await src.fetchDocs(10)).toEqual(expectedDocs(10));
    expect(calls).toEqual([20]);
    expect(await src.fetchDocs(30)).toEqual(expectedDocs(30));
    expect(calls).toEqual([20, 30]);
    // a different length rule is a different shard
    await src.fetchDocs(5, { maxChars: 150 });
    expect(calls).toEqual([20, 30, 5]);
    expect(store.names().sort()).toEqual(['fake|min=100|max=150', 'fake|min=100|max=2000']);
  });
});
