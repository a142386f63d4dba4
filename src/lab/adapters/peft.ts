// Adapters as PEFT writes them: adapter_model.safetensors with tensors
//   base_model.model.model.layers.<i>.<self_attn|mlp>.<q|k|v|o|gate|up|down>_proj.lora_<A|B>.weight
// (lora_A [r, in], lora_B [out, r], float32) and adapter_config.json (peft_type LORA, r, lora_alpha,
// target_modules, layers_to_transform, …). PeftModel.from_pretrained loads these, and llama.cpp's
// convert_lora_to_gguf.py reads the same two files. θ's layout is PEFT's (lora.ts), so export and import are copies.

import type { ModelConfig } from '../../models/config';
import { parseSafetensorsHeader, readSafetensorsRaw, writeSafetensors } from '../../models/safetensors';
import { loraLayout, parseModule, peftModuleName, sortKeys, splitKey, validateShape, type Adapter, type LoraModule } from './lora';

const ATTN = new Set<LoraModule>(['q', 'k', 'v', 'o']);
const TENSOR_RE = /(?:^|\.)layers\.(\d+)\.(?:self_attn|mlp)\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)\.lora_(A|B)(?:\.[\w-]+)?\.weight$/;

export function peftTensorName(key: string, part: 'A' | 'B'): string {
  const { layer, module } = splitKey(key);
  return `base_model.model.model.layers.${layer}.${ATTN.has(module) ? 'self_attn' : 'mlp'}.${peftModuleName(module)}.lora_${part}.weight`;
}

export interface PeftFiles {
  /** adapter_model.safetensors */
  weights: Uint8Array;
  /** adapter_config.json, as text */
  config: string;
}

/**
 * adapter_config.json for an adapter: target_modules are the module names, layers_to_transform the layers when
 * every module sits on every listed layer (null when that is every layer of the model, as PEFT writes it);
 * otherwise target_modules lists the full module paths (PEFT matches either by suffix).
 */
export function peftConfig(a: Adapter, baseModel: string | null, numLayers?: number): Record<string, unknown> {
  const parts = a.keys.map(splitKey);
  const modules = [...new Set(parts.map((p) => p.module))];
  const layers = [...new Set(parts.map((p) => p.layer))].sort((x, y) => x - y);
  const product = modules.length * layers.length === a.keys.length;
  return {
    alpha_pattern: {},
    base_model_name_or_path: baseModel,
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    layers_pattern: null,
    layers_to_transform: product && layers.length !== numLayers ? layers : null,
    lora_alpha: a.alpha,
    lora_bias: false,
    lora_dropout: 0.0,
    modules_to_save: null,
    peft_type: 'LORA',
    r: a.rank,
    rank_pattern: {},
    revision: null,
    target_modules: product
      ? modules.map(peftModuleName)
      : parts.map((p) => `model.layers.${p.layer}.${ATTN.has(p.module) ? 'self_attn' : 'mlp'}.${peftModuleName(p.module)}`),
    task_type: 'CAUSAL_LM',
    use_dora: false,
    use_rslora: false,
  };
}

export function exportPeft(a: Adapter, cfg: ModelConfig, baseModel: string | null = null): PeftFiles {
  const { entries, size } = loraLayout(cfg, a);
  if (a.data.length !== size) throw new Error(`adapter has ${a.data.length} parameters, its shape needs ${size}`);
  const t = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const e of entries) {
    t.set(peftTensorName(e.key, 'A'), { shape: [a.rank, e.K], data: a.data.slice(e.aOff, e.aOff + a.rank * e.K) });
    t.set(peftTensorName(e.key, 'B'), { shape: [e.N, a.rank], data: a.data.slice(e.bOff, e.bOff + e.N * a.rank) });
  }
  return { weights: writeSafetensors(t, { format: 'pt' }), config: JSON.stringify(peftConfig(a, baseModel, cfg.numLayers), null, 2) };
}

/**
 * Reads PEFT's two files into an adapter for `cfg`'s model. Refuses what the lab's adapters cannot express
 * (DoRA, rsLoRA, per-module ranks or alphas, bias training, embeddings) with the field that says so.
 */
export function importPeft(files: PeftFiles, cfg: ModelConfig, names = { weights: 'adapter_model.safetensors', config: 'adapter_config.json' }): Adapter {
  let c: Record<string, unknown>;
  try {
    c = JSON.parse(files.config) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${names.config} is not valid JSON (${(e as Error).message})`);
  }
  if (!c || typeof c !== 'object') throw new Error(`${names.config} is not a JSON object`);
  if (c.peft_type !== undefined && c.peft_type !== 'LORA') throw new Error(`${names.config}: peft_type is ${JSON.stringify(c.peft_type)}, only LORA adapters can be imported`);
  const r = c.r;
  const alpha = c.lora_alpha ?? r;
  if (typeof r !== 'number' || !Number.isInteger(r) || r < 1) throw new Error(`${names.config}: r must be a positive integer, got ${JSON.stringify(r)}`);
  if (typeof alpha !== 'number' || !(alpha > 0)) throw new Error(`${names.config}: lora_alpha must be a positive number, got ${JSON.stringify(alpha)}`);
  if (c.use_dora) throw new Error(`${names.config}: use_dora is true; DoRA adapters are not supported`);
  if (c.use_rslora) throw new Error(`${names.config}: use_rslora is true; rank-stabilised scaling (alpha/√r) is not supported`);
  if (c.fan_in_fan_out) throw new Error(`${names.config}: fan_in_fan_out is true (Conv1D-style weights); only nn.Linear adapters are supported`);
  for (const k of ['rank_pattern', 'alpha_pattern'] as const) {
    const v = c[k];
    if (v && typeof v === 'object' && Object.keys(v).length) throw new Error(`${names.config}: ${k} sets per-module values (${Object.keys(v).join(', ')}); one rank and alpha for all modules is supported`);
  }
  if (c.lora_bias) throw new Error(`${names.config}: lora_bias is true; adapters with a bias on lora_B are not supported`);
  if (c.bias !== undefined && c.bias !== 'none') throw new Error(`${names.config}: bias is ${JSON.stringify(c.bias)}; adapters that train biases are not supported`);
  if (Array.isArray(c.modules_to_save) && c.modules_to_save.length) throw new Error(`${names.config}: modules_to_save (${c.modules_to_save.join(', ')}) holds fully trained modules; not supported`);

  const hdr = parseSafetensorsHeader(files.weights, names.weights);
  const found = new Map<string, { A?: string; B?: string }>();
  for (const name of hdr.tensors.keys()) {
    const m = TENSOR_RE.exec(name);
    if (!m) throw new Error(`${names.weights}: tensor ${name} is not a LoRA factor of a decoder linear layer (q/k/v/o/gate/up/down_proj)`);
    const key = `layers.${m[1]}.${parseModule(m[2]!)}`;
    const slot = found.get(key) ?? {};
    if (slot[m[3] as 'A' | 'B']) throw new Error(`${names.weights}: two lora_${m[3]} tensors for ${key} (${slot[m[3] as 'A' | 'B']} and ${name})`);
    slot[m[3] as 'A' | 'B'] = name;
    found.set(key, slot);
  }
  if (!found.size) throw new Error(`${names.weights}: no LoRA tensors`);
  const keys = sortKeys([...found.keys()]);
  const a: Adapter = { kind: 'lora', rank: r, alpha, keys, data: new Float32Array(0) };
  validateShape(a, cfg);
  const { entries, size } = loraLayout(cfg, a);
  const raw = readSafetensorsRaw(files.weights, names.weights);
  a.data = new Float32Array(size);
  for (const e of entries) {
    const slot = found.get(e.key)!;
    for (const [part, off, shape] of [['A', e.aOff, [r, e.K]], ['B', e.bOff, [e.N, r]]] as const) {
      const name = slot[part];
      if (!name) throw new Error(`${names.weights}: ${e.key} has lora_${part === 'A' ? 'B' : 'A'} but no lora_${part}`);
      const t = raw.get(name)!;
      if (t.shape.join() !== shape.join()) throw new Error(`${names.weights}: ${name} has shape [${t.shape}], this model needs [${shape}] (r = ${r})`);
      if (!(t.data instanceof Float32Array)) throw new Error(`${names.weights}: ${name} is ${t.dtype}, not a float tensor`);
      a.data.set(t.data, off);
    }
  }
  return a;
}
