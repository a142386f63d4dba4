// Loading models: config parsing (both rope spellings), safetensors (f32/bf16, truncation), ONNX exports followed
// through the graph (fp32 and MatMulNBits q4), and the Hub source against a local server playing the Hub.

import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseHfConfig } from '../../src/models/config_parse';
import { dirSource, hubSource } from '../../src/models/file_source';
import { loadModel } from '../../src/models/load';
import { weightsFromOnnx } from '../../src/models/onnx_weights';
import { readSafetensors, readSafetensorsRaw, writeSafetensors } from '../../src/models/safetensors';
import { weightsFromSafetensors } from '../../src/models/safetensors_weights';
import type { LinearWeight, ModelWeights } from '../../src/models/weights';
import { startFixtureServer } from '../../scripts/fixture-server';

const REF = path.resolve(__dirname, '../../../shared/reference');
const cfgOf = (name: string) => JSON.parse(readFileSync(path.join(REF, name, 'config.json'), 'utf8'));

describe('parseHfConfig', () => {
  it('reads the transformers-5 spelling of every fixture', () => {
    const q2 = parseHfConfig(cfgOf('qwen2'));
    expect(q2).toMatchObject({ arch: 'qwen2', hiddenSize: 64, numLayers: 4, numHeads: 4, numKvHeads: 2, headDim: 16, qkvBias: true, oBias: false, qkNorm: false, activation: 'silu', tieEmbeddings: true });
    expect(q2.rope).toEqual({ theta: 1e6, type: 'default' });
    expect(q2.layerTypes).toEqual(['full', 'full', 'full', 'full']);
    const q3 = parseHfConfig(cfgOf('qwen3'));
    expect(q3.qkNorm).toBe(true);
    const g2 = parseHfConfig(cfgOf('gemma2'));
    expect(g2).toMatchObject({ arch: 'gemma2', attnSoftcap: 50, finalSoftcap: 30, slidingWindow: 8, sandwichNorms: true, normPlusOne: true, activation: 'gelu_tanh', embedScale: 8 });
    expect(g2.attnScale).toBeCloseTo(16 ** -0.5, 12);
    expect(g2.layerTypes).toEqual(['sliding', 'full', 'sliding', 'full']);
    const g3 = parseHfConfig(cfgOf('gemma3'));
    expect(g3.rope.theta).toBe(1e6);
    expect(g3.ropeLocal?.theta).toBe(1e4);
    expect(g3.attnSoftcap).toBeUndefined();
  });

  it('rounds Gemma embed scale to a bf16 checkpoint dtype, as HF does', () => {
    const g = parseHfConfig(cfgOf('gemma3-hub'));
    expect(g.bufferDtype).toBe('bfloat16');
    expect(Math.sqrt(24)).toBeCloseTo(4.899, 3);
    expect(g.embedScale).toBe(4.90625); // sqrt(24) to 8 significant bits
  });

  it('reads the transformers-4 spelling (top-level rope_theta, rope_scaling, rope_local_base_freq)', () => {
    const c = cfgOf('qwen2');
    delete c.rope_parameters;
    c.rope_theta = 12345;
    expect(parseHfConfig(c).rope).toEqual({ theta: 12345, type: 'default' });
    const l = cfgOf('llama');
    delete l.rope_parameters;
    Object.assign(l, { rope_theta: 500000, rope_scaling: { rope_type: 'llama3', factor: 32, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 } });
    expect(parseHfConfig(l).rope).toEqual({ theta: 500000, type: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 });
    const g = cfgOf('gemma3');
    delete g.rope_parameters;
    delete g.layer_types;
    Object.assign(g, { rope_theta: 1e6, rope_local_base_freq: 1e4, sliding_window_pattern: 2 });
    const p = parseHfConfig(g);
    expect(p.ropeLocal?.theta).toBe(1e4);
    expect(p.layerTypes).toEqual(['sliding', 'full', 'sliding', 'full']);
  });

  it('names what is wrong', () => {
    expect(() => parseHfConfig({ ...cfgOf('qwen2'), model_type: 'gpt2' })).toThrow(/model_type 'gpt2' is not supported; steerlab builds qwen2, qwen3, llama, gemma2, gemma3_text/);
    const c = cfgOf('qwen2');
    delete c.hidden_size;
    expect(() => parseHfConfig(c)).toThrow(/field "hidden_size" must be a number/);
    expect(() => parseHfConfig({ ...cfgOf('qwen2'), num_key_value_heads: 3 })).toThrow(/not a multiple of num_key_value_heads 3/);
    expect(() => parseHfConfig([1, 2])).toThrow(/not a JSON object/);
  });
});

describe('safetensors', () => {
  it('widens bf16 exactly and keeps integer tensors', () => {
    const raw = readSafetensorsRaw(readFileSync(path.join(REF, 'qwen2-hub/reference.safetensors')));
    expect(raw.get('input_ids')!.data).toBeInstanceOf(Int32Array);
    const w = readSafetensors(readFileSync(path.join(REF, 'qwen2-hub/model.safetensors')));
    const e = w.get('model.embed_tokens.weight')!;
    expect(e.shape).toEqual([151936, 32]);
    // bf16 values have 16 zero low bits once widened
    const bits = new Uint32Array(e.data.buffer, e.data.byteOffset, 64);
    expect(bits.every((b) => (b & 0xffff) === 0)).toBe(true);
  });

  it('round-trips what it writes and names truncation', () => {
    const bytes = writeSafetensors({ a: { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) } }, { note: 'x' });
    expect(Array.from(readSafetensors(bytes).get('a')!.data)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(() => readSafetensors(bytes.subarray(0, bytes.length - 4))).toThrow(/is truncated: tensor a needs bytes/);
    expect(() => readSafetensors(new Uint8Array(4))).toThrow(/truncated/);
  });
});

function linearMatrix(w: LinearWeight): { N: number; K: number; data: Float32Array } {
  if (w.kind === 'dense') return { N: w.shape[0]!, K: w.shape[1]!, data: w.data };
  // reference dequantisation: value = (nibble − zero point) · scale per block of K, low nibble first
  const nb = Math.ceil(w.K / w.blockSize);
  const out = new Float32Array(w.N * w.K);
  const scales = w.scales as Float32Array;
  for (let n = 0; n < w.N; n++)
    for (let k = 0; k < w.K; k++) {
      const blk = Math.floor(k / w.blockSize);
      const byte = w.packed[(n * nb + blk) * (w.blockSize / 2) + Math.floor((k % w.blockSize) / 2)]!;
      const q = k % 2 === 0 ? byte & 15 : byte >> 4;
      out[n * w.K + k] = (q - 8) * scales[n * nb + blk]!;
    }
  return { N: w.N, K: w.K, data: out };
}

function compare(a: ModelWeights, b: ModelWeights, tol: (name: string, w: LinearWeight) => number) {
  const names = ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] as const;
  a.layers.forEach((la, i) => {
    for (const n of names) {
      const x = linearMatrix(la[n]);
      const y = linearMatrix(b.layers[i]![n]);
      expect([x.N, x.K]).toEqual([y.N, y.K]);
      let err = 0;
      for (let j = 0; j < x.data.length; j++) err = Math.max(err, Math.abs(x.data[j]! - y.data[j]!));
      expect(err, `layer ${i} ${n}`).toBeLessThanOrEqual(tol(n, la[n]));
    }
    for (const n of ['inputNorm', 'postAttnNorm', 'preFfnNorm', 'postFfnNorm', 'qNorm', 'kNorm', 'qBias', 'kBias', 'vBias'] as const) {
      expect(!!la[n], `layer ${i} ${n}`).toBe(!!b.layers[i]![n]);
      if (la[n]) expect(Math.max(...la[n]!.data.map((v, j) => Math.abs(v - b.layers[i]![n]!.data[j]!)))).toBeLessThanOrEqual(1e-6);
    }
  });
  expect(Math.max(...a.finalNorm.data.map((v, j) => Math.abs(v - b.finalNorm.data[j]!)))).toBeLessThanOrEqual(1e-6);
}

describe('ONNX exports, followed through the graph', () => {
  for (const arch of ['qwen2', 'qwen3', 'llama', 'gemma2', 'gemma3']) {
    it(`${arch}: model.onnx equals model.safetensors and model_q4.onnx is its 4-bit quantisation`, async () => {
      const cfg = parseHfConfig(cfgOf(arch));
      const st = weightsFromSafetensors(cfg, readSafetensors(readFileSync(path.join(REF, arch, 'model.safetensors'))));
      const fp = await weightsFromOnnx(cfg, readFileSync(path.join(REF, arch, 'model.onnx')));
      compare(fp, st, () => 1e-6);
      if (cfg.tieEmbeddings) expect(fp.lmHead).toBeUndefined(); // tied head recognised as the embedding
      else expect(fp.lmHead).toEqual(st.lmHead);
      const q4 = await weightsFromOnnx(cfg, readFileSync(path.join(REF, arch, 'model_q4.onnx')));
      expect(q4.layers[0]!.q.kind).toBe('q4');
      // symmetric 4-bit blocks hold −8s..7s with s = absmax/8: rounding costs ≤ s/2, a positive absmax up to s
      compare(q4, st, (_n, w) => (w.kind === 'q4' ? Math.max(...(w.scales as Float32Array)) + 1e-6 : 1e-6));
    });
  }

  it('reads initializers from external data files', async () => {
    const { encodeModel, decodeModel } = await import('../../src/engine/onnx/proto');
    const cfg = parseHfConfig(cfgOf('qwen2'));
    const m = decodeModel(readFileSync(path.join(REF, 'qwen2', 'model.onnx')));
    // move every raw initializer into one external blob
    const chunks: Uint8Array[] = [];
    let off = 0;
    for (const t of m.graph!.initializer!) {
      const raw = t.raw_data!;
      t.external_data = [{ key: 'location', value: 'model.onnx_data' }, { key: 'offset', value: String(off) }, { key: 'length', value: String(raw.byteLength) }];
      t.data_location = 1;
      chunks.push(raw.slice());
      off += raw.byteLength;
      t.raw_data = new Uint8Array(0);
    }
    const blob = new Uint8Array(off);
    let o = 0;
    for (const c of chunks) (blob.set(c, o), (o += c.byteLength));
    const bytes = encodeModel(m as never);
    const w = await weightsFromOnnx(cfg, bytes, (loc) => (loc === 'model.onnx_data' ? blob : new Uint8Array()));
    const st = weightsFromSafetensors(cfg, readSafetensors(readFileSync(path.join(REF, 'qwen2', 'model.safetensors'))));
    compare(w, st, () => 1e-6);
    await expect(weightsFromOnnx(cfg, bytes)).rejects.toThrow(/lives in external file model.onnx_data, which was not provided/);
    await expect(weightsFromOnnx(cfg, bytes, () => blob.subarray(0, 100))).rejects.toThrow(/model.onnx_data is truncated/);
  });
});

describe('model files from a folder and from the Hub', () => {
  let hub: Awaited<ReturnType<typeof startFixtureServer>>;
  let bad: http.Server;
  let badUrl: string;
  beforeAll(async () => {
    hub = await startFixtureServer({});
    bad = http.createServer((req, res) => {
      if (req.url!.includes('/gated/')) return void res.writeHead(401).end();
      // promise 1000 bytes, send 10, hang up
      res.writeHead(200, { 'content-length': '1000' });
      res.write(new Uint8Array(10));
      setTimeout(() => res.destroy(), 50);
    });
    await new Promise<void>((r) => bad.listen(0, '127.0.0.1', r));
    badUrl = `http://127.0.0.1:${(bad.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await hub.close();
    await new Promise((r) => bad.close(r));
  });

  it('loads the same model from a folder and from the Hub layout, with progress', async () => {
    const a = await loadModel(dirSource(path.join(REF, 'qwen2-hub')));
    const seen: number[] = [];
    const b = await loadModel(hubSource('test/qwen2-hub', { baseUrl: hub.url }), { onProgress: (p) => seen.push(p.loaded) });
    expect(b.format).toBe('safetensors');
    expect(b.config).toEqual(a.config);
    expect(b.weights.layers[3]!.down).toEqual(a.weights.layers[3]!.down);
    expect(seen.length).toBeGreaterThan(1);
    expect(b.bytes).toBeGreaterThan(9_000_000);
  });

  it('prefers the ONNX export when asked and falls back between formats', async () => {
    const r = await loadModel(dirSource(path.join(REF, 'gemma2')), { prefer: 'onnx' });
    expect(r.format).toBe('onnx (model_q4.onnx)');
  });

  it('gives clear errors for gated repos, missing files and truncated downloads', async () => {
    await expect(hubSource('x/gated', { baseUrl: badUrl }).get('config.json')).rejects.toThrow(/gated or private .* set an access token/);
    await expect(hubSource('test/qwen2-hub', { baseUrl: hub.url }).get('nope.json')).rejects.toThrow(/has no file nope.json \(HTTP 404\)/);
    await expect(hubSource('x/cut', { baseUrl: badUrl }).get('model.safetensors')).rejects.toThrow(/truncated|broke off/);
    await expect(loadModel(dirSource(path.join(REF, '..', 'datasets')))).rejects.toThrow(/has no config.json/);
    expect(() => hubSource('not a repo')).toThrow(/not a Hub repository id/);
  });
});
