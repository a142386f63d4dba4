// Shared by the adapter tests: a tiny reference model (../shared/reference/<arch>) on the wasm EP, its
// reference.safetensors inputs as graph feeds, and the PEFT fixtures made by scripts/lora/make_lora_reference.py.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createBackend } from '../../src/engine/runtime/backend';
import type { TensorData } from '../../src/engine/ir';
import { parseHfConfig } from '../../src/models/config_parse';
import { attendedRows, labelRows } from '../../src/models/losses';
import { LoadedModel } from '../../src/models/model';
import { readSafetensors, readSafetensorsRaw } from '../../src/models/safetensors';
import { weightsFromSafetensors } from '../../src/models/safetensors_weights';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REF = path.resolve(HERE, '../../../shared/reference');
/** PEFT's answers, unpacked from the GPU job's result (test/fixtures/lora/<arch>/<case>/) */
export const LORA_FIXTURES = path.resolve(HERE, '../fixtures/lora');

export async function tinyModel(arch: string): Promise<LoadedModel> {
  const dir = path.join(REF, arch);
  const cfg = parseHfConfig(JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8')));
  return LoadedModel.create(await createBackend({ prefer: 'wasm' }), cfg, weightsFromSafetensors(cfg, readSafetensors(readFileSync(path.join(dir, 'model.safetensors')))));
}

const i64 = (shape: number[], a: ArrayLike<number>): TensorData => ({ dtype: 'int64', shape, data: BigInt64Array.from(Array.from(a), BigInt) });

/** ids, mask, ce_index, ce_target and kl_index (every attended token) of the reference batch */
export function referenceFeeds(arch: string): { feeds: Record<string, TensorData>; lambda: number } {
  const ref = readSafetensorsRaw(readFileSync(path.join(REF, arch, 'reference.safetensors')));
  const ids = ref.get('input_ids')!;
  const [B, T] = ids.shape as [number, number];
  const mask = ref.get('attention_mask')!.data as Int32Array;
  const rows = labelRows(ids.data as Int32Array, ref.get('loss_mask')!.data as Int32Array, B, T);
  const kl = attendedRows(mask);
  const lambda = JSON.parse(readFileSync(path.join(REF, arch, 'reference.json'), 'utf8')).lambda_kl as number;
  return {
    feeds: {
      ids: i64([B, T], ids.data as Int32Array),
      mask: i64([B, T], mask),
      ce_index: { dtype: 'int64', shape: [rows.index.length], data: rows.index },
      ce_target: { dtype: 'int64', shape: [rows.target.length], data: rows.target },
      kl_index: { dtype: 'int64', shape: [kl.length], data: kl },
    },
    lambda,
  };
}

export function referenceJson(arch: string): Record<string, number> {
  return JSON.parse(readFileSync(path.join(REF, arch, 'reference.json'), 'utf8'));
}

export function hasLoraFixtures(): boolean {
  return existsSync(path.join(LORA_FIXTURES, 'qwen2', 'two', 'reference.json'));
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    d += a[i]! * b[i]!;
    na += a[i]! ** 2;
    nb += b[i]! ** 2;
  }
  return d / Math.sqrt(na * nb);
}
