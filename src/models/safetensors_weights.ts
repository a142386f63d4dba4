// HF checkpoint tensor names → ModelWeights. Norm scales are stored as their effective value: Gemma's
// RMSNorm multiplies by (1 + w), the others by w.

import type { ModelConfig } from './config';
import { dense, type DenseTensor, type LayerWeights, type ModelWeights } from './weights';

type Tensors = Map<string, { shape: number[]; data: Float32Array }>;

// Gemma3 multimodal checkpoints put the language model under one of these prefixes
const PREFIXES = ['model.', 'model.language_model.', 'language_model.model.', 'language_model.'];

export function weightsFromSafetensors(cfg: ModelConfig, tensors: Tensors, file = 'model.safetensors'): ModelWeights {
  const prefix = PREFIXES.find((p) => tensors.has(`${p}embed_tokens.weight`));
  if (!prefix) throw new Error(`${file} has no embed_tokens.weight (looked for ${PREFIXES.map((p) => p + 'embed_tokens.weight').join(', ')})`);
  const get = (name: string, required = true): DenseTensor | undefined => {
    const t = tensors.get(prefix + name) ?? tensors.get(name);
    if (!t) {
      if (required) throw new Error(`${file} is missing tensor ${prefix}${name}`);
      return undefined;
    }
    return dense(t.shape, t.data);
  };
  const expect = (t: DenseTensor, shape: number[], name: string) => {
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new Error(`${file}: ${name} has shape [${t.shape}], config implies [${shape}]`);
    }
    return t;
  };
  const norm = (name: string, n: number, required = true): DenseTensor | undefined => {
    const t = get(name, required);
    if (!t) return undefined;
    expect(t, [n], name);
    return cfg.normPlusOne ? dense(t.shape, t.data.map((x) => 1 + x)) : t;
  };
  const vec = (name: string, n: number) => expect(get(name)!, [n], prefix + name);
  const d = cfg.hiddenSize;
  const hd = cfg.headDim;
  const layers: LayerWeights[] = [];
  for (let i = 0; i < cfg.numLayers; i++) {
    const p = `layers.${i}.`;
    const lin = (name: string, out: number, inp: number) => expect(get(p + name)!, [out, inp], prefix + p + name);
    layers.push({
      inputNorm: norm(p + 'input_layernorm.weight', d)!,
      postAttnNorm: norm(p + 'post_attention_layernorm.weight', d)!,
      preFfnNorm: cfg.sandwichNorms ? norm(p + 'pre_feedforward_layernorm.weight', d) : undefined,
      postFfnNorm: cfg.sandwichNorms ? norm(p + 'post_feedforward_layernorm.weight', d) : undefined,
      qNorm: cfg.qkNorm ? norm(p + 'self_attn.q_norm.weight', hd) : undefined,
      kNorm: cfg.qkNorm ? norm(p + 'self_attn.k_norm.weight', hd) : undefined,
      q: lin('self_attn.q_proj.weight', cfg.numHeads * hd, d),
      k: lin('self_attn.k_proj.weight', cfg.numKvHeads * hd, d),
      v: lin('self_attn.v_proj.weight', cfg.numKvHeads * hd, d),
      o: lin('self_attn.o_proj.weight', d, cfg.numHeads * hd),
      qBias: cfg.qkvBias ? vec(p + 'self_attn.q_proj.bias', cfg.numHeads * hd) : undefined,
      kBias: cfg.qkvBias ? vec(p + 'self_attn.k_proj.bias', cfg.numKvHeads * hd) : undefined,
      vBias: cfg.qkvBias ? vec(p + 'self_attn.v_proj.bias', cfg.numKvHeads * hd) : undefined,
      oBias: cfg.oBias ? vec(p + 'self_attn.o_proj.bias', d) : undefined,
      gate: lin('mlp.gate_proj.weight', cfg.intermediateSize, d),
      up: lin('mlp.up_proj.weight', cfg.intermediateSize, d),
      down: lin('mlp.down_proj.weight', d, cfg.intermediateSize),
    });
  }
  const embed = expect(get('embed_tokens.weight')!, [cfg.vocabSize, d], 'embed_tokens.weight');
  // the head sits next to the language model: lm_head.weight, or language_model.lm_head.weight in multimodal files
  const headName = ['lm_head.weight', 'language_model.lm_head.weight'].find((n) => tensors.has(n));
  let lmHead: DenseTensor | undefined;
  if (!cfg.tieEmbeddings) {
    if (!headName) throw new Error(`${file} is missing tensor lm_head.weight (config.json has tie_word_embeddings = false)`);
    const h = tensors.get(headName)!;
    lmHead = expect(dense(h.shape, h.data), [cfg.vocabSize, d], headName);
  }
  return { embed, layers, finalNorm: norm('norm.weight', d)!, lmHead };
}
