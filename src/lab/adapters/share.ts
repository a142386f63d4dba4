// Share links for adapters, beside the vectors' (vectors/share.ts): θ packed into a URL fragment as f16,
//   #a=1&model=<id>&r=1&alpha=<α>&keys=<key list>&name=<name>&n=<|θ|>&f16=<base64url of the f16 bits of θ>
// keys is the canonical key list compacted as "<module>@<layers>" groups, e.g. "down@0-23" or "q@1,3;down@2".
// Only rank-1 adapters travel in links (a rank-1 down_proj adapter on every layer of Qwen2.5-0.5B is 138 k values,
// 370 k characters); bigger ones are refused with their size, and go as PEFT files instead.

import { floatToHalf, halfToFloat } from '../../engine/dtype';
import { fromBase64Url, toBase64Url } from '../vectors/base64';
import { LORA_MODULES, loraKeys, sortKeys, splitKey, type LoraModule } from './lora';
import { validateAdapterRecord, type AdapterRecord } from './record';

export const ADAPTER_SHARE_VERSION = '1';
const F16_MAX = 65504;

/** "down@0-3" groups: layers of each module, runs of consecutive layers as a–b. */
export function compactKeys(keys: string[]): string {
  const by = new Map<LoraModule, number[]>();
  for (const k of keys) {
    const { layer, module } = splitKey(k);
    by.set(module, [...(by.get(module) ?? []), layer]);
  }
  const runs = (ls: number[]) => {
    const s = [...ls].sort((a, b) => a - b);
    const out: string[] = [];
    for (let i = 0; i < s.length; ) {
      let j = i;
      while (j + 1 < s.length && s[j + 1] === s[j]! + 1) j++;
      out.push(j > i ? `${s[i]}-${s[j]}` : `${s[i]}`);
      i = j + 1;
    }
    return out.join(',');
  };
  return LORA_MODULES.filter((m) => by.has(m)).map((m) => `${m}@${runs(by.get(m)!)}`).join(';');
}

/** bounds on a link's key list: no model the lab loads has this many layers */
const MAX_LAYER = 4096;
const MAX_KEYS = 7 * MAX_LAYER;

export function expandKeys(s: string): string[] {
  const keys: string[] = [];
  let count = 0;
  for (const group of s.split(';')) {
    const m = /^(\w+)@([\d,-]+)$/.exec(group);
    if (!m) throw new Error(`share link: keys group ${JSON.stringify(group)} is not <module>@<layers>`);
    const layers: number[] = [];
    for (const part of m[2]!.split(',')) {
      const r = /^(\d+)(?:-(\d+))?$/.exec(part);
      if (!r) throw new Error(`share link: keys layers ${JSON.stringify(part)} is not a number or a range a-b`);
      const [a, b] = [Number(r[1]), Number(r[2] ?? r[1])];
      if (b < a || b >= MAX_LAYER) throw new Error(`share link: keys range ${part} is empty or past layer ${MAX_LAYER - 1}`);
      // a link is text from anyone: the key list is bounded before it is built (as vectors' d is)
      if (count + b - a + 1 > MAX_KEYS) throw new Error(`share link: keys name more than ${MAX_KEYS} linear layers`);
      count += b - a + 1;
      for (let l = a; l <= b; l++) layers.push(l);
    }
    keys.push(...loraKeys([m[1]!], layers));
  }
  return sortKeys(keys);
}

export function encodeAdapterShare(rec: AdapterRecord): string {
  validateAdapterRecord(rec);
  const a = rec.adapter;
  if (a.rank !== 1) {
    throw new Error(`share links carry rank-1 adapters only: this one is rank ${a.rank} with ${a.data.length} parameters (${(a.data.length * 2 / 1024).toFixed(0)} KiB as f16); export it as PEFT files instead`);
  }
  const bad = a.data.findIndex((x) => Math.abs(x) > F16_MAX);
  if (bad >= 0) throw new Error(`adapter: θ[${bad}] = ${a.data[bad]} is beyond the f16 range (±65504)`);
  const h = new Uint16Array(a.data.length);
  for (let i = 0; i < h.length; i++) h[i] = floatToHalf(a.data[i]!);
  return (
    `#a=${ADAPTER_SHARE_VERSION}&model=${encodeURIComponent(rec.modelId)}&r=1&alpha=${String(a.alpha)}` +
    `&keys=${encodeURIComponent(compactKeys(a.keys))}&name=${encodeURIComponent(rec.name)}&n=${h.length}&f16=${toBase64Url(new Uint8Array(h.buffer))}`
  );
}

/** True when a fragment holds an adapter (a=…) rather than a vector (v=…). */
export function isAdapterShare(hash: string): boolean {
  const i = hash.indexOf('#');
  return new URLSearchParams(i >= 0 ? hash.slice(i + 1) : hash).has('a');
}

export function decodeAdapterShare(hash: string): AdapterRecord {
  const i = hash.indexOf('#');
  const p = new URLSearchParams(i >= 0 ? hash.slice(i + 1) : hash);
  const field = (k: string) => {
    const v = p.get(k);
    if (v === null || v === '') throw new Error(`share link: missing ${k}`);
    return v;
  };
  const version = field('a');
  if (version !== ADAPTER_SHARE_VERSION) throw new Error(`share link: a=${version} is not a supported adapter version (expected ${ADAPTER_SHARE_VERSION})`);
  const modelId = field('model');
  if (field('r') !== '1') throw new Error(`share link: r=${p.get('r')}; links carry rank-1 adapters only`);
  const alpha = Number(field('alpha'));
  if (!Number.isFinite(alpha) || alpha <= 0) throw new Error(`share link: alpha must be a positive number, got ${JSON.stringify(p.get('alpha'))}`);
  const keys = expandKeys(field('keys'));
  const nS = field('n');
  if (!/^[1-9]\d*$/.test(nS)) throw new Error(`share link: n must be a positive integer, got ${JSON.stringify(nS)}`);
  const n = Number(nS);
  const bytes = fromBase64Url(field('f16'), 'share link: f16');
  if (bytes.length !== 2 * n) throw new Error(`share link: f16 has ${bytes.length} bytes, expected ${2 * n} for n=${n}`);
  const h = new Uint16Array(Uint8Array.from(bytes).buffer);
  const data = Float32Array.from(h, halfToFloat);
  const bad = data.findIndex((x) => !Number.isFinite(x));
  if (bad >= 0) throw new Error(`share link: f16 element ${bad} is ${data[bad]} (NaN/Infinity are not valid)`);
  const rec: AdapterRecord = {
    name: p.get('name') || 'shared adapter',
    modelId,
    adapter: { kind: 'lora', rank: 1, alpha, keys, data },
    createdAt: new Date().toISOString(),
    provenance: { source: 'share-link', encoding: 'f16' },
  };
  validateAdapterRecord(rec, 'share link');
  return rec;
}
