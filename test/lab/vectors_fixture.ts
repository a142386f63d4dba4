// Shared by the vectors_* tests: the steering vector stored in the reference fixtures.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readSafetensorsRaw } from '../../src/models/safetensors';

export const REF = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/reference');

export function fixtureVector(arch: 'qwen2' | 'qwen2-hub' | 'gemma3-hub' = 'qwen2'): { v: Float32Array; layer: number } {
  const f = readSafetensorsRaw(readFileSync(path.join(REF, arch, 'reference.safetensors')), `${arch}/reference.safetensors`);
  const layer = JSON.parse(readFileSync(path.join(REF, arch, 'reference.json'), 'utf8')).steer_layer as number;
  return { v: f.get('steer_vector')!.data as Float32Array, layer };
}

/** Deterministic Gaussian values (mulberry32 + Box–Muller) for model-sized vectors. */
export function gaussian(n: number, seed: number, sd = 1): Float32Array {
  let s = seed >>> 0;
  const rnd = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = sd * Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
  return out;
}
