// safetensors: widening of F32 / BF16 / F16 checked against a decoder written here from the format description,
// header validation with messages naming the tensor, the writer's layout, and HF names → ModelWeights.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseHfConfig } from '../../src/models/config_parse';
import { readSafetensors, readSafetensorsRaw, writeSafetensors } from '../../src/models/safetensors';
import { weightsFromSafetensors } from '../../src/models/safetensors_weights';

const REF = path.resolve(__dirname, '../../../shared/reference');
const cfgOf = (name: string) => parseHfConfig(JSON.parse(readFileSync(path.join(REF, name, 'config.json'), 'utf8')));

/** A safetensors file from a header object and a data section (no validation: tests feed it bad headers). */
function file(header: unknown, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const h = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

/** The test's own reader of one tensor's raw bytes: header length, JSON, data_offsets after the header. */
function rawBytes(bytes: Uint8Array, name: string): Uint8Array {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const hdr = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  const [a, b] = hdr[name].data_offsets;
  return bytes.slice(8 + n + a, 8 + n + b);
}

describe('readSafetensors', () => {
  it('widens bf16 exactly (bits << 16) over a whole hub checkpoint tensor', () => {
    const bytes = new Uint8Array(readFileSync(path.join(REF, 'qwen2-hub/model.safetensors')));
    const t = readSafetensors(bytes).get('model.layers.1.mlp.down_proj.weight')!;
    expect(t.dtype).toBe('BF16');
    expect(t.shape).toEqual([32, 64]);
    const raw = new Uint16Array(rawBytes(bytes, 'model.layers.1.mlp.down_proj.weight').buffer);
    const dv = new DataView(new ArrayBuffer(4));
    for (let i = 0; i < raw.length; i++) {
      dv.setUint32(0, raw[i]! << 16);
      expect(t.data[i]).toBe(dv.getFloat32(0));
    }
    expect(readSafetensors(bytes).get('model.embed_tokens.weight')!.shape).toEqual([151936, 32]);
  });

  it('reads F32 fixtures as stored and keeps integer tensors as integers', () => {
    const bytes = new Uint8Array(readFileSync(path.join(REF, 'qwen2/model.safetensors')));
    const q = readSafetensors(bytes).get('model.layers.0.self_attn.q_proj.bias')!;
    expect(Array.from(q.data)).toEqual(Array.from(new Float32Array(rawBytes(bytes, 'model.layers.0.self_attn.q_proj.bias').buffer)));
    const ref = readSafetensorsRaw(new Uint8Array(readFileSync(path.join(REF, 'qwen2/reference.safetensors'))));
    expect(ref.get('input_ids')!.data).toBeInstanceOf(Int32Array);
    expect(() => readSafetensors(new Uint8Array(readFileSync(path.join(REF, 'qwen2/reference.safetensors'))))).toThrow(/tensor \w+ is I32, not a float weight/);
  });

  it('widens F16, subnormals and the largest half included', () => {
    // 1, −2, 1/3 (0x3555 = 0.333251953125), 65504, 2^-24
    const bits = Uint16Array.from([0x3c00, 0xc000, 0x3555, 0x7bff, 0x0001]);
    const bytes = file({ h: { dtype: 'F16', shape: [5], data_offsets: [0, 10] } }, new Uint8Array(bits.buffer));
    expect(Array.from(readSafetensors(bytes).get('h')!.data)).toEqual([1, -2, 0.333251953125, 65504, 2 ** -24]);
  });

  it('names what is wrong with a file', () => {
    const f32 = new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer);
    const ok = file({ a: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] } }, f32);
    expect(readSafetensors(ok).get('a')!.data).toEqual(new Float32Array([1, 2, 3, 4]));
    expect(() => readSafetensors(ok.subarray(0, ok.length - 4))).toThrow(/^model.safetensors is truncated: tensor a needs bytes \d+\.\.\d+ but the file has \d+$/);
    expect(() => readSafetensors(ok.subarray(0, 20), 'shard-2.safetensors')).toThrow(/shard-2.safetensors is truncated: the header needs bytes 8\.\.\d+ but the file has 20/);
    expect(() => readSafetensors(new Uint8Array(4))).toThrow(/truncated: 4 bytes/);
    const badJson = ok.slice();
    badJson[8] = 0x7b + 1; // '{' → '|'
    expect(() => readSafetensors(badJson)).toThrow(/header is not valid JSON/);
    expect(() => readSafetensors(file({ a: { dtype: 'Q4', shape: [2], data_offsets: [0, 1] } }, f32))).toThrow(/tensor a has unsupported dtype "Q4"/);
    expect(() => readSafetensors(file({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 16] } }, f32))).toThrow(/tensor a \[3\] F32 needs 12 bytes but its data_offsets span 16/);
    expect(() => readSafetensors(file({ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 16] } }, f32))).toThrow(/tensor a has an invalid shape/);
    expect(() => readSafetensors(file({ a: { dtype: 'F32', shape: [4], data_offsets: [16, 0] } }, f32))).toThrow(/tensor a has invalid data_offsets/);
    expect(() => readSafetensors(file([1, 2]))).toThrow(/header is not a JSON object/);
    const huge = new Uint8Array(16);
    new DataView(huge.buffer).setBigUint64(0, 2n ** 40n, true);
    expect(() => readSafetensors(huge)).toThrow(/not a safetensors file: its header length reads/);
  });
});

describe('writeSafetensors', () => {
  it('writes what the reader (and the format) expects, metadata included, from a record or a map', () => {
    const a = Float32Array.from([1, -2.5, 3e-8, 4, 5, 6]);
    const b = Float32Array.from([7]);
    const bytes = writeSafetensors({ a: { dtype: 'F32', shape: [2, 3], data: a }, b: { shape: [1], data: b } }, { note: 'ünïcode ✓' });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0); // data section 8-byte aligned even with multi-byte UTF-8 in the header
    const hdr = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    expect(hdr.__metadata__).toEqual({ note: 'ünïcode ✓' });
    expect(hdr.a).toEqual({ dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] });
    expect(hdr.b).toEqual({ dtype: 'F32', shape: [1], data_offsets: [24, 28] });
    expect(bytes.length).toBe(8 + n + 28);
    const back = readSafetensors(bytes);
    expect(back.get('a')!.data).toEqual(a);
    expect(back.get('b')!.data).toEqual(b);
    expect(writeSafetensors(new Map([['a', { shape: [2, 3], data: a }]]), { note: 'x' })).toEqual(writeSafetensors({ a: { shape: [2, 3], data: a } }, { note: 'x' }));
    expect(() => writeSafetensors({ a: { shape: [4], data: a } })).toThrow(/tensor a has shape \[4\] \(4 values\) but 6 values/);
  });
});

describe('weightsFromSafetensors', () => {
  const load = (name: string) => readSafetensors(new Uint8Array(readFileSync(path.join(REF, name, 'model.safetensors'))));

  it('maps HF names; Gemma norms become 1 + w; an untied head is kept, a tied one left out', () => {
    const cfg = cfgOf('gemma2');
    const t = load('gemma2');
    const w = weightsFromSafetensors(cfg, t);
    const raw = t.get('model.layers.2.pre_feedforward_layernorm.weight')!.data;
    expect(Array.from(w.layers[2]!.preFfnNorm!.data)).toEqual(Array.from(raw, (x) => Math.fround(1 + x)));
    expect(w.layers[1]!.down).toEqual({ kind: 'dense', shape: [64, 128], data: t.get('model.layers.1.mlp.down_proj.weight')!.data });
    expect(w.lmHead).toBeUndefined();
    const q = weightsFromSafetensors(cfgOf('qwen2'), load('qwen2'));
    expect(Array.from(q.layers[0]!.inputNorm.data)).toEqual(Array.from(load('qwen2').get('model.layers.0.input_layernorm.weight')!.data)); // w as stored
    expect(q.layers[3]!.kBias!.shape).toEqual([32]);
    expect(q.layers[3]!.oBias).toBeUndefined();
    const l = weightsFromSafetensors(cfgOf('llama'), load('llama'));
    expect(l.lmHead?.kind).toBe('dense');
    expect((l.lmHead as { shape: number[] }).shape).toEqual([1000, 64]);
  });

  it('accepts the Gemma3 multimodal prefixes', () => {
    const cfg = cfgOf('gemma3');
    const t = load('gemma3');
    const plain = weightsFromSafetensors(cfg, t);
    for (const prefix of ['model.language_model.', 'language_model.model.']) {
      const renamed = new Map([...t].map(([k, v]) => [k.replace(/^model\./, prefix), v]));
      const w = weightsFromSafetensors(cfg, renamed);
      expect((w.embed as { data: Float32Array }).data).toBe((plain.embed as { data: Float32Array }).data);
      expect((w.layers[3]!.down as { data: Float32Array }).data).toBe((plain.layers[3]!.down as { data: Float32Array }).data);
      expect(w.layers[3]!.kNorm).toEqual(plain.layers[3]!.kNorm);
      expect(w.finalNorm).toEqual(plain.finalNorm);
    }
  });

  it('names the missing or misshapen tensor and the file', () => {
    const t = load('qwen2');
    t.delete('model.layers.3.self_attn.v_proj.bias');
    expect(() => weightsFromSafetensors(cfgOf('qwen2'), t, 'model-00002.safetensors')).toThrow(/model-00002.safetensors is missing tensor model.layers.3.self_attn.v_proj.bias/);
    const l = load('llama');
    l.delete('lm_head.weight');
    expect(() => weightsFromSafetensors(cfgOf('llama'), l)).toThrow(/missing tensor lm_head.weight \(config.json has tie_word_embeddings = false\)/);
    expect(() => weightsFromSafetensors({ ...cfgOf('qwen2'), intermediateSize: 100 }, load('qwen2'))).toThrow(/model.layers.0.mlp.gate_proj.weight has shape \[128,64\], config implies \[100,64\]/);
    expect(() => weightsFromSafetensors(cfgOf('qwen2'), new Map())).toThrow(/has no embed_tokens.weight/);
  });
});
