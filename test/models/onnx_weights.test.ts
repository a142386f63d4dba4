// ONNX exports read by following the graph: every fixture's fp32 export must give exactly its safetensors weights,
// the MatMulNBits q4 export must be a faithful 4-bit quantisation of them, and the layouts fixtures don't cover
// (external data, fp16 scales, Gemma's "+1" done at run time, onnxruntime-genai fused/skip-norm graphs, quantised
// embeddings) are built here from the fixtures with encodeModel.

import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { floatToHalf } from '../../src/engine/dtype';
import { decodeModel, encodeModel, type OnnxModel, type OnnxNode, type OnnxTensor } from '../../src/engine/onnx/proto';
import { parseHfConfig } from '../../src/models/config_parse';
import { dirSource } from '../../src/models/file_source';
import { loadModel } from '../../src/models/load';
import { weightsFromOnnx } from '../../src/models/onnx_weights';
import { readSafetensors } from '../../src/models/safetensors';
import { weightsFromSafetensors } from '../../src/models/safetensors_weights';
import type { LinearWeight, ModelWeights } from '../../src/models/weights';
import { embeddingMatrix, linearMatrix, maxAbsDiff, quantizeRows } from './q4_ref';

const REF = path.resolve(__dirname, '../../../shared/reference');
const ARCHES = ['qwen2', 'qwen3', 'llama', 'gemma2', 'gemma3'];
const LINEARS = ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] as const;
const VECTORS = ['inputNorm', 'postAttnNorm', 'preFfnNorm', 'postFfnNorm', 'qNorm', 'kNorm', 'qBias', 'kBias', 'vBias', 'oBias'] as const;

const cfgOf = (arch: string) => parseHfConfig(JSON.parse(readFileSync(path.join(REF, arch, 'config.json'), 'utf8')));
const stOf = (arch: string) => weightsFromSafetensors(cfgOf(arch), readSafetensors(readFileSync(path.join(REF, arch, 'model.safetensors'))));
const fileOf = (arch: string, f: string) => new Uint8Array(readFileSync(path.join(REF, arch, f)));

/** Every vector (norm scales, biases) and the final norm agree to 1e-6, and are present in both or neither. */
function expectSameVectors(a: ModelWeights, b: ModelWeights) {
  a.layers.forEach((la, i) => {
    for (const n of VECTORS) {
      expect(!!la[n], `layer ${i} ${n} present`).toBe(!!b.layers[i]![n]);
      if (la[n]) expect(maxAbsDiff(la[n]!.data, b.layers[i]![n]!.data), `layer ${i} ${n}`).toBeLessThanOrEqual(1e-6);
    }
  });
  expect(maxAbsDiff(a.finalNorm.data, b.finalNorm.data)).toBeLessThanOrEqual(1e-6);
}

function expectSameDense(a: LinearWeight, b: LinearWeight, what: string) {
  const x = linearMatrix(a);
  const y = linearMatrix(b);
  expect([x.N, x.K], what).toEqual([y.N, y.K]);
  expect(maxAbsDiff(x.data, y.data), what).toBeLessThanOrEqual(1e-6);
}

/**
 * q is a symmetric 4-bit block quantisation of the dense weight w: each block's step is its absmax / 8 (what
 * onnxruntime's MatMulNBitsQuantizer picks) and every value is within half a step, except values beyond the top
 * code (+7 steps, the range is −8..7) which must be clamped to it.
 */
function expectQuantisationOf(q: LinearWeight, w: LinearWeight, what: string) {
  expect(q.kind, what).toBe('q4');
  if (q.kind !== 'q4' || w.kind !== 'dense') return;
  expect([q.N, q.K], what).toEqual(w.shape);
  const d = linearMatrix(q);
  let clamped = 0;
  for (let n = 0; n < q.N; n++)
    for (let b = 0; b * q.blockSize < q.K; b++) {
      const ks = Array.from({ length: Math.min(q.blockSize, q.K - b * q.blockSize) }, (_, j) => b * q.blockSize + j);
      const absmax = Math.max(...ks.map((k) => Math.abs(w.data[n * q.K + k]!)));
      const s = d.scale!(n, ks[0]!);
      expect(Math.abs(Math.abs(s) - absmax / 8), `${what} row ${n} block ${b} step`).toBeLessThanOrEqual(absmax * 1e-6);
      for (const k of ks) {
        const v = w.data[n * q.K + k]!;
        const err = Math.abs(d.data[n * q.K + k]! - v);
        if (err <= Math.abs(s) / 2 + 1e-7) continue;
        clamped++;
        expect(d.code!(n, k), `${what} [${n},${k}] off by ${err} with step ${s}`).toBe(15);
        expect(v / s, `${what} [${n},${k}]`).toBeGreaterThan(7.5 - 1e-4);
      }
    }
  return clamped;
}

describe('fixture exports', () => {
  for (const arch of ARCHES) {
    it(`${arch}: model.onnx gives the safetensors weights, model_q4.onnx their 4-bit quantisation`, async () => {
      const cfg = cfgOf(arch);
      const st = stOf(arch);
      const fp = await weightsFromOnnx(cfg, fileOf(arch, 'model.onnx'));
      expect(fp.layers.length).toBe(cfg.numLayers);
      fp.layers.forEach((l, i) => LINEARS.forEach((n) => expectSameDense(l[n], st.layers[i]![n], `layer ${i} ${n}`)));
      expectSameVectors(fp, st);
      expect(fp.embed.kind).toBe('dense');
      expect(maxAbsDiff(embeddingMatrix(fp.embed).data, embeddingMatrix(st.embed).data)).toBe(0);
      // tied: the export's head is the embedding again and is dropped; untied (llama): its own head
      if (cfg.tieEmbeddings) expect(fp.lmHead).toBeUndefined();
      else expectSameDense(fp.lmHead!, st.lmHead!, 'lm_head');

      const q4 = await weightsFromOnnx(cfg, fileOf(arch, 'model_q4.onnx'), undefined, 'model_q4.onnx');
      let clamped = 0;
      q4.layers.forEach((l, i) => LINEARS.forEach((n) => (clamped += expectQuantisationOf(l[n], st.layers[i]![n], `layer ${i} ${n}`) ?? 0)));
      // the quantizer leaves Gather, norms and biases in float32
      expectSameVectors(q4, st);
      expect(maxAbsDiff(embeddingMatrix(q4.embed).data, embeddingMatrix(st.embed).data)).toBe(0);
      // the head is quantised too, even when tied (a separate MatMul initializer in the export)
      const head = st.lmHead ?? { kind: 'dense' as const, shape: [cfg.vocabSize, cfg.hiddenSize], data: (st.embed as { data: Float32Array }).data };
      expectQuantisationOf(q4.lmHead!, head, 'lm_head');
      // random weights put some values past +7 steps; the check above must have seen them
      expect(clamped).toBeGreaterThan(0);
    });
  }
});

/** Moves every initializer of a model into one external blob (some fp32 vectors into float_data instead). */
function externalise(m: OnnxModel, location: string, opts: { floatData?: (t: OnnxTensor) => boolean } = {}): Uint8Array {
  const chunks: Uint8Array[] = [];
  let off = 0;
  for (const t of m.graph!.initializer!) {
    const raw = t.raw_data!;
    if (opts.floatData?.(t)) {
      t.float_data = Array.from(new Float32Array(raw.slice().buffer));
      t.raw_data = new Uint8Array(0);
      continue;
    }
    t.external_data = [
      { key: 'location', value: location },
      { key: 'offset', value: String(off) },
      { key: 'length', value: String(raw.byteLength) },
    ];
    t.data_location = 1;
    chunks.push(raw.slice());
    off += raw.byteLength;
    t.raw_data = new Uint8Array(0);
  }
  const blob = new Uint8Array(off);
  let o = 0;
  for (const c of chunks) (blob.set(c, o), (o += c.byteLength));
  return blob;
}

describe('initializer storage', () => {
  it('reads external data, float_data and reports a missing or short external file', async () => {
    const cfg = cfgOf('qwen2');
    const m = decodeModel(fileOf('qwen2', 'model.onnx'));
    const blob = externalise(m, 'model.onnx_data', { floatData: (t) => t.dims!.length === 1 });
    const bytes = encodeModel(m);
    const asked: string[] = [];
    const w = await weightsFromOnnx(cfg, bytes, (loc) => (asked.push(loc), blob));
    expect(new Set(asked)).toEqual(new Set(['model.onnx_data']));
    const st = stOf('qwen2');
    w.layers.forEach((l, i) => LINEARS.forEach((n) => expectSameDense(l[n], st.layers[i]![n], `layer ${i} ${n}`)));
    expectSameVectors(w, st);
    await expect(weightsFromOnnx(cfg, bytes)).rejects.toThrow(/lives in external file model.onnx_data, which was not provided/);
    await expect(weightsFromOnnx(cfg, bytes, () => blob.subarray(0, 100))).rejects.toThrow(/model.onnx_data is truncated: initializer .* needs bytes \d+\.\.\d+ but the file has 100/);
  });

  it('q4f16 layout: fp16 scales in external data, loaded from an onnx/ folder by loadModel', async () => {
    const cfg = cfgOf('qwen3');
    const m = decodeModel(fileOf('qwen3', 'model_q4.onnx'));
    const inits = new Map(m.graph!.initializer!.map((t) => [t.name!, t]));
    // follow MatMulNBits' scales input (3rd) and store those tensors as float16
    const scaleNames = new Set(m.graph!.node!.filter((n) => n.op_type === 'MatMulNBits').map((n) => n.input![2]!));
    expect(scaleNames.size).toBe(cfg.numLayers * 7 + 1);
    const original = new Map<string, Float32Array>();
    for (const name of scaleNames) {
      const t = inits.get(name)!;
      const f = new Float32Array(t.raw_data!.slice().buffer);
      original.set(name, f);
      t.raw_data = new Uint8Array(Uint16Array.from(f, floatToHalf).buffer);
      t.data_type = 10;
    }
    const blob = externalise(m, 'model_q4f16.onnx_data');
    const dir = mkdtempSync(path.join(tmpdir(), 'steerlab-q4f16-'));
    mkdirSync(path.join(dir, 'onnx'));
    writeFileSync(path.join(dir, 'config.json'), readFileSync(path.join(REF, 'qwen3', 'config.json')));
    writeFileSync(path.join(dir, 'onnx', 'model_q4f16.onnx'), encodeModel(m));
    writeFileSync(path.join(dir, 'onnx', 'model_q4f16.onnx_data'), blob);

    const r = await loadModel(dirSource(dir));
    expect(r.format).toBe('onnx (onnx/model_q4f16.onnx)');
    expect(r.bytes).toBe(readFileSync(path.join(dir, 'config.json')).byteLength + readFileSync(path.join(dir, 'onnx', 'model_q4f16.onnx')).byteLength + blob.byteLength);
    const ref = await weightsFromOnnx(cfg, fileOf('qwen3', 'model_q4.onnx'));
    r.weights.layers.forEach((l, i) =>
      LINEARS.forEach((n) => {
        const a = l[n];
        const b = ref.layers[i]![n];
        if (a.kind !== 'q4' || b.kind !== 'q4') throw new Error('expected q4');
        expect(a.packed).toEqual(b.packed);
        expect('f16' in a.scales, `layer ${i} ${n} keeps fp16 scales`).toBe(true);
        expect(Array.from((a.scales as { f16: Uint16Array }).f16)).toEqual(Array.from(b.scales as Float32Array, floatToHalf));
      }),
    );
  });
});

/** A Gemma3 export whose norms multiply by w and add the 1 at run time: as Mul(x, 1 + w) or as x·w + x. */
function gemmaRuntimePlusOne(style: 'add-constant' | 'readd-input'): Uint8Array {
  const m = decodeModel(fileOf('gemma3', 'model.onnx'));
  const g = m.graph!;
  const inits = new Map(g.initializer!.map((t) => [t.name!, t]));
  const out: OnnxNode[] = [];
  let changed = 0;
  for (const n of g.node!) {
    const c = n.input?.findIndex((i) => (inits.get(i)?.dims?.length ?? 0) === 1 && Number(inits.get(i)!.dims![0]) > 1) ?? -1;
    if (n.op_type !== 'Mul' || c < 0 || !/(layernorm|q_norm|k_norm|model\/norm)\//.test(n.name!)) {
      out.push(n);
      continue;
    }
    changed++;
    const effective = inits.get(n.input![c]!)!;
    const w = Float32Array.from(new Float32Array(effective.raw_data!.slice().buffer), (x) => x - 1);
    const wName = `${n.input![c]}_w`;
    g.initializer!.push({ name: wName, dims: effective.dims, data_type: 1, raw_data: new Uint8Array(w.buffer) });
    const scope = n.name!.slice(0, n.name!.lastIndexOf('/'));
    if (style === 'add-constant') {
      out.push({ op_type: 'Constant', name: `${scope}/One`, output: [`${scope}/One_out`], attribute: [{ name: 'value_float', type: 1, f: 1 }] });
      out.push({ op_type: 'Add', name: `${scope}/AddOne`, input: [`${scope}/One_out`, wName], output: [`${scope}/AddOne_out`] });
      n.input![c] = `${scope}/AddOne_out`;
      out.push(n);
    } else {
      const x = n.input![1 - c]!;
      const y = n.output![0]!;
      n.input![c] = wName;
      n.output![0] = `${y}_xw`;
      out.push(n, { op_type: 'Add', name: `${scope}/AddInput`, input: [`${y}_xw`, x], output: [y] });
    }
  }
  expect(changed).toBe(4 * 6 + 1); // 4 norms + q/k norms per layer, and the final norm
  g.node = out;
  return encodeModel(m);
}

describe('graph variants', () => {
  for (const style of ['add-constant', 'readd-input'] as const) {
    it(`Gemma norm with the +1 at run time (${style}) still gives the effective scale 1 + w`, async () => {
      const w = await weightsFromOnnx(cfgOf('gemma3'), gemmaRuntimePlusOne(style));
      expectSameVectors(w, stOf('gemma3'));
    });
  }

  it('onnxruntime-genai layout: skip norms, fused qkv_proj and gate_up_proj as MatMulNBits, GatherBlockQuantized embedding', async () => {
    const cfg = cfgOf('qwen2');
    const st = stOf('qwen2');
    const bytes = genaiStyleModel(cfg.numLayers, st);
    const w = await weightsFromOnnx(cfg, bytes, undefined, 'genai.onnx');
    w.layers.forEach((l, i) => {
      const s = st.layers[i]!;
      for (const n of LINEARS) {
        expect(l[n].kind, `layer ${i} ${n}`).toBe('q4');
        // 4-bit with a zero point: within half a step (scale) of the weight everywhere
        const d = linearMatrix(l[n]);
        const ref = (s[n] as { data: Float32Array }).data;
        let worst = 0; // largest error in steps
        for (let j = 0; j < ref.length; j++) worst = Math.max(worst, Math.abs(d.data[j]! - ref[j]!) / d.scale!(Math.floor(j / d.K), j % d.K));
        expect(worst, `layer ${i} ${n}`).toBeLessThanOrEqual(0.501);
      }
    });
    expectSameVectors(w, st);
    const e = embeddingMatrix(w.embed);
    expect(w.embed.kind).toBe('q4-gather');
    expect(maxAbsDiff(e.data, (st.embed as { data: Float32Array }).data)).toBeLessThan(0.6 * maxStep(st.embed as { data: Float32Array }, cfg.hiddenSize));
    expect(w.lmHead?.kind).toBe('q4');
  });

  it('names what it cannot find or use', async () => {
    const cfg = cfgOf('qwen2');
    const m = decodeModel(fileOf('qwen2', 'model_q4.onnx'));
    const n = m.graph!.node!.find((x) => x.op_type === 'MatMulNBits')!;
    n.attribute!.find((a) => a.name === 'bits')!.i = 8;
    await expect(weightsFromOnnx(cfg, encodeModel(m))).rejects.toThrow(/is a 8-bit MatMulNBits; steerlab runs 4-bit weights only/);
    const m2 = decodeModel(fileOf('qwen2', 'model.onnx'));
    m2.graph!.node = m2.graph!.node!.filter((x) => !x.name!.includes('layers.2/mlp/down_proj/'));
    await expect(weightsFromOnnx(cfg, encodeModel(m2))).rejects.toThrow(/found no down_proj MatMul for layer 2/);
    await expect(weightsFromOnnx(cfgOf('qwen3'), fileOf('qwen2', 'model.onnx'))).rejects.toThrow(/found no q_norm scale for layer 0/);
    await expect(weightsFromOnnx({ ...cfg, intermediateSize: 96 }, fileOf('qwen2', 'model.onnx'))).rejects.toThrow(/layers.0 gate_proj .* has weight \[out 128, in 64\]; config.json implies \[96, 64\]/);
    await expect(weightsFromOnnx(cfg, new Uint8Array([1, 2, 3]))).rejects.toThrow(/not a readable ONNX file/);
  });
});

function maxStep(e: { data: Float32Array }, dim: number): number {
  let m = 0;
  for (let r = 0; r < e.data.length / dim; r++) {
    const row = e.data.subarray(r * dim, (r + 1) * dim);
    m = Math.max(m, (Math.max(0, ...row) - Math.min(0, ...row)) / 15);
  }
  return m;
}

/**
 * A graph laid out like onnxruntime-genai's builder output (node names, fused projections, Skip/Simplified
 * LayerNormalization, final_norm_layernorm in layers.N), carrying the fixture's weights; not meant to be run.
 */
function genaiStyleModel(L: number, st: ModelWeights): Uint8Array {
  const inits: OnnxTensor[] = [];
  const nodes: OnnxNode[] = [];
  let id = 0;
  const f32 = (data: Float32Array, dims: number[]) => {
    const name = `w${id++}`;
    inits.push({ name, dims, data_type: 1, raw_data: new Uint8Array(data.slice().buffer) });
    return name;
  };
  const u8 = (data: Uint8Array, dims: number[]) => {
    const name = `w${id++}`;
    inits.push({ name, dims, data_type: 2, raw_data: data.slice() });
    return name;
  };
  const f16 = (data: Uint16Array, dims: number[]) => {
    const name = `w${id++}`;
    inits.push({ name, dims, data_type: 10, raw_data: new Uint8Array(data.slice().buffer) });
    return name;
  };
  const int = (name: string, i: number) => ({ name, type: 2, i });
  const concatRows = (...ws: LinearWeight[]) => {
    const parts = ws.map((w) => (w as { data: Float32Array }).data);
    const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
    let o = 0;
    for (const p of parts) (out.set(p, o), (o += p.length));
    return { data: out, N: ws.reduce((a, w) => a + (w as { shape: number[] }).shape[0]!, 0), K: (ws[0] as { shape: number[] }).shape[1]! };
  };
  const block = 32;
  const nbits = (scope: string, x: string, W: { data: Float32Array; N: number; K: number }) => {
    const q = quantizeRows(W.data, W.N, W.K, block);
    const nb = Math.ceil(W.K / block);
    const out = `${scope}/MatMulNBits/output_0`;
    nodes.push({
      op_type: 'MatMulNBits',
      domain: 'com.microsoft',
      name: `${scope}/MatMulNBits`,
      input: [x, u8(q.packed, [W.N, nb, block / 2]), f16(q.scales, [W.N * nb]), u8(q.zeroPoints, [W.N * Math.ceil(nb / 2)])],
      output: [out],
      attribute: [int('K', W.K), int('N', W.N), int('bits', 4), int('block_size', block), int('accuracy_level', 4)],
    });
    return out;
  };
  const norm = (scope: string, x: string, gamma: Float32Array, skip?: string) => {
    const out = `${scope}/output_0`;
    if (skip) nodes.push({ op_type: 'SkipSimplifiedLayerNormalization', domain: 'com.microsoft', name: `${scope}/SkipLayerNorm`, input: [x, skip, f32(gamma, [gamma.length])], output: [out, '', '', `${scope}/output_3`] });
    else nodes.push({ op_type: 'SimplifiedLayerNormalization', name: `${scope}/LayerNorm`, input: [x, f32(gamma, [gamma.length])], output: [out] });
    return out;
  };
  const emb = st.embed as { data: Float32Array; shape: number[] };
  const [V, D] = emb.shape as [number, number];
  const qe = quantizeRows(emb.data, V, D, block);
  nodes.push({
    op_type: 'GatherBlockQuantized',
    domain: 'com.microsoft',
    name: '/model/embed_tokens/GatherBlockQuantized',
    input: [u8(qe.packed, [V, D / 2]), 'input_ids', f16(qe.scales, [V, D / block]), u8(qe.zeroPoints, [V, Math.ceil(D / block / 2)])],
    output: ['/model/embed_tokens/output_0'],
    attribute: [int('block_size', block), int('gather_axis', 0), int('quantize_axis', 1)],
  });
  let h = '/model/embed_tokens/output_0';
  let skip: string | undefined;
  for (let i = 0; i < L; i++) {
    const l = st.layers[i]!;
    const p = `/model/layers.${i}`;
    const x = norm(`${p}/input_layernorm`, h, l.inputNorm.data, skip);
    const qkv = concatRows(l.q, l.k, l.v);
    const mm = nbits(`${p}/attn/qkv_proj`, x, qkv);
    const bias = new Float32Array([...l.qBias!.data, ...l.kBias!.data, ...l.vBias!.data]);
    nodes.push({ op_type: 'Add', name: `${p}/attn/qkv_proj/Add`, input: [mm, f32(bias, [bias.length])], output: [`${p}/attn/qkv_proj/Add/output_0`] });
    nodes.push({ op_type: 'GroupQueryAttention', domain: 'com.microsoft', name: `${p}/attn/GroupQueryAttention`, input: [`${p}/attn/qkv_proj/Add/output_0`], output: [`${p}/attn/out`] });
    const o = nbits(`${p}/attn/o_proj`, `${p}/attn/out`, concatRows(l.o));
    const x2 = norm(`${p}/post_attention_layernorm`, o, l.postAttnNorm.data, x);
    const gu = nbits(`${p}/mlp/gate_up_proj`, x2, concatRows(l.gate, l.up));
    nodes.push({ op_type: 'SwiGLU', name: `${p}/mlp/act`, input: [gu], output: [`${p}/mlp/act/out`] });
    h = nbits(`${p}/mlp/down_proj`, `${p}/mlp/act/out`, concatRows(l.down));
    skip = x2;
  }
  const fin = norm(`/model/layers.${L}/final_norm_layernorm`, h, st.finalNorm.data, skip);
  const headOut = nbits('/lm_head', fin, concatRows({ kind: 'dense', shape: emb.shape, data: emb.data }));
  nodes.push({ op_type: 'Identity', name: '/lm_head/Identity', input: [headOut], output: ['logits'] });
  return encodeModel({
    ir_version: 8,
    opset_import: [{ domain: '', version: 17 }, { domain: 'com.microsoft', version: 1 }],
    graph: {
      name: 'genai-style',
      node: nodes,
      initializer: inits,
      input: [{ name: 'input_ids', type: { tensor_type: { elem_type: 7 } } }],
      output: [{ name: 'logits', type: { tensor_type: { elem_type: 1 } } }],
    },
  });
}
