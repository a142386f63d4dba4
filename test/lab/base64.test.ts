// The lab's one base64 module: reports' vectors in standard padded base64 (what Python's b64decode reads), share
// links in unpadded base64url, and a decoder that takes either. Checked against literals and Node's Buffer.

import { describe, expect, it } from 'vitest';
import { float32ToBase64, fromAnyBase64, fromBase64Url, toBase64, toBase64Url } from '../../src/lab/vectors/base64';

describe('base64', () => {
  it('report vectors are little-endian float32 in standard base64, also for views into a larger buffer', () => {
    const big = Float32Array.from({ length: 70000 }, (_, i) => Math.sin(i) * 1e-3);
    const view = big.subarray(3, 69999);
    expect(float32ToBase64(view)).toBe(Buffer.from(view.buffer, view.byteOffset, view.byteLength).toString('base64'));
    expect(float32ToBase64(Float32Array.of(1, -2.5))).toBe('AACAPwAAIMA=');
  });

  it('share links use the URL alphabet without padding; the decoder takes both alphabets', () => {
    const bytes = Uint8Array.of(0xfb, 0xff, 0xbf, 0x01);
    expect(toBase64(bytes)).toBe('+/+/AQ==');
    expect(toBase64Url(bytes)).toBe('-_-_AQ');
    expect(Array.from(fromBase64Url('-_-_AQ', 'f'))).toEqual([0xfb, 0xff, 0xbf, 0x01]);
    expect(Array.from(fromAnyBase64('+/+/AQ==', 'f'))).toEqual([0xfb, 0xff, 0xbf, 0x01]);
    expect(Array.from(fromAnyBase64('-_-_AQ', 'f'))).toEqual([0xfb, 0xff, 0xbf, 0x01]);
    expect(() => fromAnyBase64('AA*A', 'runs.g.final_vector')).toThrow('runs.g.final_vector: bad base64url (character "*" at position 2)');
  });
});
