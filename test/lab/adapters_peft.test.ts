// PEFT files: our exporter writes PEFT's tensor names, shapes, dtype and config keys (compared with files PEFT
// itself saved, test/fixtures/lora), our importer reads PEFT's files, export → import is exact, and files we
// wrote load in PEFT (PeftModel.from_pretrained on the GPU box) with every tensor placed and PEFT's logits equal
// to ours. Bad files are refused with the field that is wrong.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CompiledGraph } from '../../src/engine/runtime/session';
import { buildAdapterGraph } from '../../src/models/adapter_graph';
import { parseHfConfig } from '../../src/models/config_parse';
import { parseSafetensorsHeader, writeSafetensors } from '../../src/models/safetensors';
import { loraFeeds, loraSpec } from '../../src/lab/adapters/lora';
import { exportPeft, importPeft, peftTensorName } from '../../src/lab/adapters/peft';
import { hasLoraFixtures, LORA_FIXTURES, REF, tinyModel } from '../models/adapter_fixture';
import { exportCheckAdapters, EXPORT_CHECK_IDS } from './adapters_export_cases';

const cfgOf = (arch: string) => parseHfConfig(JSON.parse(readFileSync(path.join(REF, arch, 'config.json'), 'utf8')));
const peftFiles = (dir: string) => ({ weights: new Uint8Array(readFileSync(path.join(dir, 'adapter_model.safetensors'))), config: readFileSync(path.join(dir, 'adapter_config.json'), 'utf8') });

describe('PEFT export and import', () => {
  it('export → import gives the same adapter; names and shapes are PEFT’s', () => {
    const cfg = cfgOf('qwen2');
    for (const [name, a] of Object.entries(exportCheckAdapters(cfg))) {
      const f = exportPeft(a, cfg, 'tiny');
      const back = importPeft(f, cfg);
      expect(back.keys, name).toEqual(a.keys);
      expect(back.rank).toBe(a.rank);
      expect(back.alpha).toBe(a.alpha);
      expect(Array.from(back.data)).toEqual(Array.from(a.data));
    }
    const h = parseSafetensorsHeader(exportPeft(exportCheckAdapters(cfg).mixed!, cfg).weights);
    expect(Object.fromEntries([...h.tensors].map(([k, t]) => [k, [t.dtype, t.shape]]))).toEqual({
      'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight': ['F32', [2, 64]],
      'base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight': ['F32', [64, 2]],
      'base_model.model.model.layers.2.mlp.down_proj.lora_A.weight': ['F32', [2, 128]],
      'base_model.model.model.layers.2.mlp.down_proj.lora_B.weight': ['F32', [64, 2]],
    });
  });

  it('refuses what it cannot express, naming the field', () => {
    const cfg = cfgOf('qwen2');
    const a = exportCheckAdapters(cfg).r1down!;
    const f = exportPeft(a, cfg);
    const withCfg = (over: Record<string, unknown>) => ({ ...f, config: JSON.stringify({ ...JSON.parse(f.config), ...over }) });
    expect(() => importPeft(withCfg({ use_dora: true }), cfg)).toThrow('adapter_config.json: use_dora is true');
    expect(() => importPeft(withCfg({ use_rslora: true }), cfg)).toThrow('use_rslora is true');
    expect(() => importPeft(withCfg({ rank_pattern: { down_proj: 4 } }), cfg)).toThrow('rank_pattern sets per-module values (down_proj)');
    expect(() => importPeft(withCfg({ peft_type: 'IA3' }), cfg)).toThrow('peft_type is "IA3"');
    expect(() => importPeft(withCfg({ r: 2 }), cfg)).toThrow(/lora_A.weight has shape \[1,128\], this model needs \[2,128\] \(r = 2\)/);
    expect(() => importPeft({ ...f, config: '{r: 1' }, cfg)).toThrow('adapter_config.json is not valid JSON');
    const odd = writeSafetensors({ 'base_model.model.lm_head.lora_A.weight': { shape: [1, 64], data: new Float32Array(64) } });
    expect(() => importPeft({ ...f, weights: odd }, cfg)).toThrow('tensor base_model.model.lm_head.lora_A.weight is not a LoRA factor of a decoder linear layer');
    const onlyA = writeSafetensors({ [peftTensorName('layers.1.down', 'A')]: { shape: [1, 128], data: new Float32Array(128) } });
    expect(() => importPeft({ ...f, weights: onlyA }, cfg)).toThrow('layers.1.down has lora_A but no lora_B');
    expect(() => importPeft(f, cfgOf('qwen2-hub'))).toThrow(/this model needs/);
  });
});

describe.skipIf(!hasLoraFixtures())('against files PEFT wrote and read', () => {
  it('imports PEFT-saved adapters; our export of them has PEFT’s tensor names, shapes, dtype and config values', () => {
    for (const arch of ['qwen2', 'gemma2']) {
      const cfg = cfgOf(arch);
      for (const c of ['two', 'all', 'r1down']) {
        const dir = path.join(LORA_FIXTURES, arch, c, 'adapter');
        const theirs = peftFiles(dir);
        const a = importPeft(theirs, cfg);
        const ours = exportPeft(a, cfg, null);
        const th = parseSafetensorsHeader(theirs.weights);
        const oh = parseSafetensorsHeader(ours.weights);
        const sig = (h: typeof th) => Object.fromEntries([...h.tensors].map(([k, t]) => [k, `${t.dtype}[${t.shape}]`]));
        expect(sig(oh), `${arch}/${c}`).toEqual(sig(th));
        const tc = JSON.parse(theirs.config);
        const oc = JSON.parse(ours.config);
        for (const k of Object.keys(oc)) expect(Object.keys(tc), `${arch}/${c}: our config key ${k}`).toContain(k);
        for (const k of ['peft_type', 'r', 'lora_alpha', 'lora_bias', 'bias', 'use_dora', 'use_rslora', 'fan_in_fan_out', 'lora_dropout', 'layers_to_transform', 'modules_to_save', 'rank_pattern', 'alpha_pattern']) {
          expect(oc[k], `${arch}/${c} ${k}`).toEqual(tc[k]);
        }
        expect([...oc.target_modules].sort(), `${arch}/${c} target_modules`).toEqual([...tc.target_modules].sort());
      }
    }
  });

  const loaded = path.join(LORA_FIXTURES, 'ours_loaded.json');
  it.skipIf(!existsSync(loaded))('PEFT loads the files we wrote, every tensor placed, with our logits', async () => {
    const res = JSON.parse(readFileSync(loaded, 'utf8')) as Record<string, { ok: boolean; max_abs_param_diff: number; logits: number[]; logits_shape: number[]; error?: string }>;
    for (const arch of ['qwen2', 'gemma2']) {
      const model = await tinyModel(arch);
      for (const [name, a] of Object.entries(exportCheckAdapters(model.config))) {
        const r = res[`${arch}-${name}`]!;
        expect(r?.ok, `${arch}-${name}: ${r?.error ?? JSON.stringify(r)}`).toBe(true);
        expect(r.max_abs_param_diff).toBe(0);
        const T = EXPORT_CHECK_IDS.length;
        const g = await CompiledGraph.create(model.store.backend, buildAdapterGraph(model, { lora: loraSpec(a), ce: false, logits: ['lora', 'chat'] }).graph, model.store);
        const o = await g.run({
          ids: { dtype: 'int64', shape: [1, T], data: BigInt64Array.from(EXPORT_CHECK_IDS, BigInt) },
          mask: { dtype: 'int64', shape: [1, T], data: new BigInt64Array(T).fill(1n) },
          ...loraFeeds(model.config, a, a.data),
        });
        const ours = o.logits_lora!.data as Float32Array;
        const chat = o.logits_chat!.data as Float32Array;
        let err = 0;
        let scale = 0;
        let moved = 0;
        r.logits.forEach((x, i) => {
          err = Math.max(err, Math.abs(x - ours[i]!));
          scale = Math.max(scale, Math.abs(x));
          moved = Math.max(moved, Math.abs(x - chat[i]!));
        });
        expect(err / scale, `${arch}-${name} logits`).toBeLessThan(1e-4);
        expect(moved / scale, `${arch}-${name}: the adapter changes the logits`).toBeGreaterThan(1e-2);
        await g.release();
      }
      model.store.dispose();
    }
  });
});
