// Shared helpers for the data/tokenizer tests: paths to ../shared, a folder FileSource, and a minimal
// safetensors reader (header JSON + little-endian I32 tensors), enough to read the reference masks.
import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import path from 'node:path';
export { dirSource } from '../../src/models/file_source';
import type { ChatRole } from '../../src/models/tokenizer';

export const REPO_ROOT = path.resolve(__dirname, '../..');
export const SHARED = path.resolve(REPO_ROOT, '../shared');
export const REFERENCE = path.join(SHARED, 'reference');
export const DATASETS = path.join(SHARED, 'datasets');

export interface I32Tensor {
  shape: number[];
  data: Int32Array;
}

/** Reads the I32 tensors of a safetensors file (the format: u64 header length, JSON header, raw data). */
export function readSafetensorsI32(file: string): Record<string, I32Tensor> {
  const buf = readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] }
  >;
  const out: Record<string, I32Tensor> = {};
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__' || t.dtype !== 'I32') continue;
    const [s, e] = t.data_offsets;
    const bytes = buf.subarray(8 + n + s, 8 + n + e);
    // copy into an aligned buffer: the slice's offset in the file need not be a multiple of 4
    const data = new Int32Array(new Uint8Array(bytes).buffer);
    out[name] = { shape: t.shape, data };
  }
  return out;
}

export interface RefConversation {
  role: ChatRole;
  content: string;
}

export function readReferenceJson(dir: string): { text: RefConversation[][]; seq: number; rows: number } {
  return JSON.parse(readFileSync(path.join(dir, 'reference.json'), 'utf8'));
}
