// Chat answers, streamed token by token: the prompt is the chat template with a generation prompt, the vector
// (if any) is added at its layer with the chosen strength; strength 0 or no vector is the unsteered model.

import { Generator } from '../../lab/generate';
import { checkGenerationFits } from '../../lab/positions';
import { assertVectorFits } from '../../lab/vectors/match';
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
  const gen = await ctx.session.derive(`gen|${layer}|${v?.hook ?? 'resid_post'}`, () => Generator.create(model, layer, v?.hook));
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
