// Choosing the ONNX file before downloading: sizes from the Hub's tree listing with every external-data chunk
// counted, q4f16 where the adapter has shader-f16 (else q4), unsupported dtypes and files too big for the
// device's limits refused with the numbers. The listing comes from a local server playing the Hub's
// /api/models/<repo>/tree/<rev> endpoint (paged with a Link header, as the Hub pages long listings).

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chooseOnnxFile, deviceRefusal, dtypeFromName, onnxFilesOf, WASM_MEMORY_BYTES, type DeviceLimits } from '../../src/models/file_choice';
import { listDirFiles, listHubFiles, type ListedFile } from '../../src/models/file_listing';
import { preflightHub } from '../../src/models/preflight';
import { startFixtureServer } from '../../scripts/fixture-server';

/**
 * The onnx/ folder of a transformers.js export of Qwen2.5-0.5B-Instruct (q4 and q4f16 sizes as the registry has
 * them from the Hub listing; the others scaled from the parameter count), and Qwen2.5-1.5B's external-data fp32.
 */
const QWEN05: ListedFile[] = [
  { path: 'config.json', size: 700 },
  { path: 'tokenizer.json', size: 7_000_000 },
  { path: 'onnx/model.onnx', size: 1_990_000_000 },
  { path: 'onnx/model_fp16.onnx', size: 995_000_000 },
  { path: 'onnx/model_q4.onnx', size: 786_000_000 },
  { path: 'onnx/model_q4f16.onnx', size: 483_000_000 },
  { path: 'onnx/model_quantized.onnx', size: 500_000_000 },
  { path: 'onnx/model_int8.onnx', size: 500_000_000 },
  { path: 'onnx/model_uint8.onnx', size: 500_000_000 },
  { path: 'onnx/model_bnb4.onnx', size: 800_000_000 },
];
const DIMS_05 = { vocabSize: 151936, hiddenSize: 896 };
const GPU: DeviceLimits = { kind: 'webgpu', shaderF16: true, maxBufferSize: 4 * 1024 ** 3, maxStorageBufferBindingSize: 2 * 1024 ** 3 };

describe('onnxFilesOf', () => {
  it('names the dtype of every transformers.js suffix and counts external chunks in order', () => {
    expect(['onnx/model.onnx', 'onnx/model_fp16.onnx', 'onnx/model_q4.onnx', 'onnx/model_q4f16.onnx', 'onnx/model_quantized.onnx', 'onnx/model_int8.onnx', 'onnx/model_uint8.onnx', 'onnx/model_bnb4.onnx', 'model.onnx', 'decoder_model_merged.onnx'].map(dtypeFromName)).toEqual(
      ['fp32', 'fp16', 'q4', 'q4f16', 'q8', 'int8', 'uint8', 'bnb4', 'fp32', 'unknown'],
    );
    const files = onnxFilesOf([
      { path: 'onnx/model.onnx', size: 1000 },
      { path: 'onnx/model.onnx_data_10', size: 5 },
      { path: 'onnx/model.onnx_data', size: 100 },
      { path: 'onnx/model.onnx_data_2', size: 20 },
      { path: 'onnx/model.onnx_data_1', size: 10 },
      { path: 'onnx/model_fp16.onnx', size: 7 },
      { path: 'onnx/model_fp16.onnx_data', size: 70 },
      { path: 'genai/model.onnx', size: 3 },
      { path: 'genai/model.onnx.data', size: 30 },
    ]);
    const by = Object.fromEntries(files.map((f) => [f.file, f]));
    expect(by['onnx/model.onnx']!.chunks).toEqual(['onnx/model.onnx_data', 'onnx/model.onnx_data_1', 'onnx/model.onnx_data_2', 'onnx/model.onnx_data_10']);
    expect(by['onnx/model.onnx']!.bytes).toBe(1135);
    // model_fp16's chunk is its own, not model.onnx's
    expect(by['onnx/model_fp16.onnx']!).toMatchObject({ chunks: ['onnx/model_fp16.onnx_data'], bytes: 77 });
    expect(by['genai/model.onnx']!).toMatchObject({ chunks: ['genai/model.onnx.data'], bytes: 33 });
  });
});

describe('chooseOnnxFile', () => {
  it('prefers q4f16 with shader-f16, q4 without it and on wasm; q8 is listed with its refusal, bnb4 last', () => {
    const f16 = chooseOnnxFile(QWEN05, GPU, DIMS_05);
    expect(f16.choice).toMatchObject({ file: 'onnx/model_q4f16.onnx', dtype: 'q4f16', bytes: 483_000_000 });
    expect(f16.options.map((o) => o.dtype).slice(0, 4)).toEqual(['q4f16', 'q4', 'fp16', 'fp32']);
    expect(chooseOnnxFile(QWEN05, { ...GPU, shaderF16: false }, DIMS_05).choice?.file).toBe('onnx/model_q4.onnx');
    expect(chooseOnnxFile(QWEN05, { kind: 'wasm', shaderF16: false }, DIMS_05).choice?.file).toBe('onnx/model_q4.onnx');
    const q8 = f16.options.find((o) => o.dtype === 'q8')!;
    expect(q8.refusal).toBe('q8 MatMulInteger weights are not supported: choose q4 or q4f16');
    // bnb4 is read (dequantised to float32) but is never the default: 8× its download once loaded
    const bnb4 = f16.options.find((o) => o.dtype === 'bnb4')!;
    expect(bnb4.refusal).toBeUndefined();
    expect(f16.options.indexOf(bnb4)).toBeGreaterThan(f16.options.findIndex((o) => o.dtype === 'fp32'));
    expect(deviceRefusal(bnb4, { kind: 'wasm', shaderF16: false }, DIMS_05)).toMatch(/needs about 6400 MB of memory once loaded, more than wasm's 4 GiB/);
  });

  it('refuses before download a model whose embedding exceeds the GPU buffer limit, with the numbers', () => {
    // WebGPU's default limits: 256 MiB buffers, 128 MiB storage bindings; 151936 × 896 × 4 B = 544 MB
    const small: DeviceLimits = { kind: 'webgpu', shaderF16: true, maxBufferSize: 268435456, maxStorageBufferBindingSize: 134217728 };
    const r = chooseOnnxFile(QWEN05, small, DIMS_05);
    expect(r.choice).toBeUndefined();
    expect(r.reason).toContain('no file of this repository fits');
    const q4f16 = r.options.find((o) => o.dtype === 'q4f16')!;
    expect(q4f16.refusal).toBe(
      'onnx/model_q4f16.onnx (483 MB download) holds a 151936 × 896 embedding, 545 MB in float32, but this GPU allows at most 134 MB per buffer (maxStorageBufferBindingSize 134217728); use a smaller model',
    );
  });

  it("refuses on wasm what would not fit its 4 GiB, counting external chunks; fp16 is upcast", () => {
    const big: ListedFile[] = [
      { path: 'onnx/model.onnx', size: 400_000 },
      { path: 'onnx/model.onnx_data', size: 2_200_000_000 },
      { path: 'onnx/model.onnx_data_1', size: 2_200_000_000 },
      { path: 'onnx/model_fp16.onnx', size: 2_200_000_000 },
      { path: 'onnx/model_q4.onnx', size: 1_790_000_000 },
    ];
    const wasm: DeviceLimits = { kind: 'wasm', shaderF16: false };
    const r = chooseOnnxFile(big, wasm, { vocabSize: 151936, hiddenSize: 1536 });
    expect(r.choice?.file).toBe('onnx/model_q4.onnx');
    const fp32 = r.options.find((o) => o.dtype === 'fp32')!;
    expect(fp32.bytes).toBe(4_400_400_000);
    expect(fp32.refusal).toBe(`onnx/model.onnx (4400 MB download with 2 external-data files) needs about 4400 MB of memory once loaded, more than wasm's 4 GiB (${WASM_MEMORY_BYTES} bytes); use a smaller model or a browser with WebGPU`);
    // 2.2 GB of fp16 is 4.4 GB once upcast
    expect(r.options.find((o) => o.dtype === 'fp16')!.refusal).toMatch(/needs about 4400 MB of memory once loaded/);
    expect(deviceRefusal(r.choice!, wasm)).toBeNull();
  });
});

// ---- the Hub's tree listing, paged
let server: http.Server;
let base: string;
const served: string[] = [];
beforeAll(async () => {
  server = http.createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    served.push(url.pathname);
    // a Qwen2.5-0.5B-shaped repository: its listing and config.json (no weights are served: none may be asked for)
    if (url.pathname === '/api/models/big/qwen/tree/main') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(QWEN05.map((f) => ({ type: 'file', ...f }))));
    if (url.pathname === '/big/qwen/resolve/main/config.json') {
      return void res.writeHead(200).end(JSON.stringify({ model_type: 'qwen2', vocab_size: 151936, hidden_size: 896 }));
    }
    if (url.pathname === '/api/models/test/private/tree/main') return void res.writeHead(401).end();
    if (url.pathname !== '/api/models/onnx-community/tiny/tree/main' || url.searchParams.get('recursive') !== 'true') return void res.writeHead(404).end();
    const page2 = url.searchParams.get('cursor') === '2';
    const entries = page2
      ? [{ type: 'file', path: 'onnx/model_q4.onnx', size: 134, lfs: { size: 786_000_000 } }, { type: 'file', path: 'onnx/model_q4f16.onnx', size: 133, lfs: { size: 483_000_000 } }]
      : [{ type: 'directory', path: 'onnx' }, { type: 'file', path: 'config.json', size: 700 }];
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (!page2) headers.link = `<${base}/api/models/onnx-community/tiny/tree/main?recursive=true&cursor=2>; rel="next"`;
    res.writeHead(200, headers).end(JSON.stringify(entries));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('file listings', () => {
  it('reads the Hub tree listing across pages, with LFS sizes', async () => {
    const l = await listHubFiles('onnx-community/tiny', { baseUrl: base });
    expect(l).toEqual([
      { path: 'config.json', size: 700 },
      { path: 'onnx/model_q4.onnx', size: 786_000_000 },
      { path: 'onnx/model_q4f16.onnx', size: 483_000_000 },
    ]);
    expect(chooseOnnxFile(l, GPU).choice?.bytes).toBe(483_000_000);
  });

  it('says why a listing failed', async () => {
    await expect(listHubFiles('test/private', { baseUrl: base })).rejects.toThrow(/gated or private repository \(HTTP 401 for its file list\)/);
    await expect(listHubFiles('nobody/nothing', { baseUrl: base })).rejects.toThrow(/not a model repository .*HTTP 404/);
  });

  it('preflight picks the file for the device, and refuses a too-big model before any weight is downloaded', async () => {
    const hub = { baseUrl: base };
    expect((await preflightHub('big/qwen', hub, GPU)).file).toBe('onnx/model_q4f16.onnx');
    expect((await preflightHub('big/qwen', hub, { ...GPU, shaderF16: false })).file).toBe('onnx/model_q4.onnx');
    const small: DeviceLimits = { kind: 'webgpu', shaderF16: true, maxBufferSize: 268435456, maxStorageBufferBindingSize: 134217728 };
    served.length = 0;
    await expect(preflightHub('big/qwen', hub, small)).rejects.toThrow(/big\/qwen: no file of this repository fits: .*151936 × 896 embedding, 545 MB in float32, but this GPU allows at most 134 MB per buffer/);
    // a file asked for by name (the registry's) is checked too
    await expect(preflightHub('big/qwen', hub, small, 'onnx/model_q4.onnx')).rejects.toThrow(/onnx\/model_q4.onnx \(786 MB download\) holds a 151936 × 896 embedding/);
    await expect(preflightHub('big/qwen', hub, GPU, 'onnx/model_quantized.onnx')).rejects.toThrow(/q8 MatMulInteger weights are not supported: choose q4 or q4f16/);
    expect(served.filter((p) => p.endsWith('.onnx'))).toEqual([]);
    // without a listing (offline, or a server that has none) the loader's own order applies
    expect(await preflightHub('onnx-community/none', hub, GPU, 'onnx/model_q4.onnx')).toEqual({ file: 'onnx/model_q4.onnx' });
  });

  it('the fixture server plays the Hub listing of its folders (what the app and e2e tests list)', async () => {
    const dir = path.resolve(__dirname, '../../../shared/reference/qwen2');
    const fx = await startFixtureServer({ repos: { 'local/qwen2': dir } });
    try {
      const l = await listHubFiles('local/qwen2', { baseUrl: fx.url });
      expect(l).toEqual(await listDirFiles(dir).then((x) => expect.arrayContaining(x)));
      expect(l.length).toBe((await listDirFiles(dir)).length);
    } finally {
      await fx.close();
    }
  });

  it('lists a local folder recursively with sizes', async () => {
    const l = await listDirFiles(path.resolve(__dirname, '../../../shared/reference/qwen2'));
    expect(l.map((f) => f.path)).toContain('model_q4.onnx');
    expect(l.find((f) => f.path === 'model_q4.onnx')!.size).toBe(567170);
  });
});
