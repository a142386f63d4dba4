// Loads a model's config and weights from any FileSource: safetensors first (exact weights), else an ONNX
// export (onnx-community layout: onnx/model_q4f16.onnx, model_q4.onnx, model.onnx, with external data).

import type { ModelConfig } from './config';
import { parseHfConfig } from './config_parse';
import { SourceError, type FetchProgress, type FileSource } from './file_source';
import { decodeModel } from '../engine/onnx/proto';
import { describeOnnx, type OnnxFacts } from './onnx_layout';
import { weightsFromOnnx } from './onnx_weights';
import { readSafetensors } from './safetensors';
import { weightsFromSafetensors } from './safetensors_weights';
import type { ModelWeights } from './weights';

/** ONNX files tried in order (onnx-community layout first); external data is read by each initializer's location */
export const ONNX_CANDIDATES = ['onnx/model_q4f16.onnx', 'onnx/model_q4.onnx', 'onnx/model.onnx', 'model_q4f16.onnx', 'model_q4.onnx', 'model.onnx'];

export interface LoadOptions {
  prefer?: 'safetensors' | 'onnx';
  /** a specific ONNX file in the repository */
  onnxFile?: string;
  onProgress?: (p: FetchProgress) => void;
}

export interface LoadedFiles {
  config: ModelConfig;
  weights: ModelWeights;
  format: string;
  /** bytes downloaded or read */
  bytes: number;
  /** the ONNX file read and what kind of export it is (layout, dtype, external files) */
  onnx?: { file: string; bytes: number } & OnnxFacts;
}

export async function loadModel(src: FileSource, opts: LoadOptions = {}): Promise<LoadedFiles> {
  let bytes = 0;
  const get = async (p: string) => {
    const b = await src.get(p, opts.onProgress);
    bytes += b.byteLength;
    return b;
  };
  if (!(await src.has('config.json'))) throw new Error(`${src.id} has no config.json`);
  let cfgJson: unknown;
  try {
    cfgJson = JSON.parse(new TextDecoder().decode(await get('config.json')));
  } catch (e) {
    throw new Error(`${src.id}/config.json is not valid JSON: ${(e as Error).message}`);
  }
  const config = parseHfConfig(cfgJson, `${src.id}/config.json`);
  // Probing weight files: an unreachable network counts as "not here", so a browser that cached an ONNX export can
  // reload it offline even though the probe for model.safetensors fails; the error is reported if nothing is found.
  let unreachable: SourceError | undefined;
  const has = async (p: string) => {
    try {
      return await src.has(p);
    } catch (e) {
      if (e instanceof SourceError && e.kind === 'network') {
        unreachable ??= e;
        return false;
      }
      throw e;
    }
  };

  const trySafetensors = async (): Promise<LoadedFiles | null> => {
    if (await has('model.safetensors')) {
      const w = weightsFromSafetensors(config, readSafetensors(await get('model.safetensors'), 'model.safetensors'));
      return { config, weights: w, format: 'safetensors', bytes };
    }
    if (await has('model.safetensors.index.json')) {
      const where = `${src.id}/model.safetensors.index.json`;
      let idx: { weight_map?: unknown };
      try {
        idx = JSON.parse(new TextDecoder().decode(await get('model.safetensors.index.json')));
      } catch (e) {
        throw new Error(`${where} is not valid JSON: ${(e as Error).message}`);
      }
      const map = idx?.weight_map;
      if (!map || typeof map !== 'object' || !Object.values(map).every((v) => typeof v === 'string')) {
        throw new Error(`${where} has no weight_map of tensor name → shard file`);
      }
      const tensors = new Map<string, { dtype: string; shape: number[]; data: Float32Array }>();
      const shards = [...new Set(Object.values(map as Record<string, string>))];
      for (const shard of shards) {
        for (const [k, v] of readSafetensors(await get(shard), shard)) tensors.set(k, v);
      }
      const weights = weightsFromSafetensors(config, tensors, `the shards of ${where} (${shards.join(', ')})`);
      return { config, weights, format: 'safetensors (sharded)', bytes };
    }
    return null;
  };
  const tryOnnx = async (): Promise<LoadedFiles | null> => {
    const candidates = opts.onnxFile ? [opts.onnxFile] : ONNX_CANDIDATES;
    for (const file of candidates) {
      if (!(await has(file))) continue;
      const dir = file.includes('/') ? file.slice(0, file.lastIndexOf('/') + 1) : '';
      const before = bytes;
      const fileBytes = await get(file);
      const facts = describeOnnx(decodeModel(fileBytes), file);
      const weights = await weightsFromOnnx(config, fileBytes, (loc) => get(dir + loc), file);
      return { config, weights, format: `onnx (${file})`, bytes, onnx: { file, ...facts, bytes: bytes - before } };
    }
    return null;
  };
  const order = opts.prefer === 'onnx' || opts.onnxFile ? [tryOnnx, trySafetensors] : [trySafetensors, tryOnnx];
  for (const attempt of order) {
    const r = await attempt();
    if (r) return r;
  }
  const looked = ['model.safetensors', 'model.safetensors.index.json', ...(opts.onnxFile ? [opts.onnxFile] : ONNX_CANDIDATES)].join(', ');
  if (unreachable) throw new Error(`${src.id}: found no weights it could reach (looked for ${looked}); ${unreachable.message}`);
  throw new Error(`${src.id} has no weights steerlab can read (looked for ${looked})`);
}
