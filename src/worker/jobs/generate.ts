// Chat answers, streamed token by token: the prompt is the chat template with a generation prompt, the vector
// (if any) is added at its layer with the chosen strength; strength 0 or no vector is the unsteered model.

import { Generator } from '../../lab/generate';
import { checkGenerationFits } from '../../lab/positions';
import { assertVectorFits } from '../../lab/vectors/match';
import { assertAdapterFits } from '../../lab/adapters/match';
import { loraFeeds, loraLayout, loraSpec } from '../../lab/adapters/lora';
import type { JobHandler } from './context';

export const generateJob: JobHandler<'generate'> = async (req, ctx) => {
  const t0 = performance.now();
  const { model, tok, info } = ctx.session.requireModel();
  const d = model.config.hiddenSize;
  const v = req.vector;
  if (v?.modelId !== undefined) assertVectorFits({ modelId: v.modelId, layer: v.layer, data: v.data }, info);
  if (v && v.data.length !== d) throw new Error(`the vector has ${v.data.length} dimensions, the loaded model ${d}: load the model it was trained on`);
  const layer = v?.layer ?? Math.floor(model.config.numLayers / 2);
  if (layer >= model.config.numLayers) throw new Error(`the vector's layer ${layer} does not exist in this ${model.config.numLayers}-layer model`);
  ctx.phase('compiling the generation graphs');
  const ad = req.adapter;
  let lora: ReturnType<typeof loraFeeds> | undefined;
  if (ad) {
    if (ad.modelId !== undefined) assertAdapterFits({ modelId: ad.modelId, keys: ad.shape.keys }, info);
    const { entries, size } = loraLayout(model.config, ad.shape);
    if (ad.data.length !== size) throw new Error(`the adapter has ${ad.data.length} parameters, its shape needs ${size} on the loaded model: load the model it was trained on`);
    // strength s scales the update s·B·A: B's entries by s
    const theta = Float32Array.from(ad.data);
    for (const e of entries) for (let i = e.bOff; i < e.bOff + e.N * ad.shape.rank; i++) theta[i]! *= req.strength;
    lora = loraFeeds(model.config, ad.shape, theta);
  }
  const gen = await ctx.session.derive(
    ad ? `gen|lora:${ad.shape.rank}:${ad.shape.alpha}:${ad.shape.keys.join(',')}` : `gen|${layer}|${v?.hook ?? 'resid_post'}`,
    () => Generator.create(model, layer, ad ? undefined : v?.hook, ad ? loraSpec(ad.shape) : undefined),
  );
  ctx.phase('prompt');
  if (!tok.hasChatTemplate) throw new Error('this tokenizer has no chat template, so the model cannot be chatted with');
  const prompt = tok.applyChatTemplate(req.messages, { addGenerationPrompt: true });
  checkGenerationFits(model.ropePositions, prompt.length, req.maxNewTokens);
  const ids: number[][] = Array.from({ length: req.samples }, () => []);
  const texts = new Array<string>(req.samples).fill('');
  const lastSent: number[] = [];
  ctx.phase('generating');
  const outs = await gen.generate(prompt, { v: v?.data ?? new Float32Array(d), alpha: v?.alpha ?? 0 }, {
    maxNewTokens: req.maxNewTokens,
    temperature: req.temperature,
    topP: req.topP,
    seed: req.seed,
    eos: tok.eosIds,
    strength: v ? req.strength : 0,
    lora,
    batch: req.samples,
    signal: ctx.signal,
    onToken: (id, sample) => {
      ids[sample]!.push(id);
      // re-decoding a whole answer per token is quadratic in its length: stream each sample at most every 100 ms
      const now = performance.now();
      if (now - (lastSent[sample] ?? 0) < 100) return;
      lastSent[sample] = now;
      texts[sample] = tok.decode(ids[sample]!, { skipSpecial: true });
      ctx.progress({ sample, text: texts[sample]!, tokens: ids[sample]!.length });
    },
  });
  return {
    samples: outs.map((o) => tok.decode(o, { skipSpecial: true })),
    tokens: outs.map((o) => o.length),
    seconds: (performance.now() - t0) / 1000,
  };
};
