// Share links: a steering vector packed into a URL fragment, so it never reaches a server.
//   #v=1&model=<id>&layer=<L>[&hook=down_proj]&alpha=<α>&name=<name>&d=<dim>&f16=<base64url of the f16 bits of α·v>
// (hook is absent for the default blocks.L.hook_resid_post, so older links read the same)
// The effective vector α·v is what gets quantised (that is the thing whose precision matters when steering);
// decoding divides by α again. When the f16 form would be longer than SHARE_MAX_CHARS, or α·v has an element
// outside the f16 range, the link carries int8 codes with one float scale instead:
//   ...&d=<dim>&q8=<base64url of int8 codes>&scale=<s>   where α·v[i] ≈ q8[i]·s
// Every error names the field that was wrong.

import { floatToHalf, halfToFloat } from '../../engine/dtype';
import { noun } from '../../engine/plural';
import { base64UrlByteLength, checkBase64UrlAlphabet, fromBase64Url, toBase64Url } from './base64';
import type { SteeringVector } from './vector';
import { effectiveVector, validateVector } from './vector';

export const SHARE_VERSION = '1';
/** fragments longer than this switch to int8 (about 8 KB keeps links usable in chats and mail). */
export const SHARE_MAX_CHARS = 8192;
const F16_MAX = 65504;
/** the widest residual stream a link may claim (Llama-3-405B has 16384); a larger d is refused before any allocation */
export const SHARE_MAX_D = 65536;

export type ShareEncoding = 'f16' | 'q8';

export function encodeShareFragment(vec: SteeringVector, opts: { encoding?: ShareEncoding } = {}): string {
  validateVector(vec);
  if (vec.alpha === 0) throw new Error('steering vector: alpha is 0, so α·v carries no direction to share');
  const eff = effectiveVector(vec);
  const head =
    `#v=${SHARE_VERSION}&model=${encodeURIComponent(vec.modelId)}&layer=${vec.layer}` +
    `${vec.hook === 'down_proj' ? '&hook=down_proj' : ''}&alpha=${String(vec.alpha)}&name=${encodeURIComponent(vec.name)}&d=${eff.length}`;
  const fitsF16 = eff.every((x) => Math.abs(x) <= F16_MAX);
  if (opts.encoding !== 'q8') {
    if (opts.encoding === 'f16' && !fitsF16) throw new Error('steering vector: α·v has elements beyond the f16 range (±65504)');
    if (fitsF16) {
      const h = new Uint16Array(eff.length);
      for (let i = 0; i < eff.length; i++) h[i] = floatToHalf(eff[i]!);
      const frag = `${head}&f16=${toBase64Url(new Uint8Array(h.buffer))}`;
      if (opts.encoding === 'f16' || frag.length <= SHARE_MAX_CHARS) return frag;
    }
  }
  let maxAbs = 0;
  for (const x of eff) maxAbs = Math.max(maxAbs, Math.abs(x));
  // Math.fround: the scale is printed as the float32 the decoder will multiply by
  const scale = maxAbs === 0 ? 0 : Math.fround(maxAbs / 127);
  const q = new Int8Array(eff.length);
  if (scale > 0) for (let i = 0; i < eff.length; i++) q[i] = Math.max(-127, Math.min(127, Math.round(eff[i]! / scale)));
  return `${head}&q8=${toBase64Url(new Uint8Array(q.buffer))}&scale=${String(scale)}`;
}

/** Which encoding a fragment uses (for the UI's "shared at f16/int8 precision" note). */
export function shareEncodingOf(hash: string): ShareEncoding {
  return fragmentParams(hash).has('q8') ? 'q8' : 'f16';
}

function fragmentParams(hash: string): URLSearchParams {
  const i = hash.indexOf('#');
  return new URLSearchParams(i >= 0 ? hash.slice(i + 1) : hash);
}

/** Accepts "#v=1&…", "v=1&…" or a whole URL; returns the vector or throws an Error naming the bad field. */
export function decodeShareFragment(hash: string): SteeringVector {
  const p = fragmentParams(hash);
  const field = (k: string): string => {
    const v = p.get(k);
    if (v === null || v === '') throw new Error(`share link: missing ${k}`);
    return v;
  };
  const version = field('v');
  if (version !== SHARE_VERSION) throw new Error(`share link: v=${version} is not a supported version (expected ${SHARE_VERSION})`);
  const modelId = field('model');
  const layerS = field('layer');
  if (!/^\d+$/.test(layerS)) throw new Error(`share link: layer must be a non-negative integer, got ${JSON.stringify(layerS)}`);
  const layer = Number(layerS);
  const hookS = p.get('hook');
  if (hookS !== null && hookS !== 'resid_post' && hookS !== 'down_proj') throw new Error(`share link: hook must be resid_post or down_proj, got ${JSON.stringify(hookS)}`);
  const alphaS = field('alpha');
  const alpha = Number(alphaS);
  if (!Number.isFinite(alpha) || alpha === 0) throw new Error(`share link: alpha must be a finite non-zero number, got ${JSON.stringify(alphaS)}`);
  const dS = field('d');
  if (!/^[1-9]\d*$/.test(dS)) throw new Error(`share link: d must be a positive integer, got ${JSON.stringify(dS)}`);
  const d = Number(dS);
  if (d > SHARE_MAX_D) throw new Error(`share link: d=${dS} is larger than any model's residual stream (at most ${SHARE_MAX_D})`);
  const name = p.get('name') ?? '';
  // The payload's length is checked on its text, before decoding or allocating anything of size d: a link that
  // claims a huge d with a short payload must cost nothing.
  const expectLength = (k: 'f16' | 'q8', bytesPerElement: number): string => {
    const s = field(k);
    checkBase64UrlAlphabet(s, `share link: ${k}`);
    const bytes = base64UrlByteLength(s);
    if (bytes !== bytesPerElement * d) {
      throw new Error(`share link: ${k} has wrong length: ${bytes === null ? 'an impossible number of bytes' : `${bytes} ${noun(bytes, 'byte')}`}, expected ${bytesPerElement * d} for d=${d}`);
    }
    return s;
  };

  let eff: Float32Array;
  if (p.has('f16')) {
    const bytes = fromBase64Url(expectLength('f16', 2), 'share link: f16');
    eff = new Float32Array(d);
    const h = new Uint16Array(bytes.buffer, bytes.byteOffset, d);
    for (let i = 0; i < d; i++) eff[i] = halfToFloat(h[i]!);
    const bad = eff.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) throw new Error(`share link: f16 element ${bad} is ${eff[bad]} (NaN/Infinity are not valid vector values)`);
  } else if (p.has('q8')) {
    const bytes = fromBase64Url(expectLength('q8', 1), 'share link: q8');
    eff = new Float32Array(d);
    const scaleS = field('scale');
    const scale = Number(scaleS);
    if (!Number.isFinite(scale) || scale < 0) throw new Error(`share link: scale must be a finite number >= 0, got ${JSON.stringify(scaleS)}`);
    const q = new Int8Array(bytes.buffer, bytes.byteOffset, d);
    for (let i = 0; i < d; i++) eff[i] = q[i]! * scale;
  } else {
    throw new Error('share link: missing f16 (or q8 + scale) vector data');
  }
  const data = new Float32Array(d);
  for (let i = 0; i < d; i++) data[i] = eff[i]! / alpha;
  const vec: SteeringVector = {
    name: name || 'shared vector',
    modelId,
    layer,
    ...(hookS === 'down_proj' ? { hook: 'down_proj' as const } : {}),
    alpha,
    data,
    createdAt: new Date().toISOString(),
    provenance: { source: 'share-link', encoding: p.has('f16') ? 'f16' : 'q8' },
  };
  validateVector(vec, 'share link');
  return vec;
}
