// Reading a dropped or chosen file into vectors (GGUF control vector, safetensors, lab report) or a plan, and
// writing a vector out. The kind is told by the bytes, not only the name, so a renamed file still works and a
// wrong one gets a message that says what it is not.

import { vectorsFromGguf, vectorToGguf } from '../../lab/vectors/gguf';
import { vectorFromSafetensors, vectorToSafetensors } from '../../lab/vectors/safetensors';
import type { SteeringVector } from '../../lab/vectors/vector';
import { parseLabJson, type JsonImport } from './report';

export type FileImport = { kind: 'vectors'; vectors: SteeringVector[]; format: string } | JsonImport;

export async function readVectorFile(file: { name: string; arrayBuffer(): Promise<ArrayBuffer> }, defaults: { modelId?: string } = {}): Promise<FileImport> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  if (bytes.length === 0) throw new Error(`${file.name} is empty`);
  const magic = String.fromCharCode(...bytes.subarray(0, 4));
  if (magic === 'GGUF' || /\.gguf$/i.test(file.name)) {
    return { kind: 'vectors', vectors: vectorsFromGguf(bytes, file.name, defaults), format: 'GGUF' };
  }
  if (/\.safetensors$/i.test(file.name) || (bytes.length > 9 && bytes[8] === 0x7b)) {
    return { kind: 'vectors', vectors: [vectorFromSafetensors(bytes, file.name, defaults)], format: 'safetensors' };
  }
  const text = new TextDecoder().decode(bytes);
  if (/^\s*[{[]/.test(text)) return parseLabJson(text, file.name);
  throw new Error(`${file.name} is not a GGUF control vector, a safetensors vector or a steerlab plan/report JSON`);
}

/** llama.cpp wants the architecture name (model_type) as the hint. */
export function ggufBytes(v: SteeringVector, modelType: string): Uint8Array {
  return vectorToGguf(v, modelType);
}

export function safetensorsBytes(v: SteeringVector): Uint8Array {
  return vectorToSafetensors(v);
}
