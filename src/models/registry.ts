// The hub models steerlab offers (models/registry.json), validated when loaded so a typo in the JSON fails
// loudly with the field's path instead of surfacing as a confusing download or shape error later.

import registryJson from '../../models/registry.json';
import type { Arch } from './config';
import type { OnnxLayout } from './onnx_layout';

const LAYOUTS: readonly OnnxLayout[] = ['optimum', 'gemma-build', 'genai', 'torch-export'];

export const ARCHES = ['qwen2', 'qwen3', 'llama', 'gemma2', 'gemma3'] as const satisfies readonly Arch[];

export type WeightsFormat = 'onnx' | 'safetensors';

export interface WeightsFile {
  /** 'q4' (MatMulNBits, float32 activations), 'q4f16', 'bf16', … */
  dtype: string;
  /** path inside the repo */
  file: string;
  approxBytes: number;
  /** 'hub listing': read off the repo's file list; 'estimate': computed from the parameter count */
  sizeSource: 'hub listing' | 'estimate';
  /** ONNX only: which exporter's layout the file has (see onnx_layout.ts; each has a test fixture) */
  layout?: OnnxLayout;
  /** ONNX only: the external-data files beside it (counted in approxBytes) */
  externalData?: string[];
}

export interface RegistryModel {
  id: string;
  label: string;
  format: WeightsFormat;
  arch: Arch;
  /** the original Hugging Face repo the weights come from */
  baseModel: string;
  layers: number;
  dModel: number;
  vocabSize: number;
  /** layers / 2 (rounded down): the paper's relative depth (layer 24 of 48) */
  defaultSteeringLayer: number;
  defaultWeights: string;
  weights: WeightsFile[];
  tokenizerApproxBytes: number;
  notes?: string;
}

export interface ModelRegistry {
  version: 1;
  defaultModel: string;
  notes?: string;
  models: RegistryModel[];
}

type Obj = Record<string, unknown>;

function isObj(x: unknown): x is Obj {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** Validates parsed registry JSON; errors read "<source>: models[2].layers must be a positive integer (got …)". */
export function parseRegistry(json: unknown, source = 'models/registry.json'): ModelRegistry {
  const fail = (where: string, what: string, got?: unknown): never => {
    throw new Error(`${source}: ${where} ${what}${got === undefined ? '' : ` (got ${JSON.stringify(got)})`}`);
  };
  if (!isObj(json)) return fail('top level', 'must be a JSON object');
  if (json.version !== 1) fail('version', 'must be 1', json.version);
  if (!Array.isArray(json.models) || json.models.length === 0) fail('models', 'must be a non-empty array');
  const str = (o: Obj, k: string, at: string): string => {
    const v = o[k];
    if (typeof v !== 'string' || v.length === 0) fail(`${at}.${k}`, 'must be a non-empty string', v);
    return v as string;
  };
  const posInt = (o: Obj, k: string, at: string): number => {
    const v = o[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) fail(`${at}.${k}`, 'must be a positive integer', v);
    return v as number;
  };
  const repoId = (o: Obj, k: string, at: string): string => {
    const v = str(o, k, at);
    if (!/^[A-Za-z0-9][\w.-]*\/[A-Za-z0-9][\w.-]*$/.test(v)) fail(`${at}.${k}`, 'must look like "owner/name"', v);
    return v;
  };

  const seen = new Set<string>();
  const models = (json.models as unknown[]).map((m, i): RegistryModel => {
    const at = `models[${i}]`;
    if (!isObj(m)) return fail(at, 'must be an object');
    const id = repoId(m, 'id', at);
    if (seen.has(id)) fail(`${at}.id`, 'is listed twice', id);
    seen.add(id);
    const format = str(m, 'format', at);
    if (format !== 'onnx' && format !== 'safetensors') fail(`${at}.format`, 'must be "onnx" or "safetensors"', format);
    const arch = str(m, 'arch', at);
    if (!(ARCHES as readonly string[]).includes(arch)) fail(`${at}.arch`, `must be one of ${ARCHES.join(', ')}`, arch);
    const layers = posInt(m, 'layers', at);
    const dModel = posInt(m, 'dModel', at);
    const vocabSize = posInt(m, 'vocabSize', at);
    const L = m.defaultSteeringLayer;
    if (L !== Math.floor(layers / 2)) fail(`${at}.defaultSteeringLayer`, `must be layers/2 = ${Math.floor(layers / 2)}`, L);
    if (!Array.isArray(m.weights) || m.weights.length === 0) fail(`${at}.weights`, 'must be a non-empty array');
    const ext = format === 'onnx' ? '.onnx' : '.safetensors';
    const weights = (m.weights as unknown[]).map((w, j): WeightsFile => {
      const wat = `${at}.weights[${j}]`;
      if (!isObj(w)) return fail(wat, 'must be an object');
      const file = str(w, 'file', wat);
      if (!file.endsWith(ext)) fail(`${wat}.file`, `must end in ${ext} for format ${format}`, file);
      const approxBytes = posInt(w, 'approxBytes', wat);
      const sizeSource = w.sizeSource;
      if (sizeSource !== 'hub listing' && sizeSource !== 'estimate') fail(`${wat}.sizeSource`, 'must be "hub listing" or "estimate"', sizeSource);
      const extra: Pick<WeightsFile, 'layout' | 'externalData'> = {};
      if (w.layout !== undefined) {
        if (format !== 'onnx' || !(LAYOUTS as readonly unknown[]).includes(w.layout)) fail(`${wat}.layout`, `must be one of ${LAYOUTS.join(', ')} (ONNX files only)`, w.layout);
        extra.layout = w.layout as OnnxLayout;
      }
      if (w.externalData !== undefined) {
        const ok = Array.isArray(w.externalData) && w.externalData.every((x) => typeof x === 'string' && new RegExp(`^${file.replace(/[.]/g, '\\.')}(_data(_\\d+)?|\\.data)$`).test(x));
        if (!ok) fail(`${wat}.externalData`, `must list files named ${file}_data, ${file}_data_1, … (or ${file}.data)`, w.externalData);
        extra.externalData = w.externalData as string[];
      }
      return { dtype: str(w, 'dtype', wat), file, approxBytes, sizeSource: sizeSource as WeightsFile['sizeSource'], ...extra };
    });
    const defaultWeights = str(m, 'defaultWeights', at);
    if (!weights.some((w) => w.dtype === defaultWeights))
      fail(`${at}.defaultWeights`, `must be one of the weights' dtypes (${weights.map((w) => w.dtype).join(', ')})`, defaultWeights);
    if (m.notes !== undefined && typeof m.notes !== 'string') fail(`${at}.notes`, 'must be a string', m.notes);
    return {
      id,
      label: str(m, 'label', at),
      format: format as WeightsFormat,
      arch: arch as Arch,
      baseModel: repoId(m, 'baseModel', at),
      layers,
      dModel,
      vocabSize,
      defaultSteeringLayer: L as number,
      defaultWeights,
      weights,
      tokenizerApproxBytes: posInt(m, 'tokenizerApproxBytes', at),
      ...(m.notes !== undefined ? { notes: m.notes as string } : {}),
    };
  });
  const defaultModel = str(json, 'defaultModel', 'top level');
  if (!seen.has(defaultModel)) fail('defaultModel', 'is not one of the listed model ids', defaultModel);
  return { version: 1, defaultModel, models, ...(typeof json.notes === 'string' ? { notes: json.notes } : {}) };
}

let cached: ModelRegistry | undefined;

/** The bundled registry, validated once. */
export function loadRegistry(): ModelRegistry {
  cached ??= parseRegistry(registryJson);
  return cached;
}

export function getModel(id: string, reg: ModelRegistry = loadRegistry()): RegistryModel {
  const m = reg.models.find((x) => x.id === id);
  if (!m) throw new Error(`model ${JSON.stringify(id)} is not in the registry (known: ${reg.models.map((x) => x.id).join(', ')})`);
  return m;
}

export function defaultModel(reg: ModelRegistry = loadRegistry()): RegistryModel {
  return getModel(reg.defaultModel, reg);
}

/** The weights file a model downloads by default (or the named dtype). */
export function weightsFor(m: RegistryModel, dtype: string = m.defaultWeights): WeightsFile {
  const w = m.weights.find((x) => x.dtype === dtype);
  if (!w) throw new Error(`${m.id} has no ${dtype} weights (has: ${m.weights.map((x) => x.dtype).join(', ')})`);
  return w;
}
