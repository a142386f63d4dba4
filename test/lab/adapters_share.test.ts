// Adapter share links: a rank-1 adapter round-trips through the fragment at f16 precision, the key list
// compacts and expands exactly, bigger adapters are refused with their size, bad links name the field.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { floatToHalf, halfToFloat } from '../../src/engine/dtype';
import { parseHfConfig } from '../../src/models/config_parse';
import { LORA_MODULES, loraKeys, loraLayout, type Adapter } from '../../src/lab/adapters/lora';
import { validateAdapterRecord, type AdapterRecord } from '../../src/lab/adapters/record';
import { compactKeys, decodeAdapterShare, encodeAdapterShare, expandKeys, isAdapterShare } from '../../src/lab/adapters/share';
import { Rng } from '../../src/lab/rng';
import { REF } from '../models/adapter_fixture';

const cfg = parseHfConfig(JSON.parse(readFileSync(path.join(REF, 'qwen2', 'config.json'), 'utf8')));
const record = (a: Omit<Adapter, 'data'>): AdapterRecord => {
  const rng = new Rng(9);
  const { size } = loraLayout(cfg, { ...a, kind: 'lora' });
  return { name: 'general r1', modelId: 'tiny/qwen2', adapter: { ...a, data: Float32Array.from({ length: size }, () => rng.gaussian() * 0.1) }, createdAt: new Date().toISOString(), provenance: {} };
};

describe('adapter share links', () => {
  it('round-trips a rank-1 adapter at f16 precision', () => {
    const rec = record({ kind: 'lora', rank: 1, alpha: 256, keys: loraKeys(['down'], [0, 1, 2, 3]) });
    const frag = encodeAdapterShare(rec);
    expect(frag).toMatch(/^#a=1&model=tiny%2Fqwen2&r=1&alpha=256&keys=down%400-3&name=general%20r1&n=768&f16=/);
    expect(isAdapterShare(frag)).toBe(true);
    expect(isAdapterShare('#v=1&model=x')).toBe(false);
    const back = decodeAdapterShare(`https://lab.example/${frag}`);
    expect(back.adapter.keys).toEqual(rec.adapter.keys);
    expect(back.adapter.alpha).toBe(256);
    expect(back.name).toBe('general r1');
    // exactly the f16 rounding of θ
    expect(Array.from(back.adapter.data)).toEqual(Array.from(rec.adapter.data, (x) => halfToFloat(floatToHalf(x))));
    validateAdapterRecord(back, 'decoded', cfg);
  });

  it('compacts key lists and expands them back', () => {
    const keys = [...loraKeys(['q', 'down'], [1, 2, 3, 7]), ...loraKeys([...LORA_MODULES], [0])];
    const c = compactKeys(keys.slice().sort());
    expect(c).toBe('q@0-3,7;k@0;v@0;o@0;gate@0;up@0;down@0-3,7');
    expect(expandKeys(c)).toEqual(expandKeys(compactKeys(keys)));
    expect(new Set(expandKeys(c))).toEqual(new Set(keys));
    // a link is anyone's text: the key list is bounded before it is built
    expect(() => expandKeys('down@0-5000')).toThrow('share link: keys range 0-5000 is empty or past layer 4095');
    expect(() => expandKeys(`down@${Array(8).fill('0-4095').join(',')}`)).toThrow('share link: keys name more than 28672 linear layers');
  });

  it('refuses bigger adapters with their size, and names bad fields', () => {
    const big = record({ kind: 'lora', rank: 32, alpha: 64, keys: loraKeys([...LORA_MODULES], [0, 1, 2, 3]) });
    expect(() => encodeAdapterShare(big)).toThrow(`share links carry rank-1 adapters only: this one is rank 32 with ${big.adapter.data.length} parameters (${((big.adapter.data.length * 2) / 1024).toFixed(0)} KiB as f16); export it as PEFT files instead`);
    const frag = encodeAdapterShare(record({ kind: 'lora', rank: 1, alpha: 4, keys: ['layers.2.down'] }));
    expect(() => decodeAdapterShare(frag.replace('r=1', 'r=2'))).toThrow('share link: r=2; links carry rank-1 adapters only');
    expect(() => decodeAdapterShare(frag.replace('&n=192', '&n=191'))).toThrow('share link: f16 has 384 bytes, expected 382 for n=191');
    expect(() => decodeAdapterShare(frag.replace('keys=down%402', 'keys=mlp%402'))).toThrow('unknown LoRA module "mlp"');
    expect(() => decodeAdapterShare(frag.replace('a=1', 'a=9'))).toThrow('share link: a=9 is not a supported adapter version');
    expect(() => decodeAdapterShare(frag.replace(/&alpha=[^&]+/, ''))).toThrow('share link: missing alpha');
    // θ of another shape than the model's: the record check against the model says so
    const wrong = decodeAdapterShare(frag);
    wrong.adapter.keys = ['layers.2.q'];
    expect(() => validateAdapterRecord(wrong, 'link', cfg)).toThrow('link: θ has 192 values, the shape needs 128 on this model');
  });
});
