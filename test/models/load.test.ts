// FileSource (folder, Hub over HTTP) and loadModel: a local node:http server plays the Hub
// (`/<repo>/resolve/<revision>/<path>`) serving ../shared/reference/qwen2-hub (and the other fixture folders as
// test/<name>), plus a private repo (401 without the right token), a truncated body, a server error; loadModel's
// format choice, shards, an offline browser with a cached export, and error messages.

import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dirSource, hubSource, type FileSource } from '../../src/models/file_source';
import { loadModel } from '../../src/models/load';
import { readSafetensors, writeSafetensors } from '../../src/models/safetensors';
import type { ModelWeights } from '../../src/models/weights';

const REF = path.resolve(__dirname, '../../../shared/reference');
const HUB_DIR = path.join(REF, 'qwen2-hub');

const sameBytes = (a: Float32Array, b: Float32Array) => Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
const dataOf = (w: unknown) => (w as { data: Float32Array }).data;

/** Same weights, compared on the tensors the loaders could mix up (embedding, a projection, a bias, a norm). */
function expectSameWeights(a: ModelWeights, b: ModelWeights) {
  expect(a.layers.length).toBe(b.layers.length);
  expect(sameBytes(dataOf(a.embed), dataOf(b.embed))).toBe(true);
  for (let i = 0; i < a.layers.length; i++) {
    expect(sameBytes(dataOf(a.layers[i]!.down), dataOf(b.layers[i]!.down)), `layer ${i} down`).toBe(true);
    expect(sameBytes(a.layers[i]!.qBias!.data, b.layers[i]!.qBias!.data), `layer ${i} qBias`).toBe(true);
    expect(sameBytes(a.layers[i]!.postAttnNorm.data, b.layers[i]!.postAttnNorm.data), `layer ${i} norm`).toBe(true);
  }
}

interface Req {
  method: string;
  url: string;
  auth?: string;
}

let server: http.Server;
let base: string;
const requests: Req[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    requests.push({ method: req.method!, url: url.pathname, auth: req.headers.authorization });
    const m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(decodeURIComponent(url.pathname));
    if (!m) return void res.writeHead(400).end();
    const [, repo, , file] = m;
    if (repo === 'test/broken') return void res.writeHead(500).end();
    if (repo === 'test/cut') {
      // promise 1000 bytes, send 10, hang up
      res.writeHead(200, { 'content-length': '1000' });
      res.write(new Uint8Array(10));
      return void setTimeout(() => res.destroy(), 20);
    }
    if (repo === 'test/private' && req.headers.authorization !== 'Bearer good-token') return void res.writeHead(401).end();
    // test/private is qwen2-hub behind a token; test/<name> is ../shared/reference/<name>
    const dir = repo === 'test/private' ? HUB_DIR : path.join(REF, repo!.slice('test/'.length));
    const p = path.join(dir, file!);
    if (!repo!.startsWith('test/') || !p.startsWith(REF + path.sep) || !statSync(p, { throwIfNoEntry: false })?.isFile()) return void res.writeHead(404).end();
    const body = readFileSync(p);
    res.writeHead(200, { 'content-length': String(body.byteLength), 'content-type': 'application/octet-stream' });
    if (req.method === 'HEAD') return void res.end();
    // in several chunks, so progress has steps to report
    const step = 1 << 20;
    for (let o = 0; o < body.byteLength; o += step) res.write(body.subarray(o, o + step));
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('hubSource', () => {
  it('loads the same model as the folder, reporting streamed progress', async () => {
    const fromDir = await loadModel(dirSource(HUB_DIR));
    const progress: { path: string; loaded: number; total?: number }[] = [];
    const fromHub = await loadModel(hubSource('test/qwen2-hub', { baseUrl: base }), { onProgress: (p) => progress.push({ ...p }) });
    expect(fromHub.format).toBe('safetensors');
    expect(fromHub.config).toEqual(fromDir.config);
    expectSameWeights(fromHub.weights, fromDir.weights);
    const size = statSync(path.join(HUB_DIR, 'model.safetensors')).size;
    expect(fromHub.bytes).toBe(size + statSync(path.join(HUB_DIR, 'config.json')).size);
    const st = progress.filter((p) => p.path === 'model.safetensors');
    expect(st.length).toBeGreaterThan(2);
    expect(st.every((p) => p.total === size)).toBe(true);
    expect(st.every((p, i) => i === 0 || p.loaded > st[i - 1]!.loaded)).toBe(true);
    expect(st.at(-1)!.loaded).toBe(size);
  });

  it('sends the token and the revision', async () => {
    requests.length = 0;
    const src = hubSource('test/private', { baseUrl: base, token: 'good-token', revision: 'v1.0' });
    expect(await src.has('config.json')).toBe(true);
    const cfg = JSON.parse(new TextDecoder().decode(await src.get('config.json')));
    expect(cfg.model_type).toBe('qwen2');
    expect(requests).toEqual([
      { method: 'HEAD', url: '/test/private/resolve/v1.0/config.json', auth: 'Bearer good-token' },
      { method: 'GET', url: '/test/private/resolve/v1.0/config.json', auth: 'Bearer good-token' },
    ]);
  });

  it('explains gated repos, missing files, truncated bodies, server errors and no network', async () => {
    const gated = /test\/private is a gated or private repository \(HTTP 401 for config.json\): accept the license on the Hub and set a token/;
    await expect(hubSource('test/private', { baseUrl: base }).get('config.json')).rejects.toThrow(gated);
    await expect(hubSource('test/private', { baseUrl: base }).has('config.json')).rejects.toThrow(gated);
    await expect(loadModel(hubSource('test/private', { baseUrl: base }))).rejects.toThrow(gated);
    await expect(hubSource('test/private', { baseUrl: base, token: 'wrong' }).get('config.json')).rejects.toThrow(/the token given was refused/);
    const hub = hubSource('test/qwen2-hub', { baseUrl: base });
    await expect(hub.get('onnx/model.onnx')).rejects.toThrow(/^test\/qwen2-hub has no file onnx\/model.onnx \(HTTP 404\)$/);
    expect(await hub.has('onnx/model.onnx')).toBe(false);
    await expect(hubSource('test/cut', { baseUrl: base }).get('model.safetensors')).rejects.toThrow(/download of test\/cut\/model.safetensors is truncated/);
    await expect(hubSource('test/broken', { baseUrl: base }).get('config.json')).rejects.toThrow(/test\/broken\/config.json: HTTP 500/);
    // a port nobody listens on: the server we just closed
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const dead = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise((r) => closed.close(r));
    await expect(hubSource('test/qwen2-hub', { baseUrl: dead }).get('config.json')).rejects.toThrow(/could not reach http:\/\/127.0.0.1:\d+ for test\/qwen2-hub\/config.json/);
    await expect(hubSource('test/qwen2-hub', { baseUrl: dead }).has('config.json')).rejects.toThrow(/could not reach/);
    expect(() => hubSource('not a repo')).toThrow(/"not a repo" is not a Hub repository id/);
  });

  it('offline with a cached ONNX export: failed probes count as absent, the cached file loads', async () => {
    // a fetch that only reaches what a browser cache would hold, and fails like an offline fetch otherwise
    const cached = new Set(['config.json', 'model_q4.onnx']);
    const offline: typeof fetch = async (input, init) => {
      const url = String(input);
      if (![...cached].some((f) => url.endsWith(`/resolve/main/${f}`))) throw new TypeError('fetch failed');
      return fetch(input, init);
    };
    const r = await loadModel(hubSource('test/gemma2', { baseUrl: base, fetch: offline }));
    expect(r.format).toBe('onnx (model_q4.onnx)');
    expect(r.weights.layers[3]!.down.kind).toBe('q4');
    cached.delete('model_q4.onnx');
    await expect(loadModel(hubSource('test/gemma2', { baseUrl: base, fetch: offline }))).rejects.toThrow(
      /test\/gemma2: found no weights it could reach \(looked for model.safetensors, .*\); could not reach http:\/\/127.0.0.1:\d+ for test\/gemma2\/model.safetensors: fetch failed/,
    );
    cached.delete('config.json');
    await expect(loadModel(hubSource('test/gemma2', { baseUrl: base, fetch: offline }))).rejects.toThrow(/could not reach .* for test\/gemma2\/config.json/);
  });
});

/** Files held in memory (what a browser cache would hand over). */
function memSource(id: string, files: Record<string, Uint8Array>): FileSource {
  return {
    id,
    get: async (p) => {
      if (!(p in files)) throw new Error(`${id} has no file ${p}`);
      return files[p]!;
    },
    has: async (p) => p in files,
  };
}

describe('loadModel', () => {
  it('reads sharded checkpoints through model.safetensors.index.json', async () => {
    const bytes = new Uint8Array(readFileSync(path.join(REF, 'qwen2', 'model.safetensors')));
    const all = readSafetensors(bytes);
    const shards: Record<string, Record<string, { shape: number[]; data: Float32Array }>> = { 'model-00001-of-00002.safetensors': {}, 'model-00002-of-00002.safetensors': {} };
    const weightMap: Record<string, string> = {};
    for (const [name, t] of all) {
      const shard = /layers\.[23]\.|norm\.weight$|^model\.norm/.test(name) ? 'model-00002-of-00002.safetensors' : 'model-00001-of-00002.safetensors';
      shards[shard]![name] = t;
      weightMap[name] = shard;
    }
    const files: Record<string, Uint8Array> = {
      'config.json': new Uint8Array(readFileSync(path.join(REF, 'qwen2', 'config.json'))),
      'model.safetensors.index.json': new TextEncoder().encode(JSON.stringify({ metadata: {}, weight_map: weightMap })),
    };
    for (const [name, ts] of Object.entries(shards)) files[name] = writeSafetensors(ts);
    const sharded = await loadModel(memSource('mem/sharded', files));
    expect(sharded.format).toBe('safetensors (sharded)');
    const single = await loadModel(dirSource(path.join(REF, 'qwen2')));
    expect(single.format).toBe('safetensors');
    expectSameWeights(sharded.weights, single.weights);
    expect(sameBytes(sharded.weights.finalNorm.data, single.weights.finalNorm.data)).toBe(true);

    delete files['model-00002-of-00002.safetensors'];
    await expect(loadModel(memSource('mem/sharded', files))).rejects.toThrow(/mem\/sharded has no file model-00002-of-00002.safetensors/);
    files['model.safetensors.index.json'] = new TextEncoder().encode('{"weight_map": ');
    await expect(loadModel(memSource('mem/sharded', files))).rejects.toThrow(/mem\/sharded\/model.safetensors.index.json is not valid JSON/);
  });

  it('picks safetensors, or the ONNX export when preferred or named', async () => {
    const dir = path.join(REF, 'gemma2');
    expect((await loadModel(dirSource(dir))).format).toBe('safetensors');
    const q4 = await loadModel(dirSource(dir), { prefer: 'onnx' });
    expect(q4.format).toBe('onnx (model_q4.onnx)');
    expect(q4.weights.layers[0]!.q.kind).toBe('q4');
    const fp = await loadModel(dirSource(dir), { onnxFile: 'model.onnx' });
    expect(fp.format).toBe('onnx (model.onnx)');
    expect(fp.weights.layers[0]!.q.kind).toBe('dense');
  });

  it('says what is missing', async () => {
    await expect(loadModel(dirSource(path.join(REF, '..', 'datasets')))).rejects.toThrow(/datasets has no config.json/);
    const dir = mkdtempSync(path.join(tmpdir(), 'steerlab-noweights-'));
    writeFileSync(path.join(dir, 'config.json'), readFileSync(path.join(REF, 'qwen2', 'config.json')));
    await expect(loadModel(dirSource(dir))).rejects.toThrow(
      /has no weights steerlab can read \(looked for model.safetensors, model.safetensors.index.json, onnx\/model_q4f16.onnx, onnx\/model_q4.onnx, onnx\/model.onnx, .*model_q4.onnx, model.onnx\)/,
    );
    writeFileSync(path.join(dir, 'config.json'), '{"model_type": "qwen2",');
    await expect(loadModel(dirSource(dir))).rejects.toThrow(/config.json is not valid JSON/);
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ model_type: 'phi3' }));
    await expect(loadModel(dirSource(dir))).rejects.toThrow(/model_type 'phi3' is not supported/);
  });
});
