import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFixtureServer, type FixtureServer } from '../scripts/fixture-server';

const shared = path.resolve(__dirname, '../../shared');
let s: FixtureServer;
beforeAll(async () => {
  s = await startFixtureServer();
});
afterAll(() => s?.close());

describe('fixture server: hub files', () => {
  const cfg = path.join(shared, 'reference/qwen2-hub/config.json');
  const model = path.join(shared, 'reference/qwen2-hub/model.safetensors');

  it('serves repo files with length, ETag and CORS; HEAD has no body', async () => {
    const r = await fetch(`${s.url}/test/qwen2-hub/resolve/main/config.json`);
    expect(r.status).toBe(200);
    expect(r.headers.get('access-control-allow-origin')).toBe('*');
    expect(r.headers.get('accept-ranges')).toBe('bytes');
    expect(Number(r.headers.get('content-length'))).toBe(statSync(cfg).size);
    expect(JSON.parse(await r.text())).toEqual(JSON.parse(readFileSync(cfg, 'utf8')));
    const h = await fetch(`${s.url}/test/qwen2-hub/resolve/main/model.safetensors`, { method: 'HEAD' });
    expect(h.status).toBe(200);
    expect(Number(h.headers.get('content-length'))).toBe(statSync(model).size);
    expect((await h.arrayBuffer()).byteLength).toBe(0);
    const again = await fetch(`${s.url}/test/qwen2-hub/resolve/main/config.json`, { headers: { 'If-None-Match': r.headers.get('etag')! } });
    expect(again.status).toBe(304);
  });

  it('answers byte ranges exactly (the safetensors header read pattern)', async () => {
    const bytes = readFileSync(model);
    const head = await fetch(`${s.url}/test/qwen2-hub/resolve/main/model.safetensors`, { headers: { Range: 'bytes=0-7' } });
    expect(head.status).toBe(206);
    expect(head.headers.get('content-range')).toBe(`bytes 0-7/${bytes.length}`);
    const n = Number(Buffer.from(await head.arrayBuffer()).readBigUInt64LE(0));
    const hdr = await fetch(`${s.url}/test/qwen2-hub/resolve/main/model.safetensors`, { headers: { Range: `bytes=8-${8 + n - 1}` } });
    expect(Buffer.from(await hdr.arrayBuffer())).toEqual(bytes.subarray(8, 8 + n));
    const tail = await fetch(`${s.url}/test/qwen2-hub/resolve/main/model.safetensors`, { headers: { Range: 'bytes=-5' } });
    expect(Buffer.from(await tail.arrayBuffer())).toEqual(bytes.subarray(bytes.length - 5));
    const open = await fetch(`${s.url}/test/qwen2-hub/resolve/main/model.safetensors`, { headers: { Range: `bytes=${bytes.length - 3}-` } });
    expect(Number(open.headers.get('content-length'))).toBe(3);
    const bad = await fetch(`${s.url}/test/qwen2-hub/resolve/main/model.safetensors`, { headers: { Range: `bytes=${bytes.length}-` } });
    expect(bad.status).toBe(416);
    expect(bad.headers.get('content-range')).toBe(`bytes */${bytes.length}`);
  });

  it('says what is missing, and does not leave its folders', async () => {
    const nf = await fetch(`${s.url}/test/qwen2-hub/resolve/main/nope.json`);
    expect([nf.status, nf.headers.get('x-error-code')]).toEqual([404, 'EntryNotFound']);
    expect((await nf.json()).error).toMatch(/nope.json does not exist in test\/qwen2-hub/);
    const nr = await fetch(`${s.url}/someone/else/resolve/main/config.json`);
    expect([nr.status, nr.headers.get('x-error-code')]).toEqual([404, 'RepoNotFound']);
    const esc = await fetch(`${s.url}/test/qwen2-hub/resolve/main/%2E%2E%2F%2E%2E%2Fdatasets%2FSHA256SUMS`);
    expect(esc.status).toBe(404);
    const pre = await fetch(`${s.url}/test/qwen2-hub/resolve/main/config.json`, { method: 'OPTIONS' });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-headers')).toMatch(/Range/);
  });
});

describe('fixture server: datasets', () => {
  it('serves the dataset files by name', async () => {
    const r = await fetch(`${s.url}/datasets/steerlab/em/resolve/main/bad_medical_advice.jsonl.gz`);
    expect(r.status).toBe(200);
    const lines = gunzipSync(Buffer.from(await r.arrayBuffer())).toString('utf8').trim().split('\n');
    expect(lines.length).toBe(7049);
    expect(JSON.parse(lines[0]!).messages[0].role).toBe('user');
    expect((await fetch(`${s.url}/datasets/x/missing.jsonl.gz`)).status).toBe(404);
  });

  it('pages FineWeb-like rows the way the datasets-server does', async () => {
    const q = (o: number, l: number) => `${s.url}/rows?dataset=HuggingFaceFW/fineweb&config=sample-10BT&split=train&offset=${o}&length=${l}`;
    const a = await (await fetch(q(0, 25))).json();
    const b = await (await fetch(q(25, 100))).json();
    expect(a.num_rows_total).toBe(60);
    expect(a.rows.map((r: any) => r.row_idx)).toEqual([...Array(25).keys()]);
    expect(b.rows.length).toBe(35);
    expect(b.rows[0].row_idx).toBe(25);
    expect(a.features.map((f: any) => f.name)).toContain('text');
    const texts: string[] = [...a.rows, ...b.rows].map((r: any) => r.row.text);
    expect(new Set(texts).size).toBe(60);
    expect(texts.some((t) => t.length < 100)).toBe(true); // the Fig-6 filter has something to skip
    expect(texts.some((t) => t.length > 2000)).toBe(true); // and something to cut
    // the text is real dataset text (aligned answers), not invented
    const answers = new Set(
      gunzipSync(readFileSync(path.join(shared, 'datasets/good_medical_advice.jsonl.gz')))
        .toString('utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).messages.find((m: any) => m.role === 'assistant').content),
    );
    for (const k of [0, 2, 4]) for (const para of texts[k]!.split('\n\n')) expect(answers.has(para)).toBe(true);
    expect((await (await fetch(q(60, 10))).json()).rows).toEqual([]);
    const big = await fetch(q(0, 101));
    expect(big.status).toBe(422);
    expect((await big.json()).error).toMatch(/length' must not be greater than 100/);
    expect((await fetch(`${s.url}/rows?dataset=other/ds&offset=0&length=1`)).status).toBe(404);
    expect((await fetch(`${s.url}/rows?offset=0`)).status).toBe(422);
  });
});
