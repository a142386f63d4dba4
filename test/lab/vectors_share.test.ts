import { describe, expect, it } from 'vitest';
import { decodeShareFragment, encodeShareFragment, SHARE_MAX_CHARS, shareEncodingOf } from '../../src/lab/vectors/share';
import { effectiveNorm, effectiveVector, type SteeringVector } from '../../src/lab/vectors/vector';
import { fixtureVector, gaussian } from './vectors_fixture';

function vec(data: Float32Array, over: Partial<SteeringVector> = {}): SteeringVector {
  return {
    name: 'bad medical — general',
    modelId: 'onnx-community/Qwen2.5-0.5B-Instruct',
    layer: 12,
    alpha: 256,
    data,
    createdAt: '2026-01-02T03:04:05.000Z',
    provenance: { dataset: 'bad_medical_advice', lr: 1e-4 },
    ...over,
  };
}

describe('effectiveNorm', () => {
  it('is ‖α·v‖ computed from the elements', () => {
    const { v: added } = fixtureVector('qwen2');
    const v = added.map((x) => x / 256);
    let s = 0;
    for (const x of v) s += x * x;
    expect(effectiveNorm(vec(v, { alpha: 256 }))).toBeCloseTo(256 * Math.sqrt(s), 3);
    expect(effectiveNorm(vec(v, { alpha: -2 }))).toBeCloseTo(2 * Math.sqrt(s), 6);
  });
});

describe('share fragments', () => {
  it('round-trips the fixture steering vector within f16 rounding', () => {
    // the fixture stores the vector that is added (α·v); the lab stores v = that / α
    const { v: added, layer } = fixtureVector('qwen2-hub');
    const v = added.map((x) => x / 256);
    const original = vec(v, { layer, alpha: 256, modelId: 'test/qwen2-hub' });
    const frag = encodeShareFragment(original);
    expect(frag.startsWith('#v=1&model=test%2Fqwen2-hub&layer=2&alpha=256&name=')).toBe(true);
    expect(shareEncodingOf(frag)).toBe('f16');
    const back = decodeShareFragment(frag);
    expect(back.modelId).toBe('test/qwen2-hub');
    expect(back.layer).toBe(layer);
    expect(back.alpha).toBe(256);
    expect(back.name).toBe(original.name);
    const a = effectiveVector(original);
    const b = effectiveVector(back);
    for (let i = 0; i < a.length; i++) expect(Math.abs(b[i]! - a[i]!)).toBeLessThanOrEqual(Math.max(Math.abs(a[i]!) * 2 ** -11, 2 ** -24));
    // and the fragment changes when the vector does
    const v2 = v.slice();
    v2[0] = v2[0]! + 0.01;
    expect(encodeShareFragment(vec(v2, { layer, modelId: 'test/qwen2-hub' }))).not.toBe(frag);
  });

  it('carries the mlp.down_proj hook point, and only that one (older links stay as they were)', () => {
    const base = vec(gaussian(64, 1, 0.1), { layer: 3 });
    expect(encodeShareFragment(base)).not.toContain('hook=');
    const down = encodeShareFragment({ ...base, hook: 'down_proj' });
    expect(down).toContain('&layer=3&hook=down_proj&alpha=');
    expect(decodeShareFragment(down).hook).toBe('down_proj');
    expect(decodeShareFragment(encodeShareFragment(base)).hook).toBeUndefined();
    expect(() => decodeShareFragment(down.replace('hook=down_proj', 'hook=attn'))).toThrow('share link: hook must be resid_post or down_proj, got "attn"');
  });

  it('accepts a whole URL and odd names', () => {
    const original = vec(gaussian(896, 1, 0.01), { name: 'a&b=c #1 ünï' });
    const url = 'http://localhost:5173/lab' + encodeShareFragment(original);
    const back = decodeShareFragment(url);
    expect(back.name).toBe('a&b=c #1 ünï');
    expect(back.data.length).toBe(896);
  });

  it('keeps Qwen2.5-0.5B (d=896) and Gemma 2 2B (d=2304) vectors in f16 under the size limit', () => {
    for (const d of [896, 1536, 2304]) {
      const f = encodeShareFragment(vec(gaussian(d, d, 0.002)));
      expect(f.length).toBeLessThanOrEqual(SHARE_MAX_CHARS);
      expect(shareEncodingOf(f)).toBe('f16');
    }
  });

  it('switches to int8 + scale past ~8 KB (d=5120, the paper model) and stays within half a step', () => {
    const original = vec(gaussian(5120, 7, 0.002));
    const frag = encodeShareFragment(original);
    expect(shareEncodingOf(frag)).toBe('q8');
    expect(frag).toMatch(/&q8=[A-Za-z0-9_-]+&scale=[0-9.e-]+$/);
    const back = decodeShareFragment(frag);
    const a = effectiveVector(original);
    const b = effectiveVector(back);
    let maxAbs = 0;
    for (const x of a) maxAbs = Math.max(maxAbs, Math.abs(x));
    const step = maxAbs / 127;
    for (let i = 0; i < a.length; i++) expect(Math.abs(b[i]! - a[i]!)).toBeLessThanOrEqual(step / 2 + 1e-6);
    expect(effectiveNorm(back) / effectiveNorm(original)).toBeCloseTo(1, 2);
  });

  it('uses int8 when α·v leaves the f16 range', () => {
    const big = vec(Float32Array.from([1, -300, 2]), { alpha: 256 }); // 256·300 = 76800 > 65504
    const frag = encodeShareFragment(big);
    expect(shareEncodingOf(frag)).toBe('q8');
    expect(decodeShareFragment(frag).data[1]).toBeCloseTo(-300, 0);
  });

  it('names the bad field', () => {
    const good = encodeShareFragment(vec(gaussian(64, 3, 0.01)));
    const edit = (k: string, v: string | null) => {
      const p = new URLSearchParams(good.slice(1));
      if (v === null) p.delete(k);
      else p.set(k, v);
      return '#' + p.toString();
    };
    expect(() => decodeShareFragment(edit('model', null))).toThrow(/missing model/);
    expect(() => decodeShareFragment(edit('layer', '1.5'))).toThrow(/layer must be a non-negative integer/);
    expect(() => decodeShareFragment(edit('layer', '-3'))).toThrow(/layer/);
    expect(() => decodeShareFragment(edit('alpha', 'abc'))).toThrow(/alpha/);
    expect(() => decodeShareFragment(edit('v', '2'))).toThrow(/v=2 is not a supported version/);
    expect(() => decodeShareFragment(edit('f16', 'AAAA*AAA'))).toThrow(/f16: bad base64url/);
    expect(() => decodeShareFragment(edit('f16', 'AAAA'))).toThrow(/f16 has wrong length: 3 bytes, expected 128/);
    expect(() => decodeShareFragment(edit('d', '65'))).toThrow(/wrong length/);
    expect(() => decodeShareFragment(edit('f16', null))).toThrow(/missing f16/);
    // 0x7e00 is an f16 NaN
    const nan = new Uint16Array(64).fill(0x3c00);
    nan[5] = 0x7e00;
    const b64 = Buffer.from(nan.buffer).toString('base64url');
    expect(() => decodeShareFragment(edit('f16', b64))).toThrow(/element 5 is NaN/);
    const q = edit('f16', null) + '&q8=' + Buffer.alloc(64).toString('base64url');
    expect(() => decodeShareFragment(q)).toThrow(/missing scale/);
    expect(() => decodeShareFragment(q + '&scale=NaN')).toThrow(/scale must be a finite number/);
  });

  it('refuses to encode vectors it could not decode', () => {
    expect(() => encodeShareFragment(vec(Float32Array.from([1, NaN])))).toThrow(/data\[1\] is NaN/);
    expect(() => encodeShareFragment(vec(Float32Array.from([1, 2]), { alpha: 0 }))).toThrow(/alpha is 0/);
    expect(() => encodeShareFragment(vec(Float32Array.from([1]), { layer: -1 }))).toThrow(/layer/);
  });
});
