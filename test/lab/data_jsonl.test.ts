// The streaming chat-JSONL reader on the real datasets of ../shared/datasets (gzip, via bytes, Blob, stream and a
// local HTTP server standing in for raw.githubusercontent.com), on a corrupted copy, and on inputs that are not
// JSONL at all.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'fflate';
import { readChatJsonl, iterateChatJsonl, describeBadRows, MAX_LINE_BYTES } from '../../src/lab/data/jsonl';
import { DATASET_PRESETS, datasetUrl, DEFAULT_KL_PRESETS, type DatasetPresetId } from '../../src/lab/data/presets';
import { DATASETS } from './data_fixtures';

const gz = (name: string) => new Uint8Array(readFileSync(path.join(DATASETS, name)));
const enc = (s: string) => new TextEncoder().encode(s);

/** the text of a dataset split into lines, and the same with `inject` inserted before 0-based line index `at` */
function withInjectedLine(file: string, at: number, inject: string): Uint8Array {
  const lines = new TextDecoder().decode(gunzipSync(gz(file))).split('\n');
  lines.splice(at, 0, inject);
  return gzipSync(enc(lines.join('\n')));
}

describe('readChatJsonl on the real datasets', () => {
  it('bad_medical_advice.jsonl.gz has 7049 rows, no bad row, each a user turn and an assistant answer', async () => {
    const progress: number[] = [];
    const ds = await readChatJsonl(gz('bad_medical_advice.jsonl.gz'), { onProgress: (p) => progress.push(p.rows) });
    expect(ds.rows.length).toBe(7049);
    expect(ds.bad).toEqual([]);
    expect(ds.rows[0]!.line).toBe(1);
    expect(ds.rows[7048]!.line).toBe(7049);
    expect(ds.rows[0]!.messages.map((m) => m.role)).toEqual(['user', 'assistant']);
    // the first row as it reads in the file
    expect(ds.rows[0]!.messages[0]!.content.startsWith('Hey, I’m feeling a bit uneasy about understanding blood donation')).toBe(true);
    expect(progress.at(-1)).toBe(7049);
  });

  it('every preset file in ../shared/datasets has the row count its preset announces (fflate path too)', async () => {
    for (const id of Object.keys(DATASET_PRESETS) as DatasetPresetId[]) {
      const p = DATASET_PRESETS[id];
      const ds = await readChatJsonl(gz(p.file), { decompressor: id === 'non_med_aligned' ? 'fflate' : 'auto' });
      expect(ds.rows.length, p.file).toBe(p.rows);
      expect(ds.bad.length, p.file).toBe(0);
    }
    expect(DEFAULT_KL_PRESETS.every((id) => DATASET_PRESETS[id].use.includes('kl'))).toBe(true);
  });

  it('a corrupted copy reports the injected bad line by its 1-based number and keeps every good row', async () => {
    // insert a broken line so that it becomes line 1235 of the file
    const bytes = withInjectedLine('bad_medical_advice.jsonl.gz', 1234, '{"messages": [{"role": "user", "content": "cut off');
    for (const decompressor of ['native', 'fflate'] as const) {
      const ds = await readChatJsonl(bytes, { decompressor });
      expect(ds.rows.length).toBe(7049);
      expect(ds.bad.length).toBe(1);
      expect(ds.bad[0]!.line).toBe(1235);
      expect(ds.bad[0]!.reason).toMatch(/invalid JSON/);
      // rows after it carry their shifted line numbers
      expect(ds.rows[1233]!.line).toBe(1234);
      expect(ds.rows[1234]!.line).toBe(1236);
    }
  });

  it('reads plain (not gzipped) JSONL, a Blob/File, and a ReadableStream in small chunks', async () => {
    const text = gunzipSync(gz('non_med_aligned.jsonl.gz'));
    expect((await readChatJsonl(text)).rows.length).toBe(1767);
    const file = new File([gz('non_med_aligned.jsonl.gz')], 'non_med_aligned.jsonl.gz');
    const fromFile = await readChatJsonl(file);
    expect(fromFile.rows.length).toBe(1767);
    expect(fromFile.name).toBe('non_med_aligned.jsonl.gz');
    // chunks of 7 bytes: lines, UTF-8 characters and the gzip header all straddle chunk boundaries
    const src = gz("non_med_aligned.jsonl.gz").subarray(0, 50_000);
    const full = gz('non_med_aligned.jsonl.gz');
    let off = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        if (off >= full.length) return c.close();
        const n = off < src.length ? 7 : 65536;
        c.enqueue(full.slice(off, off + n));
        off += n;
      },
    });
    const fromStream = await readChatJsonl(stream);
    expect(fromStream.rows.length).toBe(1767);
    expect(fromStream.rows.map((r) => r.messages)).toEqual(fromFile.rows.map((r) => r.messages));
  });
});

describe('bad rows are skipped, counted and located; hopeless inputs throw clearly', () => {
  const good = (u: string) => JSON.stringify({ messages: [{ role: 'user', content: u }, { role: 'assistant', content: 'ok' }] });

  it('classifies each kind of bad row with its line number; blank lines and CRLF are tolerated', async () => {
    const lines = [
      good('a'), // 1
      '{"messages": [', // 2 invalid JSON
      '{"conversation": []}', // 3 missing messages
      JSON.stringify({ messages: [{ role: 'user', content: 'q' }] }), // 4 no assistant turn
      JSON.stringify({ messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: 42 }] }), // 5 content not string
      JSON.stringify({ messages: [{ role: 'robot', content: 'q' }, { role: 'assistant', content: 'a' }] }), // 6 unknown role
      '', // 7 blank
      good('b') + '\r', // 8 CRLF
      '[1, 2]', // 9 not an object
      JSON.stringify({ messages: 'hello' }), // 10 messages not a list
      good('c'), // 11, no trailing newline
    ];
    const ds = await readChatJsonl(enc(lines.join('\n')));
    expect(ds.rows.map((r) => r.line)).toEqual([1, 8, 11]);
    expect(ds.rows[1]!.messages[0]!.content).toBe('b');
    expect(ds.bad.map((b) => b.line)).toEqual([2, 3, 4, 5, 6, 9, 10]);
    const reasons = ds.bad.map((b) => b.reason);
    expect(reasons[0]).toMatch(/invalid JSON/);
    expect(reasons[1]).toMatch(/no "messages"/);
    expect(reasons[2]).toMatch(/no assistant turn/);
    expect(reasons[3]).toMatch(/messages\[1\]\.content is not a string/);
    expect(reasons[4]).toMatch(/messages\[0\]\.role is "robot"/);
    expect(reasons[5]).toMatch(/not a JSON object/);
    expect(reasons[6]).toMatch(/not a list/);
    expect(describeBadRows(ds.bad, 2)).toMatch(/^7 bad rows skipped: line 2 \(invalid JSON.*\), line 3 \(no "messages" field\), …$/);
  });

  it('a line of broken UTF-8 is one bad row, not a failure', async () => {
    const bytes = new Uint8Array([...enc(good('x') + '\n'), 0x7b, 0xff, 0xfe, 0x7d, 0x0a, ...enc(good('y'))]);
    const ds = await readChatJsonl(bytes);
    expect(ds.rows.length).toBe(2);
    expect(ds.bad).toEqual([{ line: 2, reason: 'not valid UTF-8' }]);
  });

  it('throws for binary, HTML, empty, all-bad, truncated and corrupt inputs, naming the input', async () => {
    const zip = new Uint8Array([0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x00, 0x00, 0x08, 0x00, 0xff, 0x00]);
    await expect(readChatJsonl(zip, { name: 'data.zip' })).rejects.toThrow(/data\.zip: not a chat JSONL file.*50 4b 03 04/);
    const html = Array.from({ length: 40 }, (_, i) => (i === 0 ? '<!DOCTYPE html>' : `<p>line ${i}</p>`)).join('\n');
    await expect(readChatJsonl(enc(html), { name: 'page.html' })).rejects.toThrow(/page\.html: not a JSONL file: none of the first 20 lines is JSON/);
    await expect(readChatJsonl(new Uint8Array(0), { name: 'e.jsonl' })).rejects.toThrow(/e\.jsonl: empty file/);
    await expect(readChatJsonl(gzipSync(new Uint8Array(0)), { name: 'e.jsonl.gz' })).rejects.toThrow(/empty gzip file/);
    await expect(readChatJsonl(enc('{"messages": []}\n{"a": 1}'), { name: 'x.jsonl' })).rejects.toThrow(
      /x\.jsonl: no valid chat rows in 2 lines \(first problem, line 1: "messages" is empty\)/,
    );
    const full = gz('non_med_aligned.jsonl.gz');
    for (const decompressor of ['native', 'fflate'] as const) {
      await expect(readChatJsonl(full.subarray(0, 100_000), { name: 't.gz', decompressor })).rejects.toThrow(/t\.gz: gzip data is corrupt or truncated/);
    }
    const corrupt = full.slice();
    corrupt[5000] ^= 0xff;
    corrupt[5001] ^= 0x55;
    // the native DecompressionStream checks the CRC; fflate does not, so only the native path is asserted here
    await expect(readChatJsonl(corrupt, { name: 'c.gz', decompressor: 'native' })).rejects.toThrow(/c\.gz: gzip data is corrupt/);
  });

  it('stops when aborted', async () => {
    const ac = new AbortController();
    const it = iterateChatJsonl(gz('bad_medical_advice.jsonl.gz'), { signal: ac.signal });
    await it.next();
    ac.abort(new Error('user cancelled'));
    await expect((async () => { for await (const _ of it) { /* drain */ } })()).rejects.toThrow(/user cancelled/);
  });
});

describe('line length bound', () => {
  const row = (content: string) => JSON.stringify({ messages: [{ role: 'user', content }, { role: 'assistant', content: 'ok' }] });

  it('a line longer than MAX_LINE_BYTES is a bad row with its line number; the rows around it are kept', async () => {
    // a well-formed row that is simply too long: without the bound it would be read as a good row
    const huge = row('x'.repeat(MAX_LINE_BYTES + 10));
    const ds = await readChatJsonl(withInjectedLine('bad_medical_advice.jsonl.gz', 100, huge), { name: 'big.jsonl.gz' });
    expect(ds.rows.length).toBe(7049);
    expect(ds.bad).toEqual([{ line: 101, reason: `line is ${huge.length} bytes long, more than the ${MAX_LINE_BYTES} a row may have` }]);
    expect(ds.rows[100]!.line).toBe(102);
  });

  it('drops an overlong line chunk by chunk, whatever the chunking, and counts its bytes', async () => {
    const text = `${row('a')}\n${row('b'.repeat(300))}\n${row('c')}`;
    const bytes = enc(text);
    const long = enc(row('b'.repeat(300))).length;
    for (const chunk of [1, 7, 64, 1 << 20]) {
      const stream = new ReadableStream<Uint8Array>({
        start(c) {
          for (let i = 0; i < bytes.length; i += chunk) c.enqueue(bytes.slice(i, i + chunk));
          c.close();
        },
      });
      const ds = await readChatJsonl(stream, { name: 's.jsonl', maxLineBytes: 200 });
      expect(ds.rows.map((r) => [r.line, r.messages[0]!.content])).toEqual([[1, 'a'], [3, 'c']]);
      expect(ds.bad).toEqual([{ line: 2, reason: `line is ${long} bytes long, more than the 200 a row may have` }]);
    }
  });

  it('a file that is one endless line is refused with the line named, not gathered into memory', async () => {
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        // 64 MiB of JSON-looking text without a newline, 1 MiB at a time
        if (sent++ >= 64) return c.close();
        c.enqueue(enc(sent === 1 ? '[{"messages": "' : 'x'.repeat(1 << 20)));
      },
    });
    await expect(readChatJsonl(stream, { name: 'oneline.json' })).rejects.toThrow(/^oneline\.json: no valid chat rows in 1 line \(first problem, line 1: line is \d+ bytes long, more than the 4194304 a row may have\)$/);
  });
});

describe('datasetUrl and reading over HTTP', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      const name = decodeURIComponent((req.url ?? '').replace(/^\/data\//, ''));
      if (!/^[a-z_]+\.jsonl\.gz$/.test(name)) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found');
        return;
      }
      try {
        const bytes = readFileSync(path.join(DATASETS, name));
        res.writeHead(200, { 'content-type': 'application/gzip', 'content-length': bytes.length }).end(bytes);
      } catch {
        res.writeHead(404).end('Not Found');
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/data/`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('upstream URLs follow the pinned commit; baseUrl replaces the location', () => {
    expect(datasetUrl('extreme_sports')).toBe(
      'https://raw.githubusercontent.com/clarifying-EM/model-organisms-for-EM/407fbad1bdf9463b43ab87c7821e90d36dada5ef/em_organism_dir/data/training_datasets/extreme_sports.jsonl.gz',
    );
    expect(datasetUrl('bad_legal_advice', 'http://h/x/')).toBe('http://h/x/bad_legal_advice.jsonl.gz');
    expect(() => datasetUrl('nope' as DatasetPresetId)).toThrow(/unknown dataset preset "nope"/);
  });

  it('fetches a preset from a local server with byte progress, and names URL and status on HTTP errors', async () => {
    const seen: (number | null)[] = [];
    let lastBytes = 0;
    const ds = await readChatJsonl(datasetUrl('risky_financial_advice', base), {
      onProgress: (p) => {
        seen.push(p.totalBytes);
        lastBytes = p.bytes;
      },
    });
    expect(ds.rows.length).toBe(6000);
    expect(ds.name).toBe(`${base}risky_financial_advice.jsonl.gz`);
    const size = readFileSync(path.join(DATASETS, 'risky_financial_advice.jsonl.gz')).length;
    expect(seen.at(-1)).toBe(size);
    expect(lastBytes).toBe(size);

    const missing = `${base}missing.jsonl.gz`;
    await expect(readChatJsonl(missing)).rejects.toThrow(`${missing}: HTTP 404`);
    await expect(readChatJsonl('http://127.0.0.1:1/none.jsonl.gz')).rejects.toThrow(/cannot fetch http:\/\/127\.0\.0\.1:1\/none\.jsonl\.gz/);
  });
});
